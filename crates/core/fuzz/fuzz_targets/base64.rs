//! Arbitrary text as base64 and `data:` URLs: decoding never panics, and
//! whatever decodes re-encodes to something that decodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promptkit_core::{MediaContent, decode_base64, encode_base64};

fuzz_target!(|data: &[u8]| {
    // The raw bytes always round-trip through our own encoding.
    let encoded = encode_base64(data);
    assert_eq!(decode_base64(&encoded).ok().as_deref(), Some(data));
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let decoded = decode_base64(text);
    let media = MediaContent::from_base64("image/png", text);
    assert_eq!(decoded.is_ok(), media.is_ok());
    if let Ok(bytes) = decoded {
        assert_eq!(decode_base64(&encode_base64(&bytes)).ok(), Some(bytes));
    }
});
