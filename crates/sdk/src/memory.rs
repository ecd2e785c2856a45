//! Giving the memory of freed media buffers back to the operating system.
//!
//! A media turn allocates megabyte buffers that live for one request: the
//! tool's or provider's image before it is stored, images loaded back for the
//! request, the request body. glibc's allocator raises its mmap threshold to
//! the largest buffer freed so far, so after the first big request these
//! buffers come from its heap arenas and, once freed, stay resident: a
//! process whose live data is a few megabytes keeps 10–30 MiB.
//!
//! Two measures, both off unless the application turns them on
//! ([`ManagerConfig::release_memory`](crate::ManagerConfig::release_memory)),
//! since the first changes malloc for the whole process:
//! - [`pin_allocator_thresholds`], once per process when a manager is
//!   built: glibc's mmap and trim thresholds are fixed at its documented
//!   defaults (128 KiB), which turns the dynamic threshold off. Megabyte
//!   buffers are then mapped and unmapped on their own, and an arena's free
//!   top is trimmed. Skipped when the application configured malloc itself
//!   (`GLIBC_TUNABLES` with `glibc.malloc.*`, or `MALLOC_*_` variables).
//! - Turns report the media bytes they moved ([`note_media_bytes`]); once
//!   [`TRIM_EVERY`] bytes have passed since the last trim, the turn that
//!   crossed it calls [`release_freed_memory`] (one trim at a time across
//!   the process), which returns free pages inside the arenas.
//!
//! Elsewhere than Linux with glibc, nothing happens: other allocators have no
//! such calls, and none of them keeps freed megabyte buffers this way.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Media bytes that must pass through memory between two trims.
pub(crate) const TRIM_EVERY: u64 = 4 * 1024 * 1024;

/// Counts media bytes and decides when to trim.
#[derive(Debug)]
struct Trimmer {
    /// Media bytes moved since the last trim.
    pending: AtomicU64,
    /// Whether a trim is running.
    trimming: AtomicBool,
}

impl Trimmer {
    const fn new() -> Self {
        Trimmer {
            pending: AtomicU64::new(0),
            trimming: AtomicBool::new(false),
        }
    }

    /// Adds `bytes`; runs `trim` when the total reaches [`TRIM_EVERY`] and
    /// no other trim runs. Returns whether it ran.
    fn note(&self, bytes: u64, trim: impl FnOnce() -> bool) -> bool {
        if bytes == 0 {
            return false;
        }
        let total = self.pending.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if total < TRIM_EVERY || self.trimming.swap(true, Ordering::Acquire) {
            return false;
        }
        self.pending.store(0, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let released = trim();
        self.trimming.store(false, Ordering::Release);
        tracing::debug!(
            released,
            micros = started.elapsed().as_micros() as u64,
            "returned freed media memory to the system"
        );
        true
    }
}

/// The process's trimmer.
static TRIMMER: Trimmer = Trimmer::new();

/// Counts `bytes` of media a turn moved through memory and, when the total
/// since the last trim reaches [`TRIM_EVERY`] and no other trim runs, trims.
/// Returns whether this call trimmed.
pub(crate) fn note_media_bytes(bytes: u64) -> bool {
    TRIMMER.note(bytes, release_freed_memory)
}

/// Asks the C allocator to return freed memory to the operating system, and
/// returns whether it released any.
///
/// On Linux with glibc this is `malloc_trim(0)`: glibc keeps freed megabyte
/// buffers in its heap arenas (its mmap threshold rises to the largest buffer
/// freed), so a process that handled large images stays resident at its peak.
/// Conversations call this by themselves after media-heavy turns unless
/// [`ManagerConfig::release_memory`](crate::ManagerConfig::release_memory)
/// is off; an application can also call it, e.g. after deleting
/// conversations. It takes the allocator's locks in turn, so it is cheap on
/// small heaps and grows with the heap. Elsewhere it does nothing and returns
/// `false`.
///
/// ```
/// // Safe to call at any time, from any thread.
/// let _released: bool = promptkit_sdk::release_freed_memory();
/// ```
pub fn release_freed_memory() -> bool {
    trim()
}

/// glibc's default mmap and trim thresholds, which [`pin_allocator_thresholds`]
/// makes fixed.
const GLIBC_DEFAULT_THRESHOLD: i32 = 128 * 1024;

/// Whether the environment configures glibc's malloc (then it is left alone).
fn malloc_configured(var: impl Fn(&str) -> Option<String>) -> bool {
    var("GLIBC_TUNABLES").is_some_and(|t| t.contains("glibc.malloc."))
        || [
            "MALLOC_MMAP_THRESHOLD_",
            "MALLOC_TRIM_THRESHOLD_",
            "MALLOC_TOP_PAD_",
            "MALLOC_MMAP_MAX_",
            "MALLOC_ARENA_MAX",
        ]
        .iter()
        .any(|v| var(v).is_some())
}

/// Fixes glibc's mmap threshold and trim threshold at their documented
/// defaults (128 KiB), once per process, unless the environment configures
/// malloc (`GLIBC_TUNABLES` with `glibc.malloc.*`, or a `MALLOC_*_`
/// variable). Returns whether it changed them (now or earlier).
///
/// glibc raises its mmap threshold to the largest buffer freed so far (up to
/// 32 MiB), after which megabyte buffers come from its arenas and stay
/// resident after they are freed. With fixed thresholds each such buffer is
/// mapped on its own and unmapped when freed, and an arena's free top goes
/// back to the system: a media-heavy process stays near its live size, at the
/// price of page faults for every fresh large buffer (about 2–3 ms per turn
/// that loads eight 1 MiB images). This is what
/// `GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072` does from the start.
///
/// A [`ConversationManager`](crate::ConversationManager) calls it when it is
/// built, unless [`ManagerConfig::release_memory`](crate::ManagerConfig::release_memory)
/// is off. Elsewhere than Linux with glibc it does nothing and returns `false`.
///
/// ```
/// let _pinned: bool = promptkit_sdk::pin_allocator_thresholds();
/// ```
pub fn pin_allocator_thresholds() -> bool {
    static PINNED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PINNED.get_or_init(|| {
        if malloc_configured(|v| std::env::var(v).ok()) {
            tracing::debug!("malloc configured by the environment: thresholds left alone");
            return false;
        }
        let pinned = pin();
        tracing::debug!(pinned, "glibc malloc thresholds fixed at 128 KiB");
        pinned
    })
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn pin() -> bool {
    // SAFETY: `mallopt` takes two integers and no pointers; glibc takes the
    // main arena's lock to change its parameters, so it is safe from any
    // thread at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, GLIBC_DEFAULT_THRESHOLD) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, GLIBC_DEFAULT_THRESHOLD) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn pin() -> bool {
    let _ = GLIBC_DEFAULT_THRESHOLD;
    false
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim() -> bool {
    // SAFETY: `malloc_trim` takes no pointers and has no preconditions; glibc
    // locks each arena while it walks it, so it is safe from any thread at
    // any time.
    unsafe { libc::malloc_trim(0) != 0 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn trims_once_the_total_crosses_the_threshold() {
        let t = Trimmer::new();
        let runs = Cell::new(0);
        let trim = || {
            runs.set(runs.get() + 1);
            true
        };
        assert!(!t.note(0, trim));
        assert!(!t.note(TRIM_EVERY / 2, trim));
        assert!(t.note(TRIM_EVERY / 2, trim));
        assert_eq!(runs.get(), 1);
        // The count starts again after a trim.
        assert!(!t.note(TRIM_EVERY - 1, trim));
        assert!(t.note(1, trim));
        assert_eq!(runs.get(), 2);
    }

    #[test]
    fn one_trim_at_a_time() {
        let t = Trimmer::new();
        let inner = t.note(TRIM_EVERY, || {
            // A turn finishing while this trim runs does not start another.
            assert!(!t.note(TRIM_EVERY, || panic!("a second trim ran")));
            true
        });
        assert!(inner);
    }

    #[test]
    fn malloc_settings_of_the_environment_win() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(!malloc_configured(env(&[])));
        assert!(!malloc_configured(env(&[(
            "GLIBC_TUNABLES",
            "glibc.pthread.rseq=0"
        )])));
        assert!(malloc_configured(env(&[(
            "GLIBC_TUNABLES",
            "glibc.malloc.trim_threshold=131072"
        )])));
        assert!(malloc_configured(env(&[("MALLOC_ARENA_MAX", "2")])));
        assert!(malloc_configured(env(&[(
            "MALLOC_MMAP_THRESHOLD_",
            "65536"
        )])));
    }

    #[test]
    fn release_can_be_called_any_time() {
        let _ = release_freed_memory();
        let _ = note_media_bytes(1);
    }
}
