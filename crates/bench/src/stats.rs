//! Latency samples and their percentiles.

use std::time::Duration;

/// A set of measured durations.
///
/// ```
/// use std::time::Duration;
/// use promptkit_bench::stats::Samples;
/// let mut s = Samples::new();
/// for ms in 1..=100 {
///     s.push(Duration::from_millis(ms));
/// }
/// assert_eq!(s.len(), 100);
/// assert_eq!(s.percentile(50.0), Duration::from_millis(50));
/// assert_eq!(s.percentile(99.0), Duration::from_millis(99));
/// assert_eq!(s.mean(), Duration::from_micros(50_500));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Samples {
    values: Vec<Duration>,
    sorted: bool,
}

impl Samples {
    /// No samples yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one sample.
    pub fn push(&mut self, d: Duration) {
        self.values.push(d);
        self.sorted = false;
    }

    /// Adds every sample of `other`.
    pub fn extend(&mut self, other: &Samples) {
        self.values.extend_from_slice(&other.values);
        self.sorted = false;
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn sort(&mut self) {
        if !self.sorted {
            self.values.sort_unstable();
            self.sorted = true;
        }
    }

    /// The `p`-th percentile (nearest rank; `p` in 0..=100); zero when empty.
    pub fn percentile(&mut self, p: f64) -> Duration {
        if self.values.is_empty() {
            return Duration::ZERO;
        }
        self.sort();
        let n = self.values.len();
        let rank = ((p.clamp(0.0, 100.0) / 100.0) * n as f64).ceil() as usize;
        self.values[rank.clamp(1, n) - 1]
    }

    /// The arithmetic mean; zero when empty.
    pub fn mean(&self) -> Duration {
        if self.values.is_empty() {
            return Duration::ZERO;
        }
        let total: Duration = self.values.iter().sum();
        total / self.values.len() as u32
    }
}

/// Formats a duration compactly: `850ns`, `12.3µs`, `4.56ms`, `1.23s`.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(promptkit_bench::stats::fmt_duration(Duration::from_micros(1500)), "1.50ms");
/// ```
pub fn fmt_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{:.1}µs", ns as f64 / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.2}ms", ns as f64 / 1e6)
    } else {
        format!("{:.2}s", ns as f64 / 1e9)
    }
}

/// Formats a byte count with binary units: `512 B`, `1.5 KiB`, `3.25 MiB`.
///
/// ```
/// assert_eq!(promptkit_bench::stats::fmt_bytes(1536.0), "1.50 KiB");
/// assert_eq!(promptkit_bench::stats::fmt_bytes(-2048.0), "-2.00 KiB");
/// ```
pub fn fmt_bytes(b: f64) -> String {
    let a = b.abs();
    if a < 1024.0 {
        format!("{b:.0} B")
    } else if a < 1024.0 * 1024.0 {
        format!("{:.2} KiB", b / 1024.0)
    } else if a < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} MiB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2} GiB", b / (1024.0 * 1024.0 * 1024.0))
    }
}

/// Throughput in MiB/s of `bytes` moved in `d`.
///
/// ```
/// use std::time::Duration;
/// let t = promptkit_bench::stats::mib_per_sec(1024 * 1024, Duration::from_millis(500));
/// assert!((t - 2.0).abs() < 1e-9);
/// ```
pub fn mib_per_sec(bytes: u64, d: Duration) -> f64 {
    if d.is_zero() {
        return f64::INFINITY;
    }
    bytes as f64 / (1024.0 * 1024.0) / d.as_secs_f64()
}
