//! The work behind `promptkit media …`: one module per command, plus how a
//! store is opened ([`target`]), the listing `ls` and `retention` share
//! ([`listing`]) and how results are printed ([`output`]). Every command
//! works through the store's `MediaLifecycle` trait: nothing here depends
//! on the backend.

pub(crate) mod gc;
mod listing;
pub(crate) mod ls;
mod output;
mod progress;
pub(crate) mod retention;
pub(crate) mod stats;
mod target;
pub(crate) mod verify;

use std::path::PathBuf;

pub(crate) use output::Format;
pub(crate) use target::{Access, Target};

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Done; exit 0.
    Clean,
    /// Done, but the command found problems (`verify`: corrupt or missing
    /// media, unreadable or missing sidecars); exit 1.
    ProblemsFound,
}

/// The output format selected by `--json`.
pub(crate) fn format(json: bool) -> Format {
    if json { Format::Json } else { Format::Human }
}

/// Why a `promptkit media` command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The directory does not exist.
    #[error("{}: no such directory", path.display())]
    NoSuchDirectory {
        /// The path given.
        path: PathBuf,
    },
    /// The path exists but is not a directory.
    #[error("{}: not a directory", path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// The directory exists but holds no store; none is created.
    #[error(
        "{}: not a promptkit media store (no {} inside); nothing was created",
        path.display(),
        target::INDEX_FILE
    )]
    NotAStore {
        /// The path given.
        path: PathBuf,
    },
    /// A URL that does not parse or cannot name a local directory.
    #[error("invalid media store URL `{url}`: {message}")]
    BadUrl {
        /// The URL (without any password).
        url: String,
        /// What is wrong.
        message: String,
    },
    /// The store reported an error.
    #[error("{target}: {source}")]
    Store {
        /// The store as shown to the user.
        target: String,
        /// The store's error.
        #[source]
        source: promptkit_media_store::Error,
    },
    /// Writing the result to stdout failed.
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}
