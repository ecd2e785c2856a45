use serde::{Deserialize, Serialize};

/// Token counts of one or more provider calls.
///
/// ```
/// use promptkit_core::Usage;
/// let mut total = Usage::default();
/// total += Usage { prompt_tokens: 100, completion_tokens: 20, cached_tokens: 64 };
/// total += Usage { prompt_tokens: 50, completion_tokens: 10, cached_tokens: 0 };
/// assert_eq!(total.total_tokens(), 180);
/// assert_eq!(total.cached_tokens, 64);
/// // `cached_tokens` may be missing from the JSON form.
/// let u: Usage = serde_json::from_str(r#"{"prompt_tokens":1,"completion_tokens":2}"#).unwrap();
/// assert_eq!(u.cached_tokens, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens, including cached ones.
    pub prompt_tokens: u64,
    /// Output tokens.
    pub completion_tokens: u64,
    /// Input tokens served from the provider's prompt cache.
    #[serde(default)]
    pub cached_tokens: u64,
}

impl Usage {
    /// Input + output tokens.
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, o: Usage) {
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
        self.cached_tokens += o.cached_tokens;
    }
}

/// Cost in US dollars.
///
/// ```
/// use promptkit_core::Cost;
/// let mut c = Cost { input: 0.5, cached_input: 0.0, output: 1.0, other: 0.0 };
/// c += Cost { input: 0.0, cached_input: 0.0, output: 0.0, other: 0.04 };
/// assert!((c.total() - 1.54).abs() < 1e-9);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// Uncached input tokens.
    pub input: f64,
    /// Cached input tokens.
    pub cached_input: f64,
    /// Output tokens.
    pub output: f64,
    /// Anything priced per call or per item (e.g. generated images).
    #[serde(default)]
    pub other: f64,
}

impl Cost {
    /// Sum of all components.
    pub fn total(&self) -> f64 {
        self.input + self.cached_input + self.output + self.other
    }
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, o: Cost) {
        self.input += o.input;
        self.cached_input += o.cached_input;
        self.output += o.output;
        self.other += o.other;
    }
}
