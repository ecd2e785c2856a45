//! Building blocks of the compact [live state](super::live): reference ids
//! and hashes as bytes (hex only at the edges), media paths in pieces, a
//! fingerprint-keyed index into a slab, and a string interner.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// A reference id of 32 lowercase hex digits, as its high and low halves
/// (two `u64`s rather than a `u128`, whose 16-byte alignment would pad
/// every map entry to 32 bytes).
pub(super) type HexId = [u64; 2];

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

pub(super) fn parse_id(id: &str) -> Option<HexId> {
    if id.len() != 32 || !id.bytes().all(is_lower_hex) {
        return None;
    }
    let n = u128::from_str_radix(id, 16).ok()?;
    Some([(n >> 64) as u64, n as u64])
}

pub(super) fn id_text(id: HexId) -> String {
    format!("{:016x}{:016x}", id[0], id[1])
}

/// Values by reference id: an id of 32 lowercase hex digits is kept as its
/// 16 bytes, any other as its text.
#[derive(Debug)]
pub(super) struct IdMap<V> {
    hex: HashMap<HexId, V>,
    odd: HashMap<Box<str>, V>,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap {
            hex: HashMap::new(),
            odd: HashMap::new(),
        }
    }
}

impl<V> IdMap<V> {
    pub(super) fn len(&self) -> usize {
        self.hex.len() + self.odd.len()
    }

    pub(super) fn get(&self, id: &str) -> Option<&V> {
        match parse_id(id) {
            Some(k) => self.hex.get(&k),
            None => self.odd.get(id),
        }
    }

    /// Inserts (or replaces) the value of `id`.
    pub(super) fn insert(&mut self, id: &str, value: V) {
        match parse_id(id) {
            Some(k) => self.hex.insert(k, value),
            None => self.odd.insert(id.into(), value),
        };
    }

    pub(super) fn remove(&mut self, id: &str) -> Option<V> {
        match parse_id(id) {
            Some(k) => self.hex.remove(&k),
            None if self.odd.is_empty() => None,
            None => self.odd.remove(id),
        }
    }

    /// Every entry, with its id as text.
    pub(super) fn iter(&self) -> impl Iterator<Item = (String, &V)> {
        let hex = self.hex.iter().map(|(k, v)| (id_text(*k), v));
        hex.chain(self.odd.iter().map(|(k, v)| (k.to_string(), v)))
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.hex.values().chain(self.odd.values())
    }

    pub(super) fn shrink_to_fit(&mut self) {
        self.hex.shrink_to_fit();
        self.odd.shrink_to_fit();
    }
}

/// A hash written as 64 lowercase hex digits, as bytes.
pub(super) fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let b = hex.as_bytes();
    if b.len() != 64 || !b.iter().all(|&c| is_lower_hex(c)) {
        return None;
    }
    let nibble = |c: u8| {
        if c.is_ascii_digit() {
            c - b'0'
        } else {
            c - b'a' + 10
        }
    };
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        *o = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    Some(out)
}

pub(super) fn hash_text(h: &[u8; 32]) -> String {
    blake3::Hash::from_bytes(*h).to_hex().to_string()
}

/// A media path `<dir>/<32 lowercase hex><rest>`, in pieces.
#[derive(Debug, Clone, Copy)]
pub(super) struct Parts<'a> {
    pub(super) dir: &'a str,
    pub(super) stem: HexId,
    pub(super) rest: &'a str,
}

pub(super) fn split_path(path: &str) -> Option<Parts<'_>> {
    let (dir, name) = path.rsplit_once('/')?;
    let stem = parse_id(name.get(..32)?)?;
    Some(Parts {
        dir,
        stem,
        rest: &name[32..],
    })
}

/// Slots found by a fingerprint of a key their slab entry holds; keys whose
/// fingerprint is taken by another key go to `more`. Callers pass 64-bit
/// keyed hashes; the map keeps their low 32 bits (8-byte entries: a
/// collision only sends a key to `more`, every hit is checked by `is`).
#[derive(Debug)]
pub(super) struct FpIndex<K> {
    pub(super) first: HashMap<u32, u32>,
    pub(super) more: HashMap<K, u32>,
}

/// The key `first` keeps of a 64-bit fingerprint: its low 32 bits.
fn short(fp: u64) -> u32 {
    fp as u32
}

impl<K> Default for FpIndex<K> {
    fn default() -> Self {
        FpIndex {
            first: HashMap::new(),
            more: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq> FpIndex<K> {
    /// The slot of `key`; `is(slot)` tells whether a slot holds `key`.
    pub(super) fn get<Q>(&self, fp: u64, key: &Q, is: impl Fn(u32) -> bool) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.first.get(&short(fp)) {
            Some(&s) if is(s) => Some(s),
            _ if self.more.is_empty() => None,
            _ => self.more.get(key).copied(),
        }
    }

    /// Maps `key` to `slot` (replacing what it mapped to); `own` makes the
    /// key to store when the fingerprint is taken.
    pub(super) fn insert<Q>(
        &mut self,
        fp: u64,
        key: &Q,
        own: impl FnOnce(&Q) -> K,
        slot: u32,
        is: impl Fn(u32) -> bool,
    ) where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.first.get(&short(fp)) {
            Some(&s) if !is(s) => {
                self.more.insert(own(key), slot);
            }
            _ => {
                self.first.insert(short(fp), slot);
                if !self.more.is_empty() {
                    self.more.remove(key);
                }
            }
        }
    }

    /// Unmaps `key` if it maps to `slot`.
    pub(super) fn remove<Q>(&mut self, fp: u64, key: &Q, slot: u32)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.first.get(&short(fp)) == Some(&slot) {
            self.first.remove(&short(fp));
        } else if self.more.get(key) == Some(&slot) {
            self.more.remove(key);
        }
    }

    pub(super) fn shrink(&mut self) {
        self.first.shrink_to_fit();
        self.more.shrink_to_fit();
    }
}

/// Interned strings (MIME types, directories, file name endings: few
/// distinct values), freed with their last use.
#[derive(Debug, Default)]
pub(super) struct Strings {
    pub(super) ids: HashMap<Box<str>, u32>,
    /// Text and uses; a free slot has no uses.
    slots: Vec<(Box<str>, u64)>,
    free: Vec<u32>,
}

impl Strings {
    pub(super) fn intern(&mut self, mime: &str) -> u32 {
        if let Some(&i) = self.ids.get(mime) {
            self.slots[i as usize].1 += 1;
            return i;
        }
        let slot = (Box::<str>::from(mime), 1);
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.ids.insert(mime.into(), i);
        i
    }

    pub(super) fn get(&self, i: u32) -> &str {
        &self.slots[i as usize].0
    }

    pub(super) fn release(&mut self, i: u32) {
        let slot = &mut self.slots[i as usize];
        slot.1 -= 1;
        if slot.1 == 0 {
            let text = std::mem::take(&mut slot.0);
            self.ids.remove(&text);
            self.free.push(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_hashes_round_trip() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(parse_id(id).map(id_text).as_deref(), Some(id));
        for odd in [
            "0123456789ABCDEF0123456789abcdef",
            "a",
            "+123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(parse_id(odd), None, "{odd}");
        }
        let h = blake3::hash(b"x").to_hex().to_string();
        assert_eq!(parse_hash(&h).map(|b| hash_text(&b)), Some(h.clone()));
        assert_eq!(parse_hash(&h.to_uppercase()), None);
        let p = format!("media/s/{id}.png");
        let parts = split_path(&p).unwrap();
        assert_eq!((parts.dir, parts.rest), ("media/s", ".png"));
        assert!(split_path("media/x.png").is_none());
    }

    #[test]
    fn fingerprint_collisions_fall_back_to_full_keys() {
        let mut idx: FpIndex<Box<str>> = FpIndex::default();
        let keys = ["a", "b", "c"];
        for (slot, k) in keys.iter().enumerate() {
            idx.insert(
                7,
                *k,
                |p: &str| Box::from(p),
                slot as u32,
                |s| keys[s as usize] == *k,
            );
        }
        for (slot, k) in keys.iter().enumerate() {
            assert_eq!(
                idx.get(7, *k, |s| keys[s as usize] == *k),
                Some(slot as u32)
            );
        }
        idx.remove(7, "a", 0);
        assert_eq!(idx.get(7, "a", |s| keys[s as usize] == "a"), None);
        assert_eq!(idx.get(7, "c", |s| keys[s as usize] == "c"), Some(2));
        // A key inserted again takes the free fingerprint, once.
        idx.insert(
            7,
            "c",
            |p: &str| Box::from(p),
            2,
            |s| keys[s as usize] == "c",
        );
        assert_eq!(idx.first.len() + idx.more.len(), 2);
        idx.remove(7, "c", 2);
        assert_eq!(idx.get(7, "c", |s| keys[s as usize] == "c"), None);
        assert_eq!(idx.get(7, "b", |s| keys[s as usize] == "b"), Some(1));
    }
}
