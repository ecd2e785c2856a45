//! The `promptkit` command-line tool.
//!
//! Each command group lives in its own module (`pack_cmd` for `promptkit pack …`,
//! `media_cmd` for `promptkit media …`, with its work in `media`);
//! a new group is one more variant of [`Command`] and one more module.
//!
//! Exit codes: 0 success, 1 the input is invalid or the operation failed,
//! 2 usage error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod media;
mod media_cmd;
mod pack_cmd;

/// PromptKit command-line tool.
#[derive(Debug, Parser)]
#[command(name = "promptkit", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Top-level command groups.
#[derive(Debug, Subcommand)]
enum Command {
    /// Validate, inspect and render PromptPack files.
    Pack(pack_cmd::PackArgs),
    /// Inspect and maintain a media store: stats, ls, gc, verify, retention.
    Media(media_cmd::MediaArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Pack(args) => pack_cmd::run(args),
        Command::Media(args) => media_cmd::run(args),
    }
}
