//! Small real PNG images, different per seed.

/// Encodes a `width`×`height` RGB PNG whose gradient depends on `seed`.
///
/// Returns an empty vector only if encoding into memory fails (it does not for
/// sizes up to a few thousand pixels).
///
/// ```
/// let a = promptkit_mock_openai::png_bytes(8, 8, 1);
/// assert!(a.starts_with(b"\x89PNG\r\n\x1a\n"));
/// assert_ne!(a, promptkit_mock_openai::png_bytes(8, 8, 2));
/// ```
pub fn png_bytes(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let (w, h) = (width.max(1), height.max(1));
    let s = seed.to_le_bytes();
    let mut pixels = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            pixels.push((x as u8).wrapping_mul(3).wrapping_add(s[0]));
            pixels.push((y as u8).wrapping_mul(5).wrapping_add(s[1]));
            pixels.push(((x ^ y) as u8).wrapping_add(s[2] ^ s[3]));
        }
    }
    let mut out = Vec::new();
    let mut enc = ::png::Encoder::new(&mut out, w, h);
    enc.set_color(::png::ColorType::Rgb);
    enc.set_depth(::png::BitDepth::Eight);
    let ok = enc
        .write_header()
        .and_then(|mut wr| wr.write_image_data(&pixels).and_then(|()| wr.finish()));
    if ok.is_err() {
        return Vec::new();
    }
    out
}

/// FNV-1a hash of a string, used to derive image seeds from prompts.
pub(crate) fn seed_of(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
