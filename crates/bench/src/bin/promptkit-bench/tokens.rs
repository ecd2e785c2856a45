//! Billed input tokens per turn of the tutorial (the image-generator
//! example: its pack, its three prompts, then more of the same) under each
//! rehydration policy of the SDK and with the provider's default handling of
//! tool media and with `FollowUpUserMessage` (the model is shown the images
//! the tool made), counted from the chat requests `OpenAiProvider` actually
//! sent to the mock server. The defaults are read from the SDK and the
//! provider, not assumed here.
//!
//! Images are counted by OpenAI's published tile rule for gpt-4o
//! ([`image_input_tokens`]: 85 tokens for `detail: "low"`, else 85 + 170 per
//! 512-px tile after scaling to fit 2048×2048 and the shorter side to 768),
//! exactly, from the dimensions in each sent image's header. Text (message
//! contents, tool calls, tool definitions) is estimated at 4 characters per
//! token plus 3 tokens per message, OpenAI's rule of thumb: the bench has no
//! tokenizer, and text is a small share of these requests.

use std::path::PathBuf;

use base64::Engine as _;
use promptkit_mock_openai::{MockOpenAi, RecordedRequest, Reply, Script};
use promptkit_provider_openai::{
    OpenAiProvider, ToolResultMedia, image_dimensions, image_input_tokens,
};
use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, RehydrationPolicy};
use serde_json::Value;

use crate::report::Section;

/// The tutorial's prompts (examples/image-generator/main.rs), then more
/// image requests, so that the table shows where each policy settles.
const PROMPTS: [&str; 3] = [
    "Generate an image of a serene mountain landscape at sunset",
    "Create a picture of a futuristic city with flying cars",
    "Draw a cute robot reading a book in a cozy library",
];
const TURNS: usize = 10;
/// Width and height of the generated images (the tutorial asks for 1024x1024).
const SIDE: u32 = 1024;
const TOOL: &str = "dalle-image-generator";

fn prompt(turn: usize) -> String {
    PROMPTS.get(turn).map_or_else(
        || format!("Generate image number {}", turn + 1),
        |p| (*p).to_owned(),
    )
}

/// Input tokens of one chat request body: (text estimate, images by the tile rule, images sent).
pub(crate) fn request_tokens(body: &Value) -> (u64, u64, usize) {
    let mut chars = 0usize;
    let mut per_message = 0u64;
    let (mut image_tokens, mut images) = (0u64, 0usize);
    for m in body["messages"].as_array().into_iter().flatten() {
        per_message += 3;
        match &m["content"] {
            Value::String(s) => chars += s.len(),
            Value::Array(parts) => {
                for p in parts {
                    if let Some(t) = p["text"].as_str() {
                        chars += t.len();
                    }
                    if let Some(url) = p["image_url"]["url"].as_str() {
                        images += 1;
                        let (w, h) = data_url_dimensions(url).unwrap_or((SIDE, SIDE));
                        image_tokens += image_input_tokens(w, h, p["image_url"]["detail"].as_str());
                    }
                }
            }
            _ => {}
        }
        for call in m["tool_calls"].as_array().into_iter().flatten() {
            chars += call["function"]["name"].as_str().map_or(0, str::len);
            chars += call["function"]["arguments"].as_str().map_or(0, str::len);
        }
    }
    if let Some(tools) = body.get("tools") {
        chars += tools.to_string().len();
    }
    // Every reply is primed with 3 tokens.
    let text = (chars as u64).div_ceil(4) + per_message + 3;
    (text, image_tokens, images)
}

/// Width and height of the image in a `data:` URL, read from its header.
fn data_url_dimensions(url: &str) -> Option<(u32, u32)> {
    let b64 = url.strip_prefix("data:")?.split_once(";base64,")?.1;
    // The header is within the first few hundred bytes (JPEG markers may come first).
    let head = &b64[..b64.len().min(4096) / 4 * 4];
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(head)
        .ok()?;
    image_dimensions(&bytes)
}

/// A `SIDE`×`SIDE` RGB PNG of noise (about 3 MB, like a generated photo:
/// above the default 100 KiB threshold, so it is externalized), distinct per seed.
fn photo(seed: u64) -> Result<Vec<u8>, String> {
    let mut rng = promptkit_bench::rng::Rng::new(seed);
    let mut pixels = vec![0u8; (SIDE * SIDE * 3) as usize];
    rng.fill(&mut pixels);
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, SIDE, SIDE);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    enc.write_header()
        .and_then(|mut w| w.write_image_data(&pixels).and_then(|()| w.finish()))
        .map_err(|e| format!("encode the test image: {e}"))?;
    Ok(out)
}

/// Per turn: (text tokens, image tokens, images sent, chat requests).
type Turn = (u64, u64, usize, usize);

async fn run(
    policy: RehydrationPolicy,
    media: ToolResultMedia,
    images: &[bytes::Bytes],
) -> Result<Vec<Turn>, String> {
    let mut script = Script::new();
    for (i, image) in images.iter().enumerate() {
        let args = serde_json::json!({ "prompt": prompt(i), "size": "1024x1024" });
        script = script
            .then(Reply::tool_call(
                format!("call_{i}"),
                TOOL,
                args.to_string(),
            ))
            .then(Reply::images(vec![image.clone()]))
            .then(Reply::text(format!(
                "Here is image {}: {} It shows the scene in warm light with fine detail.",
                i + 1,
                prompt(i)
            )));
    }
    let mock = MockOpenAi::start(script).await.map_err(|e| e.to_string())?;
    let provider = OpenAiProvider::builder()
        .with_base_url(mock.base_url())
        .with_no_api_key()
        .with_model("gpt-4o")
        .with_tool_result_media(media)
        .build()
        .map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = promptkit_media_store::FileStore::builder()
        .with_base_dir(dir.path())
        .with_fsync(false)
        .build()
        .map_err(|e| e.to_string())?;
    let manager = ConversationManager::builder()
        .provider(provider)
        .media_store(store)
        .image_tool(TOOL)
        .config(ManagerConfig {
            rehydration: policy,
            ..ManagerConfig::default()
        })
        .build()
        .map_err(|e| e.to_string())?;
    let pack_path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/image-generator/image-generator.pack.json");
    let pack = manager.load_pack(&pack_path).map_err(|e| e.to_string())?;
    let mut conv = manager
        .new_conversation(
            &pack,
            ConversationConfig::new("user-123", "session-456").with_prompt("image-generator"),
        )
        .map_err(|e| e.to_string())?;
    let chats = |r: &[RecordedRequest]| -> Vec<Value> {
        r.iter()
            .filter(|r| r.path.ends_with("/chat/completions"))
            .map(|r| r.body.clone())
            .collect()
    };
    let mut turns = Vec::new();
    let mut seen = 0;
    for i in 0..images.len() {
        conv.send(prompt(i))
            .await
            .map_err(|e| format!("turn {} with {policy:?}, {media:?}: {e}", i + 1))?;
        let all = chats(&mock.requests());
        let mut t: Turn = (0, 0, 0, 0);
        for body in &all[seen..] {
            let (text, img, n) = request_tokens(body);
            t = (t.0 + text, t.1 + img, t.2 + n, t.3 + 1);
        }
        seen = all.len();
        turns.push(t);
    }
    Ok(turns)
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) async fn bench(quick: bool) -> Result<Section, String> {
    let turns = if quick { 4 } else { TURNS };
    let images = (0..turns as u64)
        .map(|i| photo(i + 1).map(bytes::Bytes::from))
        .collect::<Result<Vec<_>, _>>()?;
    let default = ManagerConfig::default().rehydration;
    let default_media = ToolResultMedia::default();
    let mut policies = vec![default];
    for p in [
        RehydrationPolicy::CurrentTurn,
        RehydrationPolicy::Recent(8),
        RehydrationPolicy::All,
    ] {
        if !policies.contains(&p) {
            policies.push(p);
        }
    }
    let mut modes = vec![default_media];
    if default_media != ToolResultMedia::FollowUpUserMessage {
        modes.push(ToolResultMedia::FollowUpUserMessage);
    }
    let last = turns;
    let mut s = Section::new(
        "Billed input tokens per turn of the tutorial (gpt-4o, 1024×1024 images)",
        &[
            "tool media (provider)",
            "rehydration (SDK)",
            "turn 1",
            "turn 2",
            "turn 3",
            &format!("turn {last}"),
            &format!("{last} turns"),
            "of which images",
            "images sent",
        ],
    );
    for media in modes {
        for &policy in &policies {
            let t = run(policy, media, &images).await?;
            let cell = |x: &Turn| format!("{} ({} img)", thousands(x.0 + x.1), x.2);
            let total: u64 = t.iter().map(|x| x.0 + x.1).sum();
            let image_total: u64 = t.iter().map(|x| x.1).sum();
            let sent: usize = t.iter().map(|x| x.2).sum();
            let mark = |is_default: bool| if is_default { " (default)" } else { "" };
            s.row(vec![
                format!("{media:?}{}", mark(media == default_media)),
                format!("{policy:?}{}", mark(policy == default)),
                cell(&t[0]),
                cell(&t[1]),
                cell(&t[2]),
                cell(&t[last - 1]),
                thousands(total),
                thousands(image_total),
                sent.to_string(),
            ]);
        }
    }
    s.note(format!(
        "Each turn of the tutorial (`examples/image-generator`, its pack and prompts): the model calls `{TOOL}`, the tool returns a new {SIDE}×{SIDE} PNG (externalized: about 3 MB, over the 100 KiB threshold), the model answers; each turn is two chat requests through `OpenAiProvider` to the in-repo mock server, and the tokens are counted from the request bodies it received. Image generation is billed per image, not in these tokens."
    ));
    s.note(format!(
        "Images: OpenAI's tile rule for gpt-4o, exact from each sent image's dimensions ({} tokens for a {SIDE}×{SIDE} image at detail high or auto, 85 at low). Text: characters/4 + 3 per message (an estimate: no tokenizer here).",
        image_input_tokens(SIDE, SIDE, None)
    ));
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_images_by_their_header_and_detail() {
        let png = photo(1).unwrap();
        let url = format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&png)
        );
        let body = serde_json::json!({"messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "abcdefgh"},
                {"type": "image_url", "image_url": {"url": url}},
                {"type": "image_url", "image_url": {"url": url, "detail": "low"}},
            ]},
        ]});
        let (text, images, n) = request_tokens(&body);
        assert_eq!((images, n), (765 + 85, 2));
        assert_eq!(text, 2 + 3 + 3);
    }
}
