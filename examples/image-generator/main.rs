//! The image-generator tutorial: a chatbot that generates images with a tool,
//! while the images themselves go to a media store and history keeps references.
//!
//! ```sh
//! cargo run --example image-generator                    # offline, built-in image model
//! cargo run --example image-generator -- --interactive   # type prompts until `quit`
//! OPENAI_API_KEY=sk-... cargo run --example image-generator   # real OpenAI (DALL-E / gpt-image-1)
//! MEDIA_STORE_URL=s3://bucket/media cargo run --example image-generator --features s3   # media on S3
//! MEDIA_DIR=/var/lib/chatbot/media cargo run --example image-generator   # local media elsewhere
//! ```
//!
//! Where the media goes: `MEDIA_STORE_URL` when set (its options, e.g. the layout,
//! from the URL's query or the `MEDIA_*` variables; `--organization` applies too),
//! else the directory `--media-dir`, else `MEDIA_DIR`, else `./media-output`. The
//! first lines of output say which, and why. URLs are printed without passwords.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use promptkit::core::redact_url;
use promptkit::mock::MockProvider;
use promptkit::prelude::*;
use promptkit_examples::openai_endpoint;

/// The tutorial's image-generator chatbot.
#[derive(Debug, Parser)]
#[command(name = "image-generator")]
struct Args {
    /// Read prompts from the terminal until `quit`.
    #[arg(long)]
    interactive: bool,
    /// Where media is stored when MEDIA_STORE_URL is not set [default: MEDIA_DIR,
    /// else ./media-output].
    #[arg(long)]
    media_dir: Option<PathBuf>,
    /// Layout of the stored media: flat, by-session (default), by-conversation,
    /// by-run. Applies to MEDIA_STORE_URL's store too (refused if the URL names
    /// another layout).
    #[arg(long)]
    organization: Option<String>,
    /// Media at or above this many KiB is externalized.
    #[arg(long, default_value_t = 100)]
    threshold_kb: u64,
    /// The PromptPack to run.
    #[arg(long)]
    pack: Option<PathBuf>,
    /// Skip the deduplication demo.
    #[arg(long)]
    no_dedup_demo: bool,
}

const PROMPTS: [&str; 3] = [
    "Generate an image of a serene mountain landscape at sunset",
    "Create a picture of a futuristic city with flying cars",
    "Draw a cute robot reading a book in a cozy library",
];

#[tokio::main]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Opens the store `url` names. `--organization` (if given) is applied as the
/// store's `MEDIA_ORGANIZATION` option; a URL whose query names another
/// layout is refused rather than silently overriding one or the other.
fn open_url_store(
    url: &str,
    organization: Option<Organization>,
) -> Result<Arc<dyn MediaStore>, Box<dyn std::error::Error>> {
    let shown = redact_url(url);
    let Some(organization) = organization else {
        println!("Media store: {shown}");
        return Ok(promptkit::media_store::media_store_from_url(url)?);
    };
    let in_url = url
        .split_once('?')
        .map(|(_, query)| query.split('&'))
        .into_iter()
        .flatten()
        .find_map(|p| p.strip_prefix("organization="));
    if let Some(in_url) = in_url
        && in_url.parse::<Organization>().ok() != Some(organization)
    {
        return Err(format!(
            "--organization {organization} conflicts with organization={in_url} in \
             MEDIA_STORE_URL ({shown}); give the layout in one place only"
        )
        .into());
    }
    println!("Media store: {shown} ({organization}, from --organization)");
    // The URL's own `organization` parameter is the store's option that wins
    // over MEDIA_ORGANIZATION.
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{sep}organization={organization}");
    Ok(promptkit::media_store::media_store_from_url(&url)?)
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.2} MB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    // 1. Provider: OpenAI when a key is set, the built-in offline model otherwise.
    let provider: Arc<dyn Provider> = match std::env::var("OPENAI_API_KEY") {
        Ok(k) if !k.is_empty() => {
            // Printed without any password or key the URL holds.
            println!("Provider: OpenAI ({})", openai_endpoint());
            Arc::new(
                promptkit::openai::OpenAiProvider::builder()
                    .from_env()
                    .build()?,
            )
        }
        _ => {
            println!("Provider: built-in offline image model (set OPENAI_API_KEY to use OpenAI)");
            Arc::new(MockProvider::new())
        }
    };

    // 2. Media store: MEDIA_STORE_URL (s3://, gs://, az://, file://, memory://) or a
    //    local directory.
    let organization: Option<Organization> =
        args.organization.as_deref().map(str::parse).transpose()?;
    let store: Arc<dyn MediaStore> = match std::env::var("MEDIA_STORE_URL") {
        Ok(url) if !url.is_empty() => open_url_store(&url, organization)?,
        _ => {
            let (dir, from) = match (&args.media_dir, std::env::var("MEDIA_DIR")) {
                (Some(dir), _) => (dir.clone(), "--media-dir"),
                (None, Ok(dir)) if !dir.trim().is_empty() => (PathBuf::from(dir), "MEDIA_DIR"),
                _ => (
                    PathBuf::from("./media-output"),
                    "the default; set MEDIA_DIR or --media-dir to change it",
                ),
            };
            let organization = organization.unwrap_or(Organization::BySession);
            println!(
                "Media store: {} ({organization}; directory from {from})",
                dir.display()
            );
            Arc::new(
                FileStore::builder()
                    .with_base_dir(&dir)
                    .with_organization(organization)
                    .with_deduplication(true)
                    .build()?,
            )
        }
    };

    // 3. The manager: provider, store, the image tool bound to the pack's tool name.
    let manager = ConversationManager::builder()
        .provider_arc(provider)
        .media_store_arc(store.clone())
        .image_tool("dalle-image-generator")
        .config(ManagerConfig {
            media_size_threshold_kb: args.threshold_kb,
            ..ManagerConfig::default()
        })
        .build()?;

    // 4. The pack and a conversation.
    let pack_path = args.pack.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("image-generator/image-generator.pack.json")
    });
    let pack = manager.load_pack(&pack_path)?;
    let mut conv = manager.new_conversation(
        &pack,
        ConversationConfig::new("user-123", "session-456")
            .with_prompt("image-generator")
            .with_run_id("run-1"),
    )?;
    println!("Conversation: {}\n", conv.id());

    if args.interactive {
        let stdin = std::io::stdin();
        loop {
            print!("you> ");
            std::io::stdout().flush()?;
            let mut line = String::new();
            if stdin.lock().read_line(&mut line)? == 0 {
                break;
            }
            let line = line.trim();
            if line.eq_ignore_ascii_case("quit") || line.eq_ignore_ascii_case("exit") {
                break;
            }
            if line.is_empty() {
                continue;
            }
            turn(&mut conv, line).await?;
        }
    } else {
        for p in PROMPTS {
            turn(&mut conv, p).await?;
        }
    }

    // 5. Deduplication: the same prompt in another conversation gives the same
    //    image; the store keeps one file and two references.
    if !args.no_dedup_demo && !args.interactive {
        println!("--- Deduplication demo ---");
        let mut other = manager.new_conversation(
            &pack,
            ConversationConfig::new("user-789", "session-456").with_prompt("image-generator"),
        )?;
        let before = store.stats().await?;
        let resp = other.send(PROMPTS[0]).await?;
        let after = store.stats().await?;
        for m in &resp.stored_media {
            println!("Same prompt again → reference {}", m.reference);
        }
        println!(
            "Objects: {} → {} (new files: {}), references: {} → {}\n",
            before.objects,
            after.objects,
            after.objects - before.objects,
            before.references,
            after.references
        );
    }

    // 6. Statistics computed by the store.
    let stats = store.stats().await?;
    println!("--- Storage statistics (computed by the store) ---");
    println!("Objects stored:      {}", stats.objects);
    println!("References:          {}", stats.references);
    println!("Logical bytes:       {}", human(stats.logical_bytes));
    println!("Physical bytes:      {}", human(stats.physical_bytes));
    println!("Saved by dedup:      {}", human(stats.dedup_savings()));
    for (mime, t) in &stats.by_mime {
        println!(
            "  {mime}: {} references, {}",
            t.references,
            human(t.logical_bytes)
        );
    }
    let mem = conv.memory_stats();
    println!(
        "Conversation history: {} messages, {} media parts, {} inline media bytes, {} bytes of references (stands for {})",
        mem.messages,
        mem.media_parts,
        mem.inline_media_bytes,
        mem.reference_bytes,
        human(mem.represented_media_bytes)
    );
    println!("Total cost: ${:.4}", conv.total_cost().total());
    Ok(())
}

async fn turn(conv: &mut Conversation, prompt: &str) -> Result<(), Box<dyn std::error::Error>> {
    println!("User: {prompt}");
    let before = conv.memory_stats();
    let resp = conv.send(prompt).await?;
    println!("Assistant: {}", resp.content);
    println!(
        "  cost ${:.4} ({} input + {} output tokens), {:?}",
        resp.cost.total(),
        resp.usage.prompt_tokens,
        resp.usage.completion_tokens,
        resp.latency
    );
    for m in &resp.stored_media {
        println!(
            "  image externalized: {} ({}, {})",
            m.reference,
            m.mime_type,
            human(m.size_bytes)
        );
    }
    for m in resp.messages.iter().filter(|m| m.role == Role::Tool) {
        if let Some(err) = m.text().strip_prefix("error: ") {
            println!("  tool {} failed: {err}", m.name.as_deref().unwrap_or("?"));
        }
    }
    for w in &resp.warnings {
        println!("  warning: {w}");
    }
    let after = conv.memory_stats();
    println!(
        "  memory: history holds {} inline media bytes (+{} this turn) and {} bytes of references, standing for {} of media that would otherwise be in memory\n",
        after.inline_media_bytes,
        after
            .inline_media_bytes
            .saturating_sub(before.inline_media_bytes),
        after.reference_bytes,
        human(after.represented_media_bytes)
    );
    Ok(())
}
