//! Named pipes, for tests of code that must never wait on one.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

/// Creates a named pipe at `path`; panics if it cannot.
pub fn named_pipe(path: &Path) {
    use nix::sys::stat::Mode;
    nix::unistd::mkfifo(path, Mode::S_IRUSR | Mode::S_IWUSR)
        .unwrap_or_else(|e| panic!("mkfifo {}: {e}", path.display()));
}

/// Spawns a thread that keeps opening the named pipe at `path` for writing
/// (without blocking), so whatever waits to read it goes on. A test that
/// caught code waiting on a pipe calls it before it fails: the waiting
/// thread would otherwise keep the test's runtime from shutting down.
pub fn keep_releasing(path: &Path) {
    let path = path.to_owned();
    std::thread::spawn(move || {
        loop {
            let mut writer = std::fs::OpenOptions::new();
            writer.write(true).custom_flags(nix::libc::O_NONBLOCK);
            drop(writer.open(&path));
            std::thread::sleep(Duration::from_millis(10));
        }
    });
}
