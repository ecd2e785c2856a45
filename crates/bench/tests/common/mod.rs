//! Shared by the `fuzz_` property tests: a time budget and hostile inputs.

#![allow(dead_code, unreachable_pub)]

use std::fmt::Debug;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseResult, TestRunner};

/// Runs `test` on `cases` inputs from `strategy`; when `PROMPTKIT_FUZZ_SECS`
/// is set (by `cargo xtask fuzz SECS`), keeps running fresh batches with new
/// random seeds until that many seconds have passed. Failures are shrunk and
/// reported with the minimal input; a panic in `test` is a failure.
pub fn fuzz<S>(cases: u32, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
where
    S: Strategy,
    S::Value: Debug,
{
    let budget = std::env::var("PROMPTKIT_FUZZ_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let start = Instant::now();
    let mut batches = 0u32;
    loop {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        if let Err(e) = runner.run(&strategy, &test) {
            panic!("{e}");
        }
        batches += 1;
        match budget {
            Some(b) if start.elapsed() < b => {}
            _ => break,
        }
    }
    if budget.is_some() {
        eprintln!(
            "{batches} batches of {cases} cases in {:?}",
            start.elapsed()
        );
    }
}

/// Identifiers an attacker or a buggy caller might pass as session,
/// conversation or run ids.
pub fn hostile_id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_string()),
        Just("../../etc/passwd".to_string()),
        Just("/etc/passwd".to_string()),
        Just("a/../../b".to_string()),
        Just("a\\..\\b".to_string()),
        Just("nul\0byte".to_string()),
        Just(".hidden".to_string()),
        Just(String::new()),
        Just("CON".to_string()),
        Just("x".repeat(129)),
        Just("x".repeat(100_000)),
        Just("é😀".to_string()),
        Just("%2e%2e%2f".to_string()),
        "[a-zA-Z0-9._~/\\\\:-]{0,40}",
        any::<String>(),
        "[a-z0-9]{1,20}",
    ]
}

/// Byte strings that start with the magic number of a known format (or not).
pub fn magic_payload() -> impl Strategy<Value = Vec<u8>> {
    let magic = prop_oneof![
        Just(b"\x89PNG\r\n\x1a\n".to_vec()),
        Just(b"\xFF\xD8\xFF\xE0".to_vec()),
        Just(b"GIF89a".to_vec()),
        Just(b"RIFF\0\0\0\0WEBP".to_vec()),
        Just(b"RIFF\0\0\0\0WAVE".to_vec()),
        Just(b"OggS".to_vec()),
        Just(b"ID3".to_vec()),
        Just(b"%PDF-1.7".to_vec()),
        Just(b"\0\0\0\x18ftypmp42".to_vec()),
        Just(b"\x1A\x45\xDF\xA3".to_vec()),
        Just(Vec::new()),
    ];
    (magic, proptest::collection::vec(any::<u8>(), 0..512)).prop_map(|(mut m, rest)| {
        m.extend(rest);
        m
    })
}

/// MIME types, well-formed or not, true or lying.
pub fn mime_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("image/png".to_string()),
        Just("image/jpeg".to_string()),
        Just("image/jpg".to_string()),
        Just("image/gif".to_string()),
        Just("image/webp".to_string()),
        Just("audio/wav".to_string()),
        Just("audio/mpeg".to_string()),
        Just("application/pdf".to_string()),
        Just("video/mp4".to_string()),
        Just("application/octet-stream".to_string()),
        Just("text/plain; charset=utf-8".to_string()),
        Just("image/".to_string()),
        Just("/png".to_string()),
        Just("png".to_string()),
        Just(String::new()),
        Just("image/png\r\nX-Evil: 1".to_string()),
        "[a-z]{1,8}/[a-z0-9.+-]{1,12}",
        any::<String>(),
    ]
}

/// Strings that are not valid base64, or only nearly.
pub fn broken_base64() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9+/=]{0,64}",
        "[A-Za-z0-9+/]{4,64}[^A-Za-z0-9+/=]{1,3}[A-Za-z0-9+/=]{0,8}",
        "data:image/png;base64,[A-Za-z0-9+/=!]{0,40}",
        Just("====".to_string()),
        Just("QQ=".to_string()),
        Just("Q===".to_string()),
    ]
}
