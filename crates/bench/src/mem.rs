//! Memory probes of the current process (Linux `/proc/self/status`).

/// Resident set size of this process in bytes (`VmRSS`), or `None` where
/// `/proc` is unavailable.
///
/// ```
/// # if cfg!(target_os = "linux") {
/// assert!(promptkit_bench::mem::rss_bytes().unwrap() > 0);
/// # }
/// ```
pub fn rss_bytes() -> Option<u64> {
    status_kib("VmRSS:").map(|k| k * 1024)
}

/// Peak resident set size of this process in bytes (`VmHWM`).
///
/// ```
/// # if cfg!(target_os = "linux") {
/// let peak = promptkit_bench::mem::peak_rss_bytes().unwrap();
/// assert!(peak >= promptkit_bench::mem::rss_bytes().unwrap() / 2);
/// # }
/// ```
pub fn peak_rss_bytes() -> Option<u64> {
    status_kib("VmHWM:").map(|k| k * 1024)
}

fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Live heap once background threads have let go of what a finished turn
/// left them: the least of ten readings of `allocated` (a counting
/// allocator's live bytes) taken 5 ms apart. A single reading can catch a
/// 1 MiB image a store's hashing thread still holds.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let heap = promptkit_bench::mem::settled_heap(|| 4096).await;
/// assert_eq!(heap, 4096);
/// # });
/// ```
pub async fn settled_heap(allocated: impl Fn() -> usize) -> usize {
    let mut least = usize::MAX;
    for _ in 0..10 {
        least = least.min(allocated());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    least
}
