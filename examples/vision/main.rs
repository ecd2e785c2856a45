//! Vision: send an image with a question. After the turn the image (above the
//! size threshold) lives in the media store and history keeps a reference; on the
//! next turn the SDK loads it back for the provider request only (rehydration).
//!
//! ```sh
//! cargo run --example vision                                   # offline; a test image is drawn
//! cargo run --example vision -- --image photo.jpg              # your own image
//! OPENAI_API_KEY=sk-... cargo run --example vision             # real OpenAI (gpt-4o-mini sees it)
//! MEDIA_STORE_URL=s3://bucket/media cargo run --example vision # media on S3
//! ```
//!
//! Offline, the mock model's two answers are scripted (it cannot see); the
//! storing and loading of the image are real.

use std::path::PathBuf;

use clap::Parser;
use promptkit::core::{ImageRequest, sniff_mime};
use promptkit::mock::{MockProvider, MockReply};
use promptkit::prelude::*;
use promptkit::{MediaEvent, MediaEventKind, RehydrationPolicy};
use promptkit_examples::{media_store_or, print_warnings, provider_or};

/// Asks about an image, then asks a follow-up question.
#[derive(Debug, Parser)]
#[command(name = "vision")]
struct Args {
    /// The image to send (PNG, JPEG or WebP); by default a test image is drawn.
    #[arg(long)]
    image: Option<PathBuf>,
    /// Where media is stored (ignored when MEDIA_STORE_URL is set); default: a temp folder.
    #[arg(long)]
    media_dir: Option<PathBuf>,
    /// Media at or above this many KiB is externalized.
    #[arg(long, default_value_t = 100)]
    threshold_kb: u64,
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

/// Called by the SDK after each store, retrieve and delete of media.
fn on_media(e: &MediaEvent) {
    if let (MediaEventKind::Retrieved, Some(r)) = (e.kind, &e.reference) {
        println!("  image rehydrated for the provider: {r} ({})", kb(e.bytes));
    }
}

/// What the offline mock model answers (it cannot see).
const SCRIPT: [&str; 2] = [
    "I see broad, layered waves of colour blending into each other, with a fine grain on top.",
    "The colour bands stand out most: they cross the whole picture and fade into one another.",
];

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let provider =
        provider_or(|| MockProvider::scripted(SCRIPT.map(|t| MockReply::Text(t.into())).into()))?;
    // Media store: MEDIA_STORE_URL (s3://, gs://, az://, file://) or a local directory.
    let dir = (args.media_dir.clone())
        .unwrap_or_else(|| std::env::temp_dir().join("promptkit-vision-media"));
    let store = media_store_or(&dir)?;

    let manager = ConversationManager::builder()
        .provider_arc(provider)
        .media_store_arc(store)
        .on_media_event(on_media)
        .config(ManagerConfig {
            media_size_threshold_kb: args.threshold_kb,
            ..ManagerConfig::default()
        })
        .build()?;
    let pack_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vision/vision.pack.json");
    let pack = manager.load_pack(&pack_path)?;
    // Follow-up questions are about the last image, so this app asks for it to be
    // loaded again for each request (by default, images of earlier turns are not
    // resent: the model has already seen them, and each resend is billed).
    let config = ConversationConfig::new("user-1", "session-1")
        .with_rehydration(RehydrationPolicy::Recent(1));
    let mut conv = manager.new_conversation(&pack, config)?;

    // The image: a file, or a test picture drawn by the offline image model.
    let image = match &args.image {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mime = sniff_mime(&bytes).ok_or("not a PNG, JPEG or WebP image")?;
            MediaContent::from_bytes(mime, bytes)
        }
        None => MockProvider::new()
            .generate_image(&ImageRequest::new("colour waves"))
            .await?
            .images
            .into_iter()
            .next()
            .ok_or("no test image was drawn")?,
    };
    let (mime, size) = (&image.mime_type, kb(image.size_bytes));
    println!(
        "Image: {mime} ({size}); externalized at {} KB and above\n",
        args.threshold_kb
    );

    // Turn 1: the image goes to the provider inline, then to the store.
    let question = "What is in this picture?";
    println!("User: {question} [+ image]");
    let resp = conv.send_with_media(question, vec![image]).await?;
    println!("Assistant: {}", resp.content);
    for m in &resp.stored_media {
        let (r, size) = (&m.reference, kb(m.size_bytes));
        println!("  image externalized: {r} ({}, {size})", m.mime_type);
    }
    print_warnings(&resp);
    print_memory(&conv);

    // Turn 2: history goes back to the provider; the SDK loads the image for
    // this request (RehydrationPolicy::Recent(1), asked for above), not into history.
    let follow_up = "Which colours or shapes stand out most?";
    println!("\nUser: {follow_up}");
    let resp = conv.send(follow_up).await?;
    println!("Assistant: {}", resp.content);
    print_warnings(&resp);
    print_memory(&conv);
    Ok(())
}

fn print_memory(conv: &Conversation) {
    let m = conv.memory_stats();
    println!(
        "  memory: {} messages, {} media part(s) ({} externalized): {} inline media bytes, \
         {} bytes of references standing for {} of media",
        m.messages,
        m.media_parts,
        m.externalized_parts,
        m.inline_media_bytes,
        m.reference_bytes,
        kb(m.represented_media_bytes)
    );
}
