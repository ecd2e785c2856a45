//! `promptkit media …`: statistics, listing, garbage collection, verification
//! and retention of a media store.
//!
//! Every command takes the store as `DIR` (the base directory of a local
//! `FileStore`) or `URL` (anything containing `://`, as in `MEDIA_STORE_URL`:
//! `file:///var/lib/app/media`, `s3://bucket/prefix`, `memory://`). A
//! directory that is not already a store is refused, never created. The
//! commands that only read (`stats`, `ls`, `verify`, `gc --dry-run`,
//! `retention --dry-run`) open a local store read-only: they write, create
//! and lock nothing, so they also work on a read-only store.
//!
//! The work itself lives in [`crate::media`]; this module holds the command
//! line and maps outcomes to exit codes: 0 success, 1 failure or problems
//! found (`verify`), 2 usage error (from clap).

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::media::{self, Access, CliError, Outcome, Target, gc, ls, retention, stats, verify};

/// Arguments of `promptkit media`.
#[derive(Debug, Args)]
pub(crate) struct MediaArgs {
    #[command(subcommand)]
    command: MediaCommand,
}

#[derive(Debug, Subcommand)]
enum MediaCommand {
    /// Objects, references, logical and physical bytes, dedup savings, and
    /// the breakdown per MIME type, conversation and session.
    Stats {
        /// The store: a FileStore directory, or a URL (file://, s3://, memory://).
        #[arg(value_name = "DIR|URL")]
        store: String,
        /// Print one JSON document on stdout.
        #[arg(long)]
        json: bool,
        /// How many conversations and sessions to show, largest first
        /// (0: all).
        #[arg(long, value_name = "N", default_value_t = 10)]
        top: usize,
    },
    /// One line per stored reference: reference, MIME type, size,
    /// conversation, session, creation time, retention policy.
    Ls {
        /// The store: a FileStore directory, or a URL (file://, s3://, memory://).
        #[arg(value_name = "DIR|URL")]
        store: String,
        /// Print one JSON document on stdout.
        #[arg(long)]
        json: bool,
        /// Only references of this conversation.
        #[arg(long, value_name = "ID")]
        conversation: Option<String>,
        /// Only references of this session.
        #[arg(long, value_name = "ID")]
        session: Option<String>,
    },
    /// Remove what crashes and outside hands left behind: stale temporary
    /// files, media no reference points to, sidecars without media,
    /// references whose media is gone; rewrite missing sidecars from the
    /// index.
    Gc {
        /// The store: a FileStore directory, or a URL (file://, s3://, memory://).
        #[arg(value_name = "DIR|URL")]
        store: String,
        /// Report what would be removed; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print one JSON document on stdout.
        #[arg(long)]
        json: bool,
        /// Temporary files (object stores: any object) younger than this may
        /// belong to a write in progress and are kept (e.g. `30s`, `10min`,
        /// `1h`); on object stores, keep it longer than any upload takes.
        #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = humantime::parse_duration)]
        temp_grace: Duration,
    },
    /// Re-hash every media file against the index and check its sidecar;
    /// exits 1 when anything is corrupt or missing, a sidecar is missing or
    /// unreadable, or the index itself is damaged.
    Verify {
        /// The store: a FileStore directory, or a URL (file://, s3://, memory://).
        #[arg(value_name = "DIR|URL")]
        store: String,
        /// Print one JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Apply the retention policies now: drop every reference whose
    /// time-based policy ran out, and with `--deleted-conversation` the
    /// `delete-with-conversation` references of deleted conversations (bytes
    /// shared by deduplication go with their last reference).
    Retention {
        /// The store: a FileStore directory, or a URL (file://, s3://, memory://).
        #[arg(value_name = "DIR|URL")]
        store: String,
        /// Report what would expire; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print one JSON document on stdout.
        #[arg(long)]
        json: bool,
        /// Evaluate expiry at this RFC 3339 time instead of the current time.
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        now: Option<OffsetDateTime>,
        /// This conversation was deleted: also drop its references whose
        /// policy is `delete-with-conversation`. Repeat for several.
        #[arg(long = "deleted-conversation", value_name = "ID")]
        deleted_conversations: Vec<String>,
    },
}

fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| format!("expected an RFC 3339 time like 2026-01-31T12:00:00Z: {e}"))
}

/// Runs a `promptkit media` command.
pub(crate) fn run(args: MediaArgs) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::Runtime);
    let result = runtime.and_then(|rt| rt.block_on(dispatch(args.command)));
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::ProblemsFound) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("promptkit media: error: {}", one_line(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

/// A message on one line: backends may quote multi-line server answers.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A dry run only reads.
fn access(dry_run: bool) -> Access {
    if dry_run {
        Access::ReadOnly
    } else {
        Access::ReadWrite
    }
}

async fn dispatch(command: MediaCommand) -> Result<Outcome, CliError> {
    match command {
        MediaCommand::Stats { store, json, top } => {
            let target = Target::open(&store, Access::ReadOnly)?;
            stats::run(&target, top, media::format(json)).await
        }
        MediaCommand::Ls {
            store,
            json,
            conversation,
            session,
        } => {
            let target = Target::open(&store, Access::ReadOnly)?;
            let filter = ls::Filter {
                conversation,
                session,
            };
            ls::run(&target, &filter, media::format(json)).await
        }
        MediaCommand::Gc {
            store,
            dry_run,
            json,
            temp_grace,
        } => {
            let target = Target::open(&store, access(dry_run))?;
            gc::run(&target, dry_run, temp_grace, media::format(json)).await
        }
        MediaCommand::Verify { store, json } => {
            let target = Target::open(&store, Access::ReadOnly)?;
            verify::run(&target, media::format(json)).await
        }
        MediaCommand::Retention {
            store,
            dry_run,
            json,
            now,
            deleted_conversations,
        } => {
            let target = Target::open(&store, access(dry_run))?;
            let request = retention::Request {
                dry_run,
                now: now.unwrap_or_else(OffsetDateTime::now_utc),
                deleted_conversations,
            };
            retention::run(&target, &request, media::format(json)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_printed_on_one_line() {
        assert_eq!(
            one_line("a: 404\n<Error>\n  <Code>X</Code>\r\n"),
            "a: 404 <Error> <Code>X</Code>"
        );
        assert_eq!(one_line("plain"), "plain");
    }
}
