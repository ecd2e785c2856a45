//! Runs the mock OpenAI server standalone in echo mode ([`Reply::echo`]): chat
//! calls an offered tool once per user turn, then echoes the last user message
//! (streamed when asked); image requests get real PNGs.
//!
//! ```text
//! mock-openai [--port PORT]      # default: a free port; prints OPENAI_BASE_URL=...
//! ```

use std::net::SocketAddr;

use promptkit_mock_openai::{MockOpenAi, Reply, Script};

#[tokio::main]
async fn main() {
    let mut port: u16 = 0;
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
            "--help" | "-h" => {
                println!(
                    "usage: mock-openai [--port PORT]\n\nAn OpenAI-compatible echo server on 127.0.0.1 for local testing."
                );
                return;
            }
            other => {
                eprintln!("mock-openai: unknown argument {other:?} (try --help)");
                std::process::exit(2);
            }
        }
    }
    let script = Script::new().fallback(Reply::echo());
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
