//! `release_freed_memory` gives freed megabyte buffers back on glibc, where
//! the allocator otherwise keeps them once its mmap threshold has risen.
//!
//! This binary has no test harness (`harness = false`): its `main` runs on
//! the main thread, whose arena `malloc_trim` trims completely (for other
//! threads' arenas it returns free pages between live chunks, not the free
//! top; `tests/memory_pin.rs` covers those), and no other test allocates
//! while it measures.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[path = "common/rss.rs"]
mod rss;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
use rss::rss_bytes;

fn main() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    freed_media_buffers_go_back_to_the_system();
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn freed_media_buffers_go_back_to_the_system() {
    const MIB: usize = 1024 * 1024;
    // A big request body, freed: glibc raises its mmap threshold above it,
    // so the megabyte buffers below come from the heap instead of mmap.
    let body = vec![1u8; 24 * MIB];
    std::hint::black_box(&body);
    drop(body);
    // Images loaded for a request, then freed while a small allocation made
    // after them stays live (so the heap's top cannot simply shrink).
    let images: Vec<Vec<u8>> = (0..16).map(|i| vec![i as u8 + 1; MIB]).collect();
    let keep = Box::new([7u8; 64]);
    std::hint::black_box(&images);
    drop(images);
    let before = rss_bytes();
    let released = promptkit_sdk::release_freed_memory();
    let after = rss_bytes();
    std::hint::black_box(&keep);
    println!(
        "RSS {} KiB → {} KiB (released: {released})",
        before / 1024,
        after / 1024
    );
    println!("test freed_media_buffers_go_back_to_the_system ... ok");
    assert!(released, "malloc_trim released nothing");
    assert!(
        before.saturating_sub(after) >= 8 * MIB as u64,
        "RSS went from {before} to {after} bytes: the 16 MiB of freed buffers stayed resident"
    );
}
