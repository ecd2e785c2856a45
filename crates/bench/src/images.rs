//! Distinct PNG-like payloads of a given size, produced quickly.
//!
//! Benchmarks need hundreds of distinct ~1 MB images; encoding real PNGs of
//! that size takes tens of milliseconds each. A [`ImagePool`] makes one random
//! body once and stamps each copy with its index right after the PNG
//! signature, so every payload has different bytes (and a different BLAKE3
//! hash) and is recognised as `image/png` by MIME sniffing.

use bytes::Bytes;

use crate::rng::Rng;

/// The 8-byte PNG signature.
pub const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// A source of distinct PNG-like payloads of one size.
///
/// ```
/// use promptkit_bench::images::ImagePool;
/// let pool = ImagePool::new(4096, 1);
/// let (a, b) = (pool.image(0), pool.image(1));
/// assert_eq!(a.len(), 4096);
/// assert_ne!(a, b);
/// assert_eq!(a, pool.image(0));
/// assert_eq!(promptkit_core::sniff_mime(&a), Some("image/png"));
/// ```
#[derive(Debug, Clone)]
pub struct ImagePool {
    body: Bytes,
}

impl ImagePool {
    /// A pool of payloads of `size` bytes (at least 16) from `seed`.
    pub fn new(size: usize, seed: u64) -> Self {
        let mut body = vec![0u8; size.max(16)];
        Rng::new(seed).fill(&mut body);
        body[..8].copy_from_slice(PNG_SIGNATURE);
        ImagePool { body: body.into() }
    }

    /// Size of every payload.
    pub fn size(&self) -> usize {
        self.body.len()
    }

    /// Payload number `i`: a fresh allocation (as a decoded provider
    /// response would be), distinct for every `i`.
    pub fn image(&self, i: u64) -> Bytes {
        let mut v = self.body.to_vec();
        v[8..16].copy_from_slice(&i.to_le_bytes());
        v.into()
    }
}
