//! Opening a test's `FileStore` (fsync off: the tests do not cut power).
#![allow(dead_code)] // Each test uses one of the two.

use std::path::Path;

use promptkit_media_store::{FileStore, Organization};

/// A store at `dir` laid out by session.
pub fn open(dir: &Path) -> FileStore {
    open_organized(dir, Organization::BySession)
}

/// A store at `dir` laid out as `organization` says.
pub fn open_organized(dir: &Path, organization: Organization) -> FileStore {
    FileStore::builder()
        .with_base_dir(dir)
        .with_organization(organization)
        .with_fsync(false)
        .build()
        .unwrap()
}
