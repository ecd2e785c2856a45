//! Arbitrary text as a storage reference: parsing never panics, and a
//! parsed reference prints back to a string that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promptkit_core::StorageReference;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = text.parse::<StorageReference>() {
        let again: StorageReference = r.to_string().parse().expect("a printed reference parses");
        assert_eq!(again, r);
        let _ = serde_json::to_string(&r);
    }
    let _ = serde_json::from_slice::<StorageReference>(data);
});
