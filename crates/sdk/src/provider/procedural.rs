//! Deterministic procedural PNG images: the same prompt always gives the same
//! bytes, different prompts give different pictures.

use bytes::Bytes;

/// Default edge length: 600×600 RGB with fine grain encodes to roughly 1 MB.
pub(crate) const DEFAULT_SIZE: u32 = 600;

/// Renders a PNG for `prompt` with the given width and height.
///
/// The picture is a colourful interference pattern whose frequencies and palette
/// come from the blake3 hash of the prompt, overlaid with film-grain noise drawn
/// from blake3's extendable output, so it does not compress much (like a photo).
pub(crate) fn render_png(
    prompt: &str,
    width: u32,
    height: u32,
) -> Result<Bytes, png::EncodingError> {
    let seed = blake3::hash(prompt.as_bytes());
    let s = seed.as_bytes();
    let f = |i: usize, lo: f32, hi: f32| lo + (hi - lo) * f32::from(s[i]) / 255.0;
    let (fx, fy, fr) = (f(0, 2.0, 9.0), f(1, 2.0, 9.0), f(2, 3.0, 14.0));
    let (cx, cy) = (f(3, 0.2, 0.8), f(4, 0.2, 0.8));
    let phase = [f(5, 0.0, 6.3), f(6, 0.0, 6.3), f(7, 0.0, 6.3)];
    let grain = f(8, 10.0, 24.0);

    let (w, h) = (width.max(1) as usize, height.max(1) as usize);
    let mut noise = vec![0u8; w * h * 3];
    blake3::Hasher::new_keyed(s)
        .update(b"grain")
        .finalize_xof()
        .fill(&mut noise);

    let mut pixels = vec![0u8; w * h * 3];
    for y in 0..h {
        let v = y as f32 / h as f32;
        for x in 0..w {
            let u = x as f32 / w as f32;
            let r = ((u - cx).powi(2) + (v - cy).powi(2)).sqrt();
            let t = (u * fx * std::f32::consts::TAU).sin()
                + (v * fy * std::f32::consts::TAU).cos()
                + (r * fr * std::f32::consts::TAU).sin();
            let i = (y * w + x) * 3;
            for c in 0..3 {
                let base = 127.5 + 120.0 * (t * 0.8 + phase[c]).sin();
                let n = (f32::from(noise[i + c]) / 255.0 - 0.5) * 2.0 * grain;
                pixels[i + c] = (base + n).clamp(0.0, 255.0) as u8;
            }
        }
    }

    let mut out = Vec::with_capacity(w * h * 3 + 1024);
    {
        let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&pixels)?;
        writer.finish()?;
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_distinct_and_about_a_megabyte() {
        let a = render_png("a red fox", DEFAULT_SIZE, DEFAULT_SIZE).unwrap();
        let b = render_png("a red fox", DEFAULT_SIZE, DEFAULT_SIZE).unwrap();
        let c = render_png("a blue whale", DEFAULT_SIZE, DEFAULT_SIZE).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(a.len() > 700_000 && a.len() < 1_400_000, "size {}", a.len());
        // It decodes as a real PNG of the requested size.
        let dec = png::Decoder::new(std::io::Cursor::new(a.to_vec()));
        let reader = dec.read_info().unwrap();
        assert_eq!(reader.info().width, DEFAULT_SIZE);
    }
}
