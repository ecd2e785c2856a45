//! What a store left on disk: the files under a directory, its temp files.

use std::path::{Path, PathBuf};

/// Every file under `dir`, recursively, sorted. A directory that does not
/// exist, or cannot be read, lists nothing.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir(dir.path().join("a")).unwrap();
/// std::fs::write(dir.path().join("a/x"), b"x").unwrap();
/// assert_eq!(promptkit_bench::files::files_under(dir.path()), [dir.path().join("a/x")]);
/// ```
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
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

/// Counts `.pk-tmp-*` files (the store's temporary files) under `dir`.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join(".pk-tmp-1"), b"").unwrap();
/// std::fs::write(dir.path().join("kept.png"), b"").unwrap();
/// assert_eq!(promptkit_bench::files::count_temp_files(dir.path()), 1);
/// ```
pub fn count_temp_files(dir: &Path) -> usize {
    files_under(dir)
        .iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".pk-tmp-"))
        })
        .count()
}
