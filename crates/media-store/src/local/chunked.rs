//! A list kept in fixed-size chunks, for the live state's media slab.

use std::ops::{Index, IndexMut};

/// Items per chunk.
const CHUNK: usize = 64;

/// A list in chunks of [`CHUNK`] items. Unlike a `Vec`, growing it never
/// copies it and never leaves up to half of it unused: at most one chunk is
/// partly empty. A store with a million live media files holds 80 MB of
/// slab entries, not up to 160 MB.
#[derive(Debug)]
pub(super) struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn push(&mut self, item: T) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(item),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(item);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    pub(super) fn pop(&mut self) -> Option<T> {
        let chunk = self.chunks.last_mut()?;
        let item = chunk.pop();
        if chunk.is_empty() {
            self.chunks.pop();
        }
        if item.is_some() {
            self.len -= 1;
        }
        item
    }

    pub(super) fn last(&self) -> Option<&T> {
        self.chunks.last().and_then(|c| c.last())
    }

    /// Frees the spare room of the chunk list (chunks keep their size).
    pub(super) fn shrink_to_fit(&mut self) {
        self.chunks.shrink_to_fit();
    }
}

impl<T> Index<usize> for Chunked<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

impl<T> IndexMut<usize> for Chunked<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.chunks[i / CHUNK][i % CHUNK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_list_across_chunk_edges() {
        let mut c = Chunked::default();
        let mut v = Vec::new();
        for i in 0..(3 * CHUNK + 5) {
            c.push(i);
            v.push(i);
            assert_eq!(c.len(), v.len());
            assert_eq!(c.last(), v.last());
        }
        c[CHUNK] = 1000;
        v[CHUNK] = 1000;
        for (i, x) in v.iter().enumerate() {
            assert_eq!(c[i], *x);
        }
        while let Some(x) = v.pop() {
            assert_eq!(c.pop(), Some(x));
            assert_eq!(c.len(), v.len());
            assert_eq!(c.last(), v.last());
        }
        assert!(c.is_empty());
        assert_eq!(c.pop(), None);
        c.push(7);
        c.shrink_to_fit();
        assert_eq!((c.len(), c[0]), (1, 7));
    }
}
