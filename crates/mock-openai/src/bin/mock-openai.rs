//! Runs the mock OpenAI server standalone in echo mode ([`Reply::echo`]): chat
//! calls an offered tool once per user turn, then echoes the last user message
//! (streamed when asked); image requests get real PNGs. With `--tool-mode auto`
//! ([`Reply::agent_loop`]) it calls a tool whenever the last message is not a
//! tool result, as llmock's default mode does.
//!
//! ```text
//! mock-openai [--port PORT] [--tool-mode per-turn|auto]   # prints OPENAI_BASE_URL=...
//! ```

use std::net::SocketAddr;

use promptkit_mock_openai::{MockOpenAi, Reply, Script};

#[tokio::main]
async fn main() {
    let mut port: u16 = 0;
    let mut reply = Reply::echo();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" | "-p" => match args.next().map(|p| p.parse::<u16>()) {
                Some(Ok(p)) => port = p,
                _ => {
                    eprintln!("mock-openai: --port needs a number (0-65535)");
                    std::process::exit(2);
                }
            },
            "--tool-mode" => match args.next().as_deref() {
                Some("per-turn") => reply = Reply::echo(),
                Some("auto") => reply = Reply::agent_loop(),
                _ => {
                    eprintln!("mock-openai: --tool-mode needs per-turn or auto");
                    std::process::exit(2);
                }
            },
            "--help" | "-h" => {
                println!(
                    "usage: mock-openai [--port PORT] [--tool-mode per-turn|auto]\n\nAn OpenAI-compatible echo server on 127.0.0.1 for local testing.\n--tool-mode auto calls a tool until the last message is a tool result (like llmock)."
                );
                return;
            }
            other => {
                eprintln!("mock-openai: unknown argument {other:?} (try --help)");
                std::process::exit(2);
            }
        }
    }
    let script = Script::new().fallback(reply);
    let mock = match MockOpenAi::start_on(SocketAddr::from(([127, 0, 0, 1], port)), script).await {
        Ok(m) => m,
        Err(e) => {
            eprintln!("mock-openai: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    println!("OPENAI_BASE_URL={}", mock.base_url());
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("mock-openai: {e}");
    }
}
