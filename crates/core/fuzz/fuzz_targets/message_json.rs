//! Arbitrary bytes as serialized messages and chat requests (as a state
//! store or a client would hand them back): decoding never panics, and what
//! decodes serializes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promptkit_core::{ChatRequest, Message};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = serde_json::from_slice::<Message>(data) {
        let _ = m.text();
        let _ = m.inline_media_bytes();
        let json = serde_json::to_vec(&m).expect("a decoded message serializes");
        let _ = serde_json::from_slice::<Message>(&json);
    }
    if let Ok(r) = serde_json::from_slice::<ChatRequest>(data) {
        let _ = serde_json::to_vec(&r);
    }
});
