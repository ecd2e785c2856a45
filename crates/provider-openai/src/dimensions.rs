//! Width and height of an image, read from its header (PNG, JPEG, GIF, WebP).

/// Width and height in pixels of a PNG, JPEG, GIF or WebP image, read from its
/// header without decoding it; `None` for other or truncated data.
///
/// Used to describe tool-generated images to the model without sending their
/// pixels, and to count their input tokens ([`image_input_tokens`](crate::image_input_tokens)).
///
/// ```
/// use promptkit_provider_openai::image_dimensions;
/// // A PNG header: signature, IHDR length and type, width 1024, height 768.
/// let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
/// png.extend_from_slice(&1024u32.to_be_bytes());
/// png.extend_from_slice(&768u32.to_be_bytes());
/// assert_eq!(image_dimensions(&png), Some((1024, 768)));
/// assert_eq!(image_dimensions(b"GIF89a\x40\x01\xf0\x00"), Some((320, 240)));
/// assert_eq!(image_dimensions(b"not an image"), None);
/// ```
pub fn image_dimensions(data: &[u8]) -> Option<(u32, u32)> {
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        return png(data);
    }
    if data.starts_with(b"\xff\xd8") {
        return jpeg(data);
    }
    if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        let w = u16::from_le_bytes([*data.get(6)?, *data.get(7)?]);
        let h = u16::from_le_bytes([*data.get(8)?, *data.get(9)?]);
        return Some((u32::from(w), u32::from(h)));
    }
    if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        return webp(data);
    }
    None
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn png(d: &[u8]) -> Option<(u32, u32)> {
    if d.get(12..16)? != b"IHDR" {
        return None;
    }
    Some((be32(d, 16)?, be32(d, 20)?))
}

/// Walks the JPEG markers to the first start-of-frame.
fn jpeg(d: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    loop {
        // Markers may be preceded by fill bytes 0xFF.
        while *d.get(i)? == 0xff && *d.get(i + 1)? == 0xff {
            i += 1;
        }
        if *d.get(i)? != 0xff {
            return None;
        }
        let marker = *d.get(i + 1)?;
        i += 2;
        // Markers without a length.
        if marker == 0x01 || (0xd0..=0xd9).contains(&marker) {
            continue;
        }
        let len = usize::from(u16::from_be_bytes([*d.get(i)?, *d.get(i + 1)?]));
        // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC).
        if (0xc0..=0xcf).contains(&marker) && !matches!(marker, 0xc4 | 0xc8 | 0xcc) {
            let h = u16::from_be_bytes([*d.get(i + 3)?, *d.get(i + 4)?]);
            let w = u16::from_be_bytes([*d.get(i + 5)?, *d.get(i + 6)?]);
            return Some((u32::from(w), u32::from(h)));
        }
        if len < 2 {
            return None;
        }
        i += len;
    }
}

fn webp(d: &[u8]) -> Option<(u32, u32)> {
    let le24 = |at: usize| -> Option<u32> {
        let b = d.get(at..at + 3)?;
        Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
    };
    match d.get(12..16)? {
        b"VP8 " => {
            // Frame tag (3 bytes), start code 9D 01 2A, then 14-bit sizes.
            if d.get(23..26)? != b"\x9d\x01\x2a" {
                return None;
            }
            let w = u16::from_le_bytes([*d.get(26)?, *d.get(27)?]) & 0x3fff;
            let h = u16::from_le_bytes([*d.get(28)?, *d.get(29)?]) & 0x3fff;
            Some((u32::from(w), u32::from(h)))
        }
        b"VP8L" => {
            if *d.get(20)? != 0x2f {
                return None;
            }
            let bits = u32::from_le_bytes(d.get(21..25)?.try_into().ok()?);
            Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
        }
        b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::image_dimensions;

    #[test]
    fn jpeg_skips_segments_to_the_frame() {
        // SOI, APP0 (length 4: two bytes of payload), SOF0 with 480 x 640.
        let jpeg = b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08\x01\xe0\x02\x80\x03";
        assert_eq!(image_dimensions(jpeg), Some((640, 480)));
        assert_eq!(image_dimensions(&jpeg[..10]), None);
        // A zero segment length cannot loop forever.
        assert_eq!(image_dimensions(b"\xff\xd8\xff\xe0\x00\x00"), None);
    }

    #[test]
    fn webp_variants() {
        let mut lossy = b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0\0\0\0\x9d\x01\x2a".to_vec();
        lossy.extend_from_slice(&[0x00, 0x04, 0x00, 0x03]); // 1024 x 768
        assert_eq!(image_dimensions(&lossy), Some((1024, 768)));
        let mut lossless = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f".to_vec();
        let bits: u32 = (100 - 1) | ((50 - 1) << 14);
        lossless.extend_from_slice(&bits.to_le_bytes());
        assert_eq!(image_dimensions(&lossless), Some((100, 50)));
        let mut extended = b"RIFF\0\0\0\0WEBPVP8X\0\0\0\0\0\0\0\0".to_vec();
        extended.extend_from_slice(&[0xff, 0x03, 0x00, 0xff, 0x01, 0x00]); // 1024 x 512
        assert_eq!(image_dimensions(&extended), Some((1024, 512)));
        assert_eq!(image_dimensions(b"RIFF\0\0\0\0WEBPVP8X"), None);
    }
}
