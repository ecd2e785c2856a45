//! Arbitrary declared MIME types against arbitrary bytes: the checks never
//! panic, and a declared image type contradicting recognised image bytes is
//! refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promptkit_core::MediaContent;
use promptkit_media_store::{check_declared_mime, extension_for_mime, validate_media};

fuzz_target!(|input: (&str, &[u8])| {
    let (declared, data) = input;
    let checked = check_declared_mime(declared, data);
    let _ = extension_for_mime(declared);
    let validated = validate_media(&MediaContent::from_bytes(declared, data.to_vec()), Some(1 << 20));
    if !data.is_empty() && data.len() <= 1 << 20 {
        assert_eq!(checked.is_ok(), validated.is_ok());
    }
    if let (Ok(()), Some(sniffed)) = (&checked, promptkit_core::sniff_mime(data)) {
        let essence = declared.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if sniffed.starts_with("image/") && essence != "application/octet-stream" {
            assert!(essence.starts_with("image/"), "{declared:?} accepted for {sniffed}");
        }
    }
});
