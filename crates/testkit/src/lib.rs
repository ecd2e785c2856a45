//! Test support: real local servers started from the Python venv that
//! `cargo xtask test-all` prepares (`PROMPTKIT_PYVENV`).
//!
//! When `PROMPTKIT_PYVENV` is unset, tests that need a server are skipped with a
//! message, unless `PROMPTKIT_REQUIRE_SERVERS=1` (set by xtask and CI), in which
//! case a missing venv fails the test.
#![warn(missing_docs)]

pub mod pipes;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Python venv prepared by xtask, or `None` (test should skip).
///
/// Panics when servers are required (`PROMPTKIT_REQUIRE_SERVERS=1`) but no venv is set.
pub fn venv() -> Option<PathBuf> {
    match std::env::var_os("PROMPTKIT_PYVENV") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            assert!(
                p.join("bin/python").exists(),
                "PROMPTKIT_PYVENV={} has no bin/python; run `cargo xtask pyenv`",
                p.display()
            );
            Some(p)
        }
        _ => {
            if std::env::var("PROMPTKIT_REQUIRE_SERVERS").as_deref() == Ok("1") {
                panic!("PROMPTKIT_REQUIRE_SERVERS=1 but PROMPTKIT_PYVENV is not set");
            }
            None
        }
    }
}

/// Returns the venv or skips the calling test (returns from it) with a message.
#[macro_export]
macro_rules! require_venv {
    () => {
        match $crate::venv() {
            Some(v) => v,
            None => {
                eprintln!(
                    "skipped: needs local test servers; run via `cargo xtask test-all` or set PROMPTKIT_PYVENV"
                );
                return;
            }
        }
    };
}

/// The `redis-server` program the Redis tests start: `PROMPTKIT_REDIS_SERVER`
/// (set by `cargo xtask test-all`, which installs one into `target/` when the
/// system has none), else `redis-server` on `PATH`, else `None` (the test
/// should skip; a message says so).
///
/// Panics, naming what is missing, when servers are required
/// (`PROMPTKIT_REQUIRE_SERVERS=1`) and neither runs, or when
/// `PROMPTKIT_REDIS_SERVER` names a program that does not run.
pub fn redis_server() -> Option<PathBuf> {
    let runs = |p: &std::path::Path| {
        Command::new(p)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if let Some(p) = std::env::var_os("PROMPTKIT_REDIS_SERVER").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            runs(&p),
            "PROMPTKIT_REDIS_SERVER={} does not run (`--version` failed); run `cargo xtask setup`",
            p.display()
        );
        return Some(p);
    }
    let on_path = PathBuf::from("redis-server");
    if runs(&on_path) {
        return Some(on_path);
    }
    if std::env::var("PROMPTKIT_REQUIRE_SERVERS").as_deref() == Ok("1") {
        panic!(
            "PROMPTKIT_REQUIRE_SERVERS=1 but no redis-server: PROMPTKIT_REDIS_SERVER is not set and \
             none is on PATH (`cargo xtask test-all` installs one into target/)"
        );
    }
    eprintln!(
        "skipped: needs redis-server; run via `cargo xtask test-all` or set PROMPTKIT_REDIS_SERVER"
    );
    None
}

/// A free TCP port on 127.0.0.1 that no other call in this process returned.
///
/// Ports come from below the kernel's ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`), so neither another `bind(0)`
/// nor an outgoing connection can take a port between this call and the
/// server binding it, and each process starts at its own offset so that test
/// binaries running side by side rarely meet. When the ephemeral range leaves
/// no room below it, the kernel picks (`bind(0)`) and repeats are refused.
pub fn free_port() -> u16 {
    use std::collections::BTreeSet;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    const LOW: u32 = 20_000;

    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32_768);
    let span = ephemeral_low.saturating_sub(LOW).min(12_000);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..20_000 {
        let port = if span >= 1_000 {
            let offset = std::process::id().wrapping_mul(7_919) % span;
            LOW + (offset + NEXT.fetch_add(1, Ordering::Relaxed)) % span
        } else {
            let Ok(port) = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) else {
                continue;
            };
            u32::from(port.port())
        };
        let port = u16::try_from(port).expect("ports fit in u16");
        if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.insert(port);
            return port;
        }
    }
    panic!("no free TCP port on 127.0.0.1");
}

/// A server child process, killed (with its process group) on drop.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl ServerProcess {
    /// Starts `program` (a name in the venv's `bin/`, or a path) with `args` in its own
    /// process group and waits until 127.0.0.1:`port` accepts connections.
    pub fn spawn(venv: &std::path::Path, program: &str, args: &[&str], port: u16) -> ServerProcess {
        use std::os::unix::process::CommandExt;
        let exe = venv.join("bin").join(program);
        let exe = if exe.exists() {
            exe
        } else {
            PathBuf::from(program)
        };
        let name = std::path::Path::new(program)
            .file_name()
            .map_or_else(|| "server".into(), |n| n.to_string_lossy());
        let log = std::env::temp_dir().join(format!("promptkit-{name}-{port}.log"));
        let out = std::fs::File::create(&log).expect("create server log");
        let err = out.try_clone().expect("clone log handle");
        let mut path = venv.join("bin").into_os_string();
        path.push(":");
        path.push(std::env::var_os("PATH").unwrap_or_default());
        let child = Command::new(&exe)
            .args(args)
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", exe.display()));
        let mut server = ServerProcess { child, port };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                // Something listens; make sure it is this child and not a
                // process that took the port first (the child then dies on bind).
                std::thread::sleep(Duration::from_millis(100));
                if let Ok(Some(status)) = server.child.try_wait() {
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    panic!("{program} exited with {status}; port {port} is someone else's:\n{log}");
                }
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("{program} exited with {status} before listening on {port}:\n{log}");
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("{program} did not listen on {port} within 60 s:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the server now (SIGKILL to its process group) and waits for it.
    /// Calling it again is a no-op.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // The child leads its own process group (process_group(0) at spawn), so
        // this reaches its children too (e.g. uvicorn workers) and nothing else.
        if let Ok(pid) = i32::try_from(self.child.id())
            && pid > 1
        {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a Python snippet with the venv's interpreter; returns stdout, panics with
/// stderr on failure.
pub fn python(venv: &std::path::Path, script: &str, args: &[&str]) -> String {
    let out = Command::new(venv.join("bin/python"))
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_and_bindable_across_threads() {
        let handles: Vec<_> = (0..8)
            .map(|_| std::thread::spawn(|| (0..50).map(|_| free_port()).collect::<Vec<_>>()))
            .collect();
        let mut all: Vec<u16> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        for &p in &all {
            TcpListener::bind(("127.0.0.1", p)).expect("returned port is free");
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "a port was handed out twice");
    }
}
