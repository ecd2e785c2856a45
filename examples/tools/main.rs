//! Tools: the pack declares a `weather` tool, the app implements it in Rust, and
//! the SDK runs the tool-calling loop: the model calls the tool, the result goes
//! back to the model, and its final answer uses it.
//!
//! ```sh
//! cargo run --example tools                          # offline, built-in mock model
//! OPENAI_API_KEY=sk-... cargo run --example tools    # real OpenAI
//! OPENAI_API_KEY=sk-... cargo run --example tools -- "Is it beach weather in Lisbon?"
//! ```
//!
//! Offline, the mock model follows a script: it calls `weather` for Oslo, then
//! answers as a model reading the tool result would. The tool itself really runs.

use std::path::PathBuf;

use clap::Parser;
use promptkit::mock::{MockProvider, MockReply};
use promptkit::prelude::*;
use promptkit_examples::provider_or;
use serde_json::{Value, json};

/// Asks the weather assistant one question.
#[derive(Debug, Parser)]
#[command(name = "tools")]
struct Args {
    /// The question (the offline model always asks the tool about Oslo).
    #[arg(default_value = "What's the weather in Oslo today? Do I need an umbrella?")]
    prompt: String,
    /// The PromptPack to run.
    #[arg(long)]
    pack: Option<PathBuf>,
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// The tool's data: a made-up forecast, the same every time.
fn forecast(city: &str) -> Value {
    let (temperature_c, conditions) = match city.to_lowercase().as_str() {
        "oslo" => (12, "light rain"),
        "lisbon" => (24, "sunny"),
        _ => (18, "partly cloudy"),
    };
    json!({ "city": city, "temperature_c": temperature_c, "conditions": conditions })
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    // Provider: OpenAI when a key is set, the scripted offline model otherwise.
    let provider = provider_or(|| {
        MockProvider::scripted(vec![
            MockReply::ToolCalls(vec![("weather".into(), r#"{"city":"Oslo"}"#.into())]),
            MockReply::Text("It's 12°C with light rain in Oslo, so yes: take an umbrella.".into()),
        ])
    })?;

    // The tool: a ToolHandler bound to the pack's tool name. Its arguments arrive
    // as parsed JSON; an Err is told to the model as "error: ...".
    let weather = FnTool::new(|args: Value| async move {
        let city = args["city"].as_str().ok_or("`city` is required")?;
        println!("tool called: weather {args}");
        Ok(ToolOutput::text(forecast(city).to_string()))
    });
    let manager = ConversationManager::builder()
        .provider_arc(provider)
        .tool("weather", weather)
        .config(ManagerConfig {
            externalize: false, // no media here, so no media store
            ..ManagerConfig::default()
        })
        .build()?;
    let pack_path = args
        .pack
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/tools.pack.json"));
    let pack = manager.load_pack(&pack_path)?;
    let mut conv =
        manager.new_conversation(&pack, ConversationConfig::new("user-1", "session-1"))?;

    println!("User: {}", args.prompt);
    let resp = conv.send(args.prompt.as_str()).await?;

    // The loop, as the turn added it to history: user, call, result, answer.
    println!("The turn in history:");
    for m in &resp.messages {
        for c in &m.tool_calls {
            println!("  model asked for: {}({})", c.name, c.arguments);
        }
        if m.role == Role::Tool {
            println!("  tool result sent back to the model: {}", m.text());
        }
    }
    println!("Assistant: {}", resp.content);
    println!(
        "{} tool call(s); usage {} input + {} output tokens, cost ${:.6}",
        resp.tool_calls.len(),
        resp.usage.prompt_tokens,
        resp.usage.completion_tokens,
        resp.cost.total()
    );
    Ok(())
}
