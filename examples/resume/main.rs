//! Resume: conversation state is saved to a file after every turn. Here one
//! manager runs two turns (one with a photo), is dropped, and a brand-new manager
//! (new provider, media store and state store, as after a restart) resumes the
//! conversation by id: history intact, the photo still retrievable by reference.
//!
//! ```sh
//! cargo run --example resume                                   # offline, built-in mock model
//! cargo run --example resume -- --state-dir ./state --media-dir ./media
//! OPENAI_API_KEY=sk-... cargo run --example resume             # real OpenAI
//! MEDIA_STORE_URL=s3://bucket/media cargo run --example resume # media on S3
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser;
use promptkit::FileStateStore;
use promptkit::core::ImageRequest;
use promptkit::mock::{MockProvider, MockReply};
use promptkit::prelude::*;
use promptkit_examples::{Error, media_store_or, print_warnings, provider_or};

/// Saves a conversation, restarts, and resumes it.
#[derive(Debug, Parser)]
#[command(name = "resume")]
struct Args {
    /// Where conversation state is saved (one JSON file per conversation); default: a temp folder.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Where media is stored (ignored when MEDIA_STORE_URL is set); default: a temp folder.
    #[arg(long)]
    media_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Everything a process builds at start-up. `script` is what the offline model says.
fn start(
    args: &Args,
    state_dir: &Path,
    script: &[&str],
) -> Result<(ConversationManager, Arc<Pack>), Error> {
    let provider = provider_or(|| {
        MockProvider::scripted(
            script
                .iter()
                .map(|s| MockReply::Text((*s).into()))
                .collect(),
        )
    })?;
    let dir = (args.media_dir.clone())
        .unwrap_or_else(|| std::env::temp_dir().join("promptkit-resume/media"));
    let store = media_store_or(&dir)?;
    let manager = ConversationManager::builder()
        .provider_arc(provider)
        .media_store_arc(store)
        .state_store(FileStateStore::new(state_dir)?)
        .build()?;
    // Resuming needs the conversation's pack loaded (it is found by its id).
    let pack = manager
        .load_pack(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("resume/resume.pack.json"))?;
    Ok((manager, pack))
}

async fn run(args: Args) -> Result<(), Error> {
    let state_dir = (args.state_dir.clone())
        .unwrap_or_else(|| std::env::temp_dir().join("promptkit-resume/state"));
    println!("State store: {}\n", state_dir.display());

    // First process: two turns, the first with a photo (drawn by the offline image model).
    let script = [
        "What a lovely bed of colour! I've noted the photo in your journal.",
        "Noted: tomatoes planted on the 3rd of May, next to the photo's flower bed.",
    ];
    let (manager, pack) = start(&args, &state_dir, &script)?;
    let mut conv = manager.new_conversation(&pack, ConversationConfig::new("user-1", "s-1"))?;
    let drawn = MockProvider::new().with_image_size(400);
    let photo = drawn
        .generate_image(&ImageRequest::new("flower bed"))
        .await?;
    let photo = photo
        .images
        .into_iter()
        .next()
        .ok_or("no photo was drawn")?;
    let turns = [
        ("Here is my flower bed this morning.", vec![photo]),
        ("I planted tomatoes today, the 3rd of May.", vec![]),
    ];
    for (text, media) in turns {
        println!("User: {text} ({} attachment(s))", media.len());
        let resp = conv.send_with_media(text, media).await?;
        println!("Assistant: {}", resp.content);
        for m in &resp.stored_media {
            println!(
                "  photo externalized: {} ({} bytes)",
                m.reference, m.size_bytes
            );
        }
        print_warnings(&resp);
    }
    let (id, saved) = (conv.id().to_owned(), conv.history().to_vec());
    let file = state_dir.join(format!("{id}.json"));
    let size = std::fs::metadata(&file)
        .map(|m| m.len())
        .unwrap_or_default();
    println!("saved conversation {id}: {} messages", saved.len());
    println!(
        "  state file {} is {size} bytes: the photo is a reference",
        file.display()
    );
    drop(conv);
    drop(manager); // "the process exits"

    // Second process: everything built again, the conversation resumed by id.
    let script = ["You sent a photo of your flower bed and planted tomatoes on the 3rd of May."];
    let (manager, _) = start(&args, &state_dir, &script)?;
    let mut conv = manager.resume(&id).await?;
    let history = conv.history().len();
    println!("\nresumed conversation {id} with {history} messages");
    let intact = conv.history() == saved.as_slice();
    println!("history intact: {}", if intact { "yes" } else { "NO" });
    for media in conv.history().iter().flat_map(|m| m.media()) {
        if let Some(r) = &media.storage_reference {
            let bytes = conv.load_media(r).await?.inline_len();
            println!(
                "media still retrievable: {r} ({}, {bytes} bytes)",
                media.mime_type
            );
        }
    }
    let question = "What have I told you so far?";
    println!("User: {question}");
    let resp = conv.send(question).await?;
    println!("Assistant: {}", resp.content);
    print_warnings(&resp);
    let total = conv.total_cost().total();
    println!(
        "conversation now has {} messages, cost so far ${total:.6}",
        conv.history().len()
    );
    Ok(())
}
