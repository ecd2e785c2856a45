//! With [`pin_allocator_thresholds`], megabyte buffers freed on any thread
//! go back to the system at once (glibc's dynamic mmap threshold would keep
//! them in the thread's arena).
//!
//! No test harness (`harness = false`): the thresholds are process-wide, so
//! this binary holds this one check, and nothing else allocates while it
//! measures.
//!
//! [`pin_allocator_thresholds`]: promptkit_sdk::pin_allocator_thresholds

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[path = "common/rss.rs"]
mod rss;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
use rss::rss_bytes;

fn main() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    freed_buffers_of_worker_threads_go_back();
}

/// What a media turn does on a worker thread: a big request body, then
/// images loaded for a request, all freed while small allocations made
/// after them stay live. Returns the RSS growth left after the frees.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn turn_on_a_thread() -> u64 {
    const MIB: usize = 1024 * 1024;
    std::thread::spawn(|| {
        let before = rss_bytes();
        let mut keep = Vec::new();
        for round in 0..4u8 {
            let body = vec![round + 1; 24 * MIB];
            std::hint::black_box(&body);
            drop(body);
            let images: Vec<Vec<u8>> = (0..16).map(|i| vec![i as u8 + round; MIB]).collect();
            keep.push(Box::new([round; 64]));
            std::hint::black_box(&images);
            drop(images);
        }
        let grown = rss_bytes().saturating_sub(before);
        std::hint::black_box(&keep);
        grown
    })
    .join()
    .unwrap()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn freed_buffers_of_worker_threads_go_back() {
    const MIB: u64 = 1024 * 1024;
    // The environment must not configure malloc for this check (it would
    // be left alone, as it should).
    let configured = std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc."))
        || std::env::vars().any(|(k, _)| k.starts_with("MALLOC_"));
    if configured {
        println!("malloc configured by the environment: skipped");
        return;
    }
    let unpinned = turn_on_a_thread();
    assert!(
        promptkit_sdk::pin_allocator_thresholds(),
        "thresholds not pinned"
    );
    let pinned = turn_on_a_thread();
    println!(
        "RSS kept after a turn's frees: {} KiB with glibc's dynamic threshold, {} KiB pinned",
        unpinned / 1024,
        pinned / 1024
    );
    assert!(
        pinned < 4 * MIB,
        "{pinned} bytes stayed resident after the frees with pinned thresholds"
    );
    println!("test freed_buffers_of_worker_threads_go_back ... ok");
}
