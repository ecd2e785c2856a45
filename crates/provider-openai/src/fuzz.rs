//! Robustness of every parser against truncated and corrupted input: each must
//! return `Ok` or a typed error, never panic. Every prefix of each sample is
//! tried, then random byte corruptions: 2,000 by default, for
//! `PROMPTKIT_FUZZ_SECS` seconds when that is set (`cargo xtask fuzz`).

#[cfg(test)]
use std::time::{Duration, Instant};

use crate::images::parse_images;
use crate::pricing::PriceTable;
use crate::response::parse_chat;
use crate::stream::{Accumulator, SseParser};

const CHAT: &str = r#"{"id":"c","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"héllo","refusal":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":[1,2]}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":1}}}"#;
const IMAGES: &str = r#"{"created":1,"data":[{"b64_json":"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==","revised_prompt":"p"},{"url":"data:image/svg+xml;base64,PHN2Zy8+"}],"output_format":"png","usage":{"input_tokens":3,"output_tokens":9}}"#;
const SSE: &str = "data: {\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\"\"}}]}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1}}\n\n\
data: [DONE]\n\n";

/// Hands `bytes` to every parser of provider answers, as a chat response, an
/// images response and a server-sent event stream; the entry point of the
/// cargo-fuzz target (`crates/provider-openai/fuzz`, built with
/// `--cfg fuzzing`).
#[cfg(fuzzing)]
pub fn parse_all(bytes: &[u8]) {
    exercise(bytes, &PriceTable::default());
}

fn exercise(bytes: &[u8], prices: &PriceTable) {
    let _ = parse_chat(bytes, "m", "openai", prices);
    let _ = parse_images(bytes, Some("png"));
    let mut parser = SseParser::default();
    let mut acc = Accumulator::new("m");
    if let Ok(events) = parser.push(bytes) {
        for data in events.into_iter().chain(parser.finish()) {
            if data != "[DONE]" && acc.apply(&data, "openai").is_err() {
                break;
            }
        }
        let _ = acc.finish(prices);
    }
}

/// xorshift64*: deterministic, dependency-free.
#[cfg(test)]
struct Rng(u64);

#[cfg(test)]
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[cfg(test)]
#[test]
fn fuzz_parsers_never_panic() {
    let prices = PriceTable::default();
    let samples = [CHAT.as_bytes(), IMAGES.as_bytes(), SSE.as_bytes()];
    for s in samples {
        for cut in 0..=s.len() {
            exercise(&s[..cut], &prices);
        }
    }
    let budget = std::env::var("PROMPTKIT_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs);
    let start = Instant::now();
    let interesting = b"{}[]\":,\\\n\0\xff0-.eE nultrf";
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0u64.. {
        let done = match budget {
            Some(b) => start.elapsed() >= b,
            None => case >= 2_000,
        };
        if done {
            break;
        }
        let mut bytes = samples[rng.below(samples.len())].to_vec();
        for _ in 0..=rng.below(4) {
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[at] = interesting[rng.below(interesting.len())],
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, interesting[rng.below(interesting.len())]),
            }
        }
        exercise(&bytes, &prices);
    }
}
