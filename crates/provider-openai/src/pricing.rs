//! Per-model prices and the cost of a call.

use std::collections::BTreeMap;

use promptkit_core::{Cost, Usage};

/// The price of one generated image of a given quality and size.
///
/// `None` in `quality` or `size` matches any value; the most specific matching
/// entry wins.
///
/// ```
/// use promptkit_core::Usage;
/// use promptkit_provider_openai::{ImagePrice, ModelPrice, PriceTable};
/// let prices = PriceTable::empty().with(
///     "my-painter",
///     ModelPrice::default().with_image_prices(vec![
///         ImagePrice::new(Some("hd"), Some("1024x1024"), 0.08),
///         ImagePrice::new(None, None, 0.04),
///     ]),
/// );
/// let none = Usage::default();
/// let hd = prices.image_cost("my-painter", Some("hd"), Some("1024x1024"), 2, &none).unwrap();
/// assert!((hd.other - 0.16).abs() < 1e-9);
/// let any = prices.image_cost("my-painter", Some("standard"), None, 1, &none).unwrap();
/// assert_eq!(any.other, 0.04);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePrice {
    /// Quality (`low`, `medium`, `high`, `standard`, `hd`), or any.
    pub quality: Option<String>,
    /// Size (`1024x1024`, ...), or any.
    pub size: Option<String>,
    /// US dollars per image.
    pub usd: f64,
}

impl ImagePrice {
    /// A price for this quality and size.
    pub fn new(quality: Option<&str>, size: Option<&str>, usd: f64) -> Self {
        ImagePrice {
            quality: quality.map(str::to_string),
            size: size.map(str::to_string),
            usd,
        }
    }
}

/// Prices of one model, in US dollars.
///
/// ```
/// use promptkit_provider_openai::ModelPrice;
/// let p = ModelPrice::per_million(2.5, Some(1.25), 10.0);
/// assert_eq!(p.output_per_million, 10.0);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelPrice {
    /// Per 1M uncached input tokens.
    pub input_per_million: f64,
    /// Per 1M cached input tokens; `None` bills them as uncached input.
    pub cached_input_per_million: Option<f64>,
    /// Per 1M output tokens (for GPT image models: image output tokens).
    pub output_per_million: f64,
    /// Per-image prices, used when an image response reports no token usage.
    pub per_image: Vec<ImagePrice>,
}

impl ModelPrice {
    /// Token prices per 1M tokens.
    pub fn per_million(input: f64, cached_input: Option<f64>, output: f64) -> Self {
        ModelPrice {
            input_per_million: input,
            cached_input_per_million: cached_input,
            output_per_million: output,
            per_image: Vec::new(),
        }
    }

    /// Adds per-image prices.
    pub fn with_image_prices(mut self, prices: Vec<ImagePrice>) -> Self {
        self.per_image = prices;
        self
    }

    fn token_cost(&self, usage: &Usage) -> Cost {
        let cached = usage.cached_tokens.min(usage.prompt_tokens);
        let uncached = usage.prompt_tokens - cached;
        let m = 1_000_000.0;
        Cost {
            input: uncached as f64 * self.input_per_million / m,
            cached_input: cached as f64
                * self
                    .cached_input_per_million
                    .unwrap_or(self.input_per_million)
                / m,
            output: usage.completion_tokens as f64 * self.output_per_million / m,
            other: 0.0,
        }
    }

    fn image_price(&self, quality: &str, size: &str) -> Option<f64> {
        self.per_image
            .iter()
            .filter(|p| p.quality.as_deref().is_none_or(|q| q == quality))
            .filter(|p| p.size.as_deref().is_none_or(|s| s == size))
            .max_by_key(|p| usize::from(p.quality.is_some()) + usize::from(p.size.is_some()))
            .map(|p| p.usd)
    }
}

/// Prices by model name, used to fill `cost` in responses.
///
/// Lookup is by exact name, then by the longest known name that prefixes the
/// model followed by `-` or `:` (so dated snapshots like `gpt-4o-2024-08-06` use
/// `gpt-4o`'s prices). Unknown models get no cost (`None`), never a guess.
///
/// The defaults are OpenAI's published list prices (standard tier, USD) as of
/// mid-2025; they change, so override what you depend on:
///
/// ```
/// use promptkit_core::Usage;
/// use promptkit_provider_openai::{ModelPrice, PriceTable};
/// let prices = PriceTable::default().with("my-finetune", ModelPrice::per_million(1.0, None, 2.0));
/// let usage = Usage { prompt_tokens: 1_000_000, completion_tokens: 500_000, cached_tokens: 0 };
/// let cost = prices.chat_cost("my-finetune", &usage).unwrap();
/// assert!((cost.total() - 2.0).abs() < 1e-9);
/// assert!(prices.get("gpt-4o-2024-08-06").is_some());
/// assert!(prices.chat_cost("unknown-model", &usage).is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    models: BTreeMap<String, ModelPrice>,
}

impl Default for PriceTable {
    fn default() -> Self {
        Self::openai_defaults()
    }
}

impl PriceTable {
    /// A table with no prices (every cost is `None`).
    pub fn empty() -> Self {
        PriceTable {
            models: BTreeMap::new(),
        }
    }

    /// OpenAI's list prices for current chat and image models.
    pub fn openai_defaults() -> Self {
        let t = |i, c, o| ModelPrice::per_million(i, c, o);
        let img = |q: &str, s: &str, usd| ImagePrice::new(Some(q), Some(s), usd);
        let gpt_image = |l: [f64; 2], m: [f64; 2], h: [f64; 2]| {
            let mut v = Vec::new();
            for (q, [sq, wide]) in [("low", l), ("medium", m), ("high", h)] {
                v.push(img(q, "1024x1024", sq));
                v.push(img(q, "1024x1536", wide));
                v.push(img(q, "1536x1024", wide));
                v.push(ImagePrice::new(Some(q), None, sq));
            }
            // `auto` quality or size: priced as medium, square.
            v.push(ImagePrice::new(None, None, m[0]));
            v
        };
        let mut table = Self::empty();
        for (name, price) in [
            ("gpt-4o", t(2.50, Some(1.25), 10.00)),
            ("gpt-4o-mini", t(0.15, Some(0.075), 0.60)),
            ("gpt-4.1", t(2.00, Some(0.50), 8.00)),
            ("gpt-4.1-mini", t(0.40, Some(0.10), 1.60)),
            ("gpt-4.1-nano", t(0.10, Some(0.025), 0.40)),
            ("gpt-4-turbo", t(10.00, None, 30.00)),
            ("gpt-4", t(30.00, None, 60.00)),
            ("gpt-3.5-turbo", t(0.50, None, 1.50)),
            ("o1", t(15.00, Some(7.50), 60.00)),
            ("o1-mini", t(1.10, Some(0.55), 4.40)),
            ("o1-pro", t(150.00, None, 600.00)),
            ("o3", t(2.00, Some(0.50), 8.00)),
            ("o3-mini", t(1.10, Some(0.55), 4.40)),
            ("o3-pro", t(20.00, None, 80.00)),
            ("o4-mini", t(1.10, Some(0.275), 4.40)),
            ("gpt-5", t(1.25, Some(0.125), 10.00)),
            ("gpt-5-mini", t(0.25, Some(0.025), 2.00)),
            ("gpt-5-nano", t(0.05, Some(0.005), 0.40)),
            (
                "gpt-image-1",
                t(5.00, Some(1.25), 40.00).with_image_prices(gpt_image(
                    [0.011, 0.016],
                    [0.042, 0.063],
                    [0.167, 0.25],
                )),
            ),
            (
                "gpt-image-1-mini",
                t(2.00, Some(0.20), 8.00).with_image_prices(gpt_image(
                    [0.005, 0.006],
                    [0.011, 0.015],
                    [0.036, 0.052],
                )),
            ),
            (
                "dall-e-3",
                ModelPrice::default().with_image_prices(vec![
                    img("standard", "1024x1024", 0.040),
                    img("standard", "1024x1792", 0.080),
                    img("standard", "1792x1024", 0.080),
                    img("hd", "1024x1024", 0.080),
                    img("hd", "1024x1792", 0.120),
                    img("hd", "1792x1024", 0.120),
                    ImagePrice::new(Some("hd"), None, 0.080),
                    ImagePrice::new(None, None, 0.040),
                ]),
            ),
            (
                "dall-e-2",
                ModelPrice::default().with_image_prices(vec![
                    ImagePrice::new(None, Some("256x256"), 0.016),
                    ImagePrice::new(None, Some("512x512"), 0.018),
                    ImagePrice::new(None, None, 0.020),
                ]),
            ),
        ] {
            table.insert(name, price);
        }
        table
    }

    /// Adds or replaces a model's prices.
    pub fn insert(&mut self, model: impl Into<String>, price: ModelPrice) {
        self.models.insert(model.into(), price);
    }

    /// Builder form of [`PriceTable::insert`].
    pub fn with(mut self, model: impl Into<String>, price: ModelPrice) -> Self {
        self.insert(model, price);
        self
    }

    /// The prices for `model` (exact name, else the longest name prefix).
    pub fn get(&self, model: &str) -> Option<&ModelPrice> {
        if let Some(p) = self.models.get(model) {
            return Some(p);
        }
        self.models
            .iter()
            .filter(|(name, _)| {
                model
                    .strip_prefix(name.as_str())
                    .is_some_and(|rest| rest.starts_with('-') || rest.starts_with(':'))
            })
            .max_by_key(|(name, _)| name.len())
            .map(|(_, p)| p)
    }

    /// Cost of a chat completion, if the model is priced.
    pub fn chat_cost(&self, model: &str, usage: &Usage) -> Option<Cost> {
        self.get(model).map(|p| p.token_cost(usage))
    }

    /// Cost of an image generation: from token usage when the response reported
    /// output tokens and the model has token prices, else per image by
    /// `quality` and `size` (`None`/`auto` match the catch-all entries).
    pub fn image_cost(
        &self,
        model: &str,
        quality: Option<&str>,
        size: Option<&str>,
        images: usize,
        usage: &Usage,
    ) -> Option<Cost> {
        let p = self.get(model)?;
        if usage.completion_tokens > 0 && p.output_per_million > 0.0 {
            return Some(p.token_cost(usage));
        }
        let per = p.image_price(quality.unwrap_or("auto"), size.unwrap_or("auto"))?;
        Some(Cost {
            other: per * images as f64,
            ..Cost::default()
        })
    }
}

/// Input tokens one image costs in a chat request, by OpenAI's published tile
/// rule for gpt-4o (also gpt-4o-2024-*, gpt-4.1, gpt-4.5): `detail: "low"` is
/// 85 tokens; otherwise (`high`, `auto` or none, counted as high) the image is
/// scaled to fit 2048×2048, then its shorter side to 768 px (never enlarged),
/// and costs 85 + 170 per 512-px tile.
///
/// gpt-4o-mini bills the same image at about 33 times these tokens at a
/// proportionally lower price, so the cost in dollars is about the same.
/// Dimensions come from the image ([`image_dimensions`](crate::image_dimensions)).
///
/// ```
/// use promptkit_provider_openai::image_input_tokens;
/// assert_eq!(image_input_tokens(1024, 1024, None), 765);   // 768x768: 4 tiles
/// assert_eq!(image_input_tokens(2048, 4096, Some("high")), 1105); // 768x1536: 6 tiles
/// assert_eq!(image_input_tokens(512, 512, None), 255);     // 1 tile
/// assert_eq!(image_input_tokens(4096, 4096, Some("low")), 85);
/// ```
pub fn image_input_tokens(width: u32, height: u32, detail: Option<&str>) -> u64 {
    const BASE: u64 = 85;
    const PER_TILE: u64 = 170;
    if detail.is_some_and(|d| d.eq_ignore_ascii_case("low")) || width == 0 || height == 0 {
        return BASE;
    }
    let (mut w, mut h) = (f64::from(width), f64::from(height));
    let fit = 2048.0 / w.max(h);
    if fit < 1.0 {
        w *= fit;
        h *= fit;
    }
    let short = 768.0 / w.min(h);
    if short < 1.0 {
        w *= short;
        h *= short;
    }
    let tiles = (w / 512.0).ceil() as u64 * (h / 512.0).ceil() as u64;
    BASE + PER_TILE * tiles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(p: u64, c: u64, cached: u64) -> Usage {
        Usage {
            prompt_tokens: p,
            completion_tokens: c,
            cached_tokens: cached,
        }
    }

    #[test]
    fn cached_tokens_are_billed_at_the_cached_rate() {
        let t = PriceTable::default();
        let c = t
            .chat_cost("gpt-4o", &usage(1_000_000, 1_000_000, 400_000))
            .unwrap();
        assert!((c.input - 0.6 * 2.5).abs() < 1e-9);
        assert!((c.cached_input - 0.4 * 1.25).abs() < 1e-9);
        assert!((c.output - 10.0).abs() < 1e-9);
    }

    #[test]
    fn longest_prefix_wins() {
        let t = PriceTable::default();
        let mini = t.get("gpt-4o-mini-2024-07-18").unwrap();
        assert_eq!(mini.output_per_million, 0.60);
        assert_eq!(t.get("gpt-4o-2024-08-06").unwrap().output_per_million, 10.0);
        assert_eq!(
            t.get("gpt-4o:mock-tool-call").unwrap().output_per_million,
            10.0
        );
        assert!(t.get("gpt-4oz").is_none());
        assert!(t.get("o3x").is_none());
    }

    #[test]
    fn image_costs() {
        let t = PriceTable::default();
        let none = Usage::default();
        let c = t
            .image_cost("dall-e-3", Some("hd"), Some("1792x1024"), 1, &none)
            .unwrap();
        assert!((c.other - 0.12).abs() < 1e-9);
        let c = t.image_cost("dall-e-3", None, None, 2, &none).unwrap();
        assert!((c.other - 0.08).abs() < 1e-9);
        let c = t
            .image_cost("gpt-image-1", Some("low"), Some("1024x1024"), 1, &none)
            .unwrap();
        assert!((c.other - 0.011).abs() < 1e-9);
        // With reported usage, tokens are billed instead.
        let c = t
            .image_cost("gpt-image-1", Some("low"), None, 1, &usage(100, 1000, 0))
            .unwrap();
        assert!((c.total() - (100.0 * 5.0 + 1000.0 * 40.0) / 1e6).abs() < 1e-12);
        assert!(t.image_cost("mystery", None, None, 1, &none).is_none());
    }
}
