//! Listing the files a test's store left on disk.

use std::path::{Path, PathBuf};

/// Every file under `dir`, recursively, sorted (absolute when `dir` is). A
/// directory that does not exist, or cannot be read, lists nothing.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
