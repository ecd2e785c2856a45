//! Media built in the tests: WAV files with a chosen duration, PDFs with a
//! chosen page tree, and the checked-in fixtures.
//!
//! The fixtures under `tests/fixtures/` were made once with ffmpeg 5.1 from
//! generated signals (`sine`/`color` lavfi sources), 3 s each:
//! `tone-3s.{mp3,ogg,flac,m4a}`, `tone-3s-noxing.mp3` (CBR without a Xing
//! header), `clip-3s.{mp4,mov,webm}` (16x16 MPEG-4 Part 2 / VP8 video).
#![allow(dead_code)]

use std::path::Path;

/// A PCM WAV of `millis` ms, mono, 16-bit, at `rate` Hz, all silence.
pub fn wav(millis: u64, rate: u32) -> Vec<u8> {
    let samples = u32::try_from(u64::from(rate) * millis / 1000).unwrap();
    let data_len = samples * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // channels
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes()); // byte rate
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.resize(out.len() + data_len as usize, 0);
    out
}

/// A PDF from numbered object bodies (object `i + 1` is `objects[i]`), with
/// a correct cross-reference table and `1 0 R` as the catalog.
pub fn pdf_from_objects(objects: &[String]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A valid PDF of `pages` pages, each with a small text content stream, in a
/// flat page tree whose `/Count` is `declared_count`.
pub fn pdf_declaring(pages: usize, declared_count: usize) -> Vec<u8> {
    // 1: catalog, 2: page tree, 3: font, then per page: page, content.
    let kids: Vec<String> = (0..pages).map(|p| format!("{} 0 R", 4 + 2 * p)).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {declared_count} >>",
            kids.join(" ")
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    for p in 0..pages {
        let content = format!("BT /F1 12 Tf 72 720 Td (Page {}) Tj ET", p + 1);
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
             /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + 2 * p
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ));
    }
    pdf_from_objects(&objects)
}

/// A valid PDF of `pages` pages.
pub fn pdf(pages: usize) -> Vec<u8> {
    pdf_declaring(pages, pages)
}

/// A checked-in fixture.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
