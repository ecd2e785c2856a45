//! Benchmarks and reliability tooling of PromptKit-rs (not published).
//!
//! The `promptkit-bench` binary (run by `cargo xtask bench`) measures:
//!
//! - **memory**: RSS and live heap of a conversation after 10, 100 and 1000
//!   generated ~1 MB images, with and without externalization, each scenario
//!   in a fresh child process so baselines are clean;
//! - **store**: `FileStore` store (hash + atomic write, fsync off) against a
//!   plain `std::fs::write` of the same bytes, dedup hits and retrieves;
//! - **overhead**: an SDK turn against a raw `reqwest` call to the same local
//!   OpenAI-compatible server (`promptkit-mock-openai`), interleaved;
//! - **concurrency**: 1,000 concurrent conversations: turns/s and latency
//!   percentiles;
//! - **load**: many turns across concurrent conversations with injected
//!   429/500/timeouts, checking that no message is lost;
//! - **tokens**: billed input tokens per turn of the tutorial under each
//!   rehydration policy (images by OpenAI's tile rule);
//! - **build**: time to the first image, a cold build of the
//!   image-generator example and its run;
//! - **peers** (`--peers`): the same image-heavy workload through the official
//!   `openai` Python client and LangChain's `ChatOpenAI`.
//!
//! This library holds what the binary and the reliability tests
//! (`tests/`) share: sample statistics, process memory probes, distinct
//! PNG-like payloads, a pack fixture, fault-injecting mock-server scripts,
//! and the child-process roles (mock server, crash child).
//!
//! ```
//! use promptkit_bench::stats::Samples;
//! let mut s = Samples::new();
//! for us in [30, 10, 20] {
//!     s.push(std::time::Duration::from_micros(us));
//! }
//! assert_eq!(s.percentile(50.0), std::time::Duration::from_micros(20));
//! ```
#![warn(missing_docs, unreachable_pub)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod crash;
pub mod faults;
pub mod files;
pub mod fixtures;
pub mod images;
pub mod load;
pub mod mem;
pub mod rng;
pub mod server;
pub mod stats;
