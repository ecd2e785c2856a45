//! Examples of PromptKit-rs live in this folder; run them with `cargo run --example NAME`.
