//! Fault-injecting scripts for the mock OpenAI server.

use std::time::Duration;

use promptkit_mock_openai::{Reply, Script};

use crate::rng::Rng;

/// How often each fault is injected into chat replies.
///
/// ```
/// use promptkit_bench::faults::FaultMix;
/// let mix = FaultMix::parse("0.05,0.05,0.02,300").unwrap();
/// assert_eq!(mix.p429, 0.05);
/// assert_eq!(mix.timeout_delay.as_millis(), 300);
/// assert!(FaultMix::parse("x").is_none());
/// assert_eq!(FaultMix::parse(&mix.to_arg()), Some(mix));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultMix {
    /// Probability of a `429 Too Many Requests` (with `Retry-After: 0`).
    pub p429: f64,
    /// Probability of a `500 Internal Server Error`.
    pub p500: f64,
    /// Probability of an answer delayed by `timeout_delay` (meant to exceed
    /// the client's timeout).
    pub ptimeout: f64,
    /// Delay of a "timeout" answer.
    pub timeout_delay: Duration,
}

impl FaultMix {
    /// No faults.
    pub fn none() -> Self {
        FaultMix {
            p429: 0.0,
            p500: 0.0,
            ptimeout: 0.0,
            timeout_delay: Duration::ZERO,
        }
    }

    /// Parses `p429,p500,ptimeout,delay_ms`.
    pub fn parse(s: &str) -> Option<Self> {
        let v: Vec<&str> = s.split(',').map(str::trim).collect();
        let [a, b, c, d] = v.as_slice() else {
            return None;
        };
        Some(FaultMix {
            p429: a.parse().ok()?,
            p500: b.parse().ok()?,
            ptimeout: c.parse().ok()?,
            timeout_delay: Duration::from_millis(d.parse().ok()?),
        })
    }

    /// The form [`FaultMix::parse`] reads.
    pub fn to_arg(&self) -> String {
        format!(
            "{},{},{},{}",
            self.p429,
            self.p500,
            self.ptimeout,
            self.timeout_delay.as_millis()
        )
    }

    /// A script of `replies` chat replies: echoes, with faults mixed in at
    /// the configured rates (drawn from `seed`), then echoes forever.
    pub fn script(&self, replies: usize, seed: u64) -> Script {
        let mut rng = Rng::new(seed);
        let mut script = Script::new().fallback(Reply::echo());
        for _ in 0..replies {
            let r = if rng.chance(self.p429) {
                Reply::error(429, "rate limited (injected)").with_retry_after("0")
            } else if rng.chance(self.p500) {
                Reply::error(500, "internal error (injected)")
            } else if rng.chance(self.ptimeout) {
                Reply::echo().with_delay(self.timeout_delay)
            } else {
                Reply::echo()
            };
            script = script.then(r);
        }
        script
    }
}
