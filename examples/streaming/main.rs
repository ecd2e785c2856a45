//! Streaming: print the assistant's reply while it is being written, delta by
//! delta, then what the turn used and cost.
//!
//! ```sh
//! cargo run --example streaming                                   # offline, built-in mock model
//! cargo run --example streaming -- "A story about a lost kite"    # your own prompt
//! OPENAI_API_KEY=sk-... cargo run --example streaming             # real OpenAI, token by token
//! ```
//!
//! `Conversation::stream` yields `ConversationEvent`s: `TextDelta` while the model
//! writes, `ToolCall` / `ToolResult` around tool calls, and `Done` with the whole
//! `Response` last. OpenAI and OpenAI-compatible servers send many small deltas.
//! The offline mock model streams its (scripted) reply a word at a time, through
//! the same API.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use futures::StreamExt;
use promptkit::mock::{MockProvider, MockReply};
use promptkit::prelude::*;
use promptkit_examples::provider_or;

/// Streams one reply of the storyteller pack.
#[derive(Debug, Parser)]
#[command(name = "streaming")]
struct Args {
    /// What to ask.
    #[arg(default_value = "Tell me a very short story about a lighthouse keeper.")]
    prompt: String,
    /// The PromptPack to run.
    #[arg(long)]
    pack: Option<PathBuf>,
}

/// What the offline mock model answers.
const STORY: &str = "Every night for forty years, Ada climbed the ninety steps of the lighthouse. \
One stormy evening the lamp failed, so she lit every candle she owned and held them to the glass. \
At dawn a fishing boat came home safely, and its crew brought her a new lamp and a cake.";

#[tokio::main]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    // Provider: OpenAI when a key is set, the scripted offline model otherwise.
    let provider = provider_or(|| MockProvider::scripted(vec![MockReply::Text(STORY.into())]))?;

    // No media here, so no media store: externalization is turned off.
    let manager = ConversationManager::builder()
        .provider_arc(provider)
        .config(ManagerConfig {
            externalize: false,
            ..ManagerConfig::default()
        })
        .build()?;
    let pack_path = args.pack.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("streaming/streaming.pack.json")
    });
    let pack = manager.load_pack(&pack_path)?;
    let mut conv =
        manager.new_conversation(&pack, ConversationConfig::new("user-1", "session-1"))?;

    println!("User: {}", args.prompt);
    print!("Assistant: ");
    std::io::stdout().flush()?;
    let (mut deltas, mut done) = (0usize, None);
    let mut events = Box::pin(conv.stream(args.prompt.clone()));
    while let Some(event) = events.next().await {
        match event? {
            ConversationEvent::TextDelta(delta) => {
                deltas += 1;
                print!("{delta}");
                std::io::stdout().flush()?;
            }
            ConversationEvent::ToolCall(call) => print!("\n[calling tool {}]\n", call.name),
            ConversationEvent::Done(resp) => done = Some(resp),
            _ => {}
        }
    }
    drop(events); // the stream borrows the conversation until here
    println!();

    let resp = done.ok_or("the stream ended without a final response")?;
    println!(
        "streamed {deltas} text delta(s), {} characters in all",
        resp.content.chars().count()
    );
    println!(
        "usage: {} input + {} output tokens, cost ${:.6}, {:?}",
        resp.usage.prompt_tokens,
        resp.usage.completion_tokens,
        resp.cost.total(),
        resp.latency
    );
    println!(
        "history: {} messages (the streamed reply is saved like any other)",
        conv.history().len()
    );
    Ok(())
}
