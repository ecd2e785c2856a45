//! The mock OpenAI server as a separate process, so that its memory (it
//! records every request) and its CPU time are not counted in the process
//! being measured.
//!
//! The child side is [`serve`] (the `serve` subcommand of `promptkit-bench`);
//! the parent side is [`ServerChild`].

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use promptkit_mock_openai::{MockOpenAi, MockToolCall, Reply, Script};

use crate::faults::FaultMix;
use crate::fixtures::IMAGE_TOOL;
use crate::images::ImagePool;

/// What the served mock answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Workload {
    /// Every chat request gets `echo: <last user text>`.
    Echo,
    /// `replies` chat replies with injected faults, then echoes.
    Faults {
        /// The fault rates.
        mix: FaultMix,
        /// Scripted replies before the echo fallback.
        replies: usize,
        /// Seed of the fault schedule.
        seed: u64,
    },
    /// `turns` image turns: a call of [`IMAGE_TOOL`], one `size`-byte PNG-like
    /// image from `/images/generations`, then a text reply.
    Images {
        /// Number of turns.
        turns: usize,
        /// Bytes per image.
        size: usize,
    },
}

impl Workload {
    /// Command-line arguments of the `serve` subcommand for this workload.
    pub fn to_args(&self) -> Vec<String> {
        match self {
            Workload::Echo => vec!["echo".into()],
            Workload::Faults { mix, replies, seed } => vec![
                "faults".into(),
                mix.to_arg(),
                replies.to_string(),
                seed.to_string(),
            ],
            Workload::Images { turns, size } => {
                vec!["images".into(), turns.to_string(), size.to_string()]
            }
        }
    }

    /// Parses [`Workload::to_args`] output.
    ///
    /// ```
    /// use promptkit_bench::server::Workload;
    /// let w = Workload::Images { turns: 3, size: 1000 };
    /// assert_eq!(Workload::from_args(&w.to_args()), Some(w));
    /// assert_eq!(Workload::from_args(&["nope".to_string()]), None);
    /// ```
    pub fn from_args(args: &[String]) -> Option<Self> {
        match args
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["echo"] => Some(Workload::Echo),
            ["faults", mix, replies, seed] => Some(Workload::Faults {
                mix: FaultMix::parse(mix)?,
                replies: replies.parse().ok()?,
                seed: seed.parse().ok()?,
            }),
            ["images", turns, size] => Some(Workload::Images {
                turns: turns.parse().ok()?,
                size: size.parse().ok()?,
            }),
            _ => None,
        }
    }

    /// The mock script of this workload.
    pub fn script(&self) -> Script {
        match self {
            Workload::Echo => Script::new().fallback(Reply::echo()),
            Workload::Faults { mix, replies, seed } => mix.script(*replies, *seed),
            Workload::Images { turns, size } => {
                let pool = ImagePool::new(*size, 42);
                let mut s = Script::new();
                for i in 0..*turns {
                    s = s
                        .then(Reply::tool_calls(vec![MockToolCall {
                            id: format!("call_{i}"),
                            name: IMAGE_TOOL.into(),
                            arguments: format!(r#"{{"prompt":"picture number {i}"}}"#),
                        }]))
                        .then(Reply::images(vec![pool.image(i as u64)]))
                        .then(Reply::text(format!("Here is picture number {i}.")));
                }
                s
            }
        }
    }
}

/// Runs the mock for `workload` on 127.0.0.1 (a free port), prints
/// `OPENAI_BASE_URL=<url>` on stdout, and serves until stdin closes (so the
/// server never outlives its parent).
pub async fn serve(workload: &Workload) -> std::io::Result<()> {
    let mock = MockOpenAi::start(workload.script()).await?;
    println!("OPENAI_BASE_URL={}", mock.base_url());
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await
    .map_err(std::io::Error::other)?;
    drop(mock);
    Ok(())
}

/// A `serve` child process; killed when dropped.
#[derive(Debug)]
pub struct ServerChild {
    child: Child,
    base_url: String,
}

impl ServerChild {
    /// Starts `bench_exe serve <workload>` and waits for its URL.
    pub fn spawn(bench_exe: &Path, workload: &Workload) -> std::io::Result<ServerChild> {
        let mut child = Command::new(bench_exe)
            .arg("serve")
            .args(workload.to_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout pipe"))?;
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let url = line
            .trim()
            .strip_prefix("OPENAI_BASE_URL=")
            .map(str::to_owned);
        match (read, url) {
            (Ok(_), Some(base_url)) => Ok(ServerChild { child, base_url }),
            (r, _) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(std::io::Error::other(format!(
                    "the mock server did not start (read {r:?}, line {line:?})"
                )))
            }
        }
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        // Closing stdin ends it; kill (our own child, by pid) in case it hangs.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
