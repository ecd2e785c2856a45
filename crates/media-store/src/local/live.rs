//! The live state replayed from the journal, kept compact: what a store
//! holds in memory per live reference and per distinct media file.
//!
//! - Per reference: its id as 16 bytes (the 32 hex digits as two `u64`s)
//!   mapped to a media slot and an interned MIME type (8 bytes): 24 bytes
//!   per map entry.
//! - Per media path: one slab entry (80 bytes, in chunks of 64) holding
//!   the path as its interned directory, the 32 hex digits starting its
//!   file name as 16 bytes and the interned rest of the name, the BLAKE3
//!   hash as 32 bytes, size, probe, reference count and flags. It is found
//!   by path, and (for deduplicated content) by hash, through maps keyed by
//!   32-bit keyed fingerprints (8 bytes per entry), with a full-key
//!   overflow map for fingerprint collisions. The probes of deduplicated
//!   content are counted by their low 32 bits (8 bytes per entry).
//!
//! Hex is produced only where values leave the store. Whatever does not
//! fit this form is kept verbatim in side maps (empty in practice), so every
//! record reads back, and compacts, exactly as written: ids that are not 32
//! lowercase hex digits, hashes that are not 64, paths whose file name does
//! not start with 32 lowercase hex digits, and a reference whose hash,
//! size, `dedup` or `probe` differ from the first record of its path (a
//! store imported from the legacy format has no probes; later references to
//! its files have).

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use super::chunked::Chunked;
use super::compact::{
    FpIndex, HexId, IdMap, Parts, Strings, hash_text, id_text, parse_hash, split_path,
};
use super::journal::RefRecord;

/// A live reference: its media slot and MIME type.
#[derive(Debug, Clone, Copy)]
struct Ref {
    media: u32,
    mime: u32,
}

/// The fields of a reference's record that differ from its media's.
#[derive(Debug)]
struct Extra {
    blake3: Box<str>,
    size: u64,
    dedup: bool,
    probe: Option<u64>,
}

const DEDUP: u8 = 1;
const PROBED: u8 = 2;
/// The hash is not 64 lowercase hex digits: its text is in `odd_hashes`.
const ODD_HASH: u8 = 4;
/// The path is not `<dir>/<32 lowercase hex><rest>`: it is in `odd_paths`.
const ODD_PATH: u8 = 8;

/// A media path with live references, as its first `add` record says (a
/// free slot has no references).
#[derive(Debug)]
struct Media {
    hash: [u8; 32],
    /// The path's pieces (unless `ODD_PATH`): the 32 hex digits starting
    /// the file name, the interned directory and rest of the name.
    stem: HexId,
    dir: u32,
    ext: u32,
    size: u64,
    probe: u64,
    refs: u32,
    flags: u8,
}

impl Media {
    fn dedup(&self) -> bool {
        self.flags & DEDUP != 0
    }

    fn probe(&self) -> Option<u64> {
        (self.flags & PROBED != 0).then_some(self.probe)
    }

    fn has_hash(&self, h: &[u8; 32]) -> bool {
        self.flags & ODD_HASH == 0 && self.hash == *h
    }
}

/// Live references by id, media paths with their reference counts, the
/// dedup map (hash → path of live deduplicated content) and the probes of
/// live deduplicated content.
#[derive(Debug, Default)]
pub(crate) struct Live {
    refs: IdMap<Ref>,
    /// By reference id: record fields differing from the media's.
    extras: HashMap<Box<str>, Extra>,
    /// The media slab, and its free slots.
    media: Chunked<Media>,
    free: Vec<u32>,
    /// By slot: hashes that are not 64 lowercase hex digits.
    odd_hashes: HashMap<u32, Box<str>>,
    paths: FpIndex<Box<str>>,
    /// Deduplicated media with a well-formed hash, by hash.
    dedup: FpIndex<[u8; 32]>,
    /// Probes (and, for records without one, sizes) of live dedup content.
    /// Keyed by the probe's low 32 bits: a collision only makes a store
    /// hash its bytes to look for a dedup hit.
    probes: HashMap<u32, u32>,
    unprobed_sizes: HashMap<u64, u32>,
    /// By slot: paths not in `<dir>/<32 lowercase hex><rest>` form.
    odd_paths: HashMap<u32, Box<str>>,
    /// MIME types, directories and file name endings.
    strings: Strings,
    /// Keys of the fingerprints.
    keys: RandomState,
}

fn bump<K: std::hash::Hash + Eq>(map: &mut HashMap<K, u32>, key: K, up: bool) {
    if up {
        *map.entry(key).or_default() += 1;
    } else if let Some(n) = map.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            map.remove(&key);
        }
    }
}

impl Live {
    /// Number of live references.
    pub(crate) fn len(&self) -> usize {
        self.refs.len()
    }

    fn lookup(&self, id: &str) -> Option<Ref> {
        self.refs.get(id).copied()
    }

    /// Whether a reference is live.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.lookup(id).is_some()
    }

    /// The record of a live reference.
    pub(crate) fn get(&self, id: &str) -> Option<RefRecord> {
        self.lookup(id).map(|r| self.record(id, r))
    }

    fn hash_of(&self, slot: u32) -> String {
        let m = &self.media[slot as usize];
        match self.odd_hashes.get(&slot) {
            Some(h) if m.flags & ODD_HASH != 0 => h.to_string(),
            _ => hash_text(&m.hash),
        }
    }

    fn record(&self, id: &str, r: Ref) -> RefRecord {
        let m = &self.media[r.media as usize];
        let mime_type = self.strings.get(r.mime).to_owned();
        let path = self.path_text(r.media);
        match self.extras.get(id) {
            Some(e) => RefRecord {
                path,
                blake3: e.blake3.to_string(),
                mime_type,
                size_bytes: e.size,
                dedup: e.dedup,
                probe: e.probe,
            },
            None => RefRecord {
                path,
                blake3: self.hash_of(r.media),
                mime_type,
                size_bytes: m.size,
                dedup: m.dedup(),
                probe: m.probe(),
            },
        }
    }

    /// Every live record, sorted by id.
    #[cfg(test)]
    pub(crate) fn records(&self) -> Vec<(String, RefRecord)> {
        let mut ids: Vec<(String, Ref)> = self.refs.iter().map(|(id, r)| (id, *r)).collect();
        ids.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        ids.into_iter()
            .map(|(id, r)| {
                let rec = self.record(&id, r);
                (id, rec)
            })
            .collect()
    }

    /// The path of a media slot.
    fn path_text(&self, slot: u32) -> String {
        let m = &self.media[slot as usize];
        match self.odd_paths.get(&slot) {
            Some(p) if m.flags & ODD_PATH != 0 => p.to_string(),
            _ => format!(
                "{}/{}{}",
                self.strings.get(m.dir),
                id_text(m.stem),
                self.strings.get(m.ext)
            ),
        }
    }

    /// Whether a media slot has this path (`parts`: its [`split_path`]).
    fn has_path(&self, slot: u32, path: &str, parts: Option<Parts<'_>>) -> bool {
        let m = &self.media[slot as usize];
        if m.flags & ODD_PATH != 0 {
            return self.odd_paths.get(&slot).is_some_and(|p| **p == *path);
        }
        parts.is_some_and(|p| {
            m.stem == p.stem
                && self.strings.get(m.dir) == p.dir
                && self.strings.get(m.ext) == p.rest
        })
    }

    fn path_slot(&self, path: &str) -> Option<u32> {
        let fp = self.keys.hash_one(path);
        let parts = split_path(path);
        self.paths.get(fp, path, |s| self.has_path(s, path, parts))
    }

    /// Live references to a media path.
    pub(crate) fn refs_of(&self, path: &str) -> u64 {
        self.path_slot(path)
            .map_or(0, |s| u64::from(self.media[s as usize].refs))
    }

    /// The path of live deduplicated content with this hash (hex).
    pub(crate) fn dedup_path(&self, hash: &str) -> Option<String> {
        let h = parse_hash(hash)?;
        let media = &self.media;
        let slot = self.dedup.get(self.keys.hash_one(h), &h, |s| {
            media[s as usize].has_hash(&h)
        })?;
        Some(self.path_text(slot))
    }

    /// Whether bytes of this length and probe may already be stored
    /// deduplicated.
    pub(crate) fn may_hold(&self, probe: u64, size: u64) -> bool {
        self.probes.contains_key(&(probe as u32)) || self.unprobed_sizes.contains_key(&size)
    }

    fn count_probe(&mut self, probe: Option<u64>, size: u64, up: bool) {
        match probe {
            Some(p) => bump(&mut self.probes, p as u32, up),
            None => bump(&mut self.unprobed_sizes, size, up),
        }
    }

    /// A new media path (no reference yet), as `rec` describes it.
    fn new_media(&mut self, rec: &RefRecord) -> u32 {
        let hash = parse_hash(&rec.blake3);
        let mut flags = 0;
        if rec.dedup {
            flags |= DEDUP;
        }
        if rec.probe.is_some() {
            flags |= PROBED;
        }
        if hash.is_none() {
            flags |= ODD_HASH;
        }
        let parts = split_path(&rec.path);
        let (stem, dir, ext) = match parts {
            Some(p) => (
                p.stem,
                self.strings.intern(p.dir),
                self.strings.intern(p.rest),
            ),
            None => {
                flags |= ODD_PATH;
                ([0; 2], 0, 0)
            }
        };
        let m = Media {
            hash: hash.unwrap_or_default(),
            stem,
            dir,
            ext,
            size: rec.size_bytes,
            probe: rec.probe.unwrap_or(0),
            refs: 0,
            flags,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.media[s as usize] = m;
                s
            }
            None => {
                self.media.push(m);
                (self.media.len() - 1) as u32
            }
        };
        if hash.is_none() {
            self.odd_hashes.insert(slot, rec.blake3.as_str().into());
        }
        if parts.is_none() {
            self.odd_paths.insert(slot, rec.path.as_str().into());
        }
        let fp = self.keys.hash_one(rec.path.as_str());
        let mut paths = std::mem::take(&mut self.paths);
        paths.insert(
            fp,
            rec.path.as_str(),
            |p: &str| Box::from(p),
            slot,
            |s| self.has_path(s, &rec.path, parts),
        );
        self.paths = paths;
        let media = &self.media;
        if rec.dedup {
            if let Some(h) = hash {
                let fp = self.keys.hash_one(h);
                self.dedup
                    .insert(fp, &h, |h| *h, slot, |s| media[s as usize].has_hash(&h));
            }
            self.count_probe(rec.probe, rec.size_bytes, true);
        }
        slot
    }

    /// Whether `rec` says what the media in `slot` says.
    fn matches(&self, slot: u32, rec: &RefRecord) -> bool {
        let m = &self.media[slot as usize];
        let same_hash = if m.flags & ODD_HASH != 0 {
            self.odd_hashes.get(&slot).map(|h| &**h) == Some(rec.blake3.as_str())
        } else {
            parse_hash(&rec.blake3) == Some(m.hash)
        };
        same_hash && m.size == rec.size_bytes && m.dedup() == rec.dedup && m.probe() == rec.probe
    }

    /// Adds (or replaces) a reference.
    pub(crate) fn add(&mut self, id: &str, rec: &RefRecord) {
        self.remove(id);
        let slot = match self.path_slot(&rec.path) {
            Some(s) => s,
            None => self.new_media(rec),
        };
        let m = &mut self.media[slot as usize];
        m.refs = m.refs.saturating_add(1);
        if !self.matches(slot, rec) {
            let extra = Extra {
                blake3: rec.blake3.as_str().into(),
                size: rec.size_bytes,
                dedup: rec.dedup,
                probe: rec.probe,
            };
            self.extras.insert(id.into(), extra);
        }
        let r = Ref {
            media: slot,
            mime: self.strings.intern(&rec.mime_type),
        };
        self.refs.insert(id, r);
    }

    /// Drops a reference (and its media path with its last reference).
    pub(crate) fn remove(&mut self, id: &str) {
        let Some(r) = self.refs.remove(id) else {
            return;
        };
        if !self.extras.is_empty() {
            self.extras.remove(id);
        }
        self.strings.release(r.mime);
        let slot = r.media;
        let m = &mut self.media[slot as usize];
        m.refs = m.refs.saturating_sub(1);
        if m.refs > 0 {
            return;
        }
        let (dedup, odd, hash, probe, size) = (
            m.dedup(),
            m.flags & ODD_HASH != 0,
            m.hash,
            m.probe(),
            m.size,
        );
        let path = self.path_text(slot);
        self.paths
            .remove(self.keys.hash_one(path.as_str()), path.as_str(), slot);
        let m = &self.media[slot as usize];
        if m.flags & ODD_PATH != 0 {
            self.odd_paths.remove(&slot);
        } else {
            let (dir, ext) = (m.dir, m.ext);
            self.strings.release(dir);
            self.strings.release(ext);
        }
        if dedup {
            if !odd {
                self.dedup.remove(self.keys.hash_one(hash), &hash, slot);
            }
            self.count_probe(probe, size, false);
        }
        if odd {
            self.odd_hashes.remove(&slot);
        }
        self.free.push(slot);
    }

    /// Gives back the memory of removed entries.
    pub(crate) fn shrink(&mut self) {
        while self.media.last().is_some_and(|m| m.refs == 0) {
            self.media.pop();
        }
        let len = self.media.len() as u32;
        self.free.retain(|&s| s < len);
        self.probes.shrink_to_fit();
        self.unprobed_sizes.shrink_to_fit();
        self.refs.shrink_to_fit();
        self.extras.shrink_to_fit();
        self.media.shrink_to_fit();
        self.free.shrink_to_fit();
        self.odd_hashes.shrink_to_fit();
        self.odd_paths.shrink_to_fit();
        self.paths.shrink();
        self.dedup.shrink();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(path: &str, hash: &str, probe: Option<u64>) -> RefRecord {
        RefRecord {
            path: path.into(),
            blake3: hash.into(),
            mime_type: "image/png".into(),
            size_bytes: 3,
            dedup: true,
            probe,
        }
    }

    #[test]
    fn entries_stay_small() {
        assert_eq!(std::mem::size_of::<(HexId, Ref)>(), 24);
        assert_eq!(std::mem::size_of::<Media>(), 80);
        assert_eq!(std::mem::size_of::<(u64, u32)>(), 16);
    }

    #[test]
    fn records_read_back_as_written_odd_ones_too() {
        let id = "0123456789abcdef0123456789abcdef";
        let h = blake3::hash(b"x").to_hex().to_string();
        let mut live = Live::default();
        let weird = RefRecord {
            mime_type: "text/x-odd".into(),
            ..rec("media/o.png", "00", None)
        };
        let gp = format!("media/s/{}.png", &h[..32]);
        let good = rec(&gp, &h, Some(1));
        live.add("Odd-Id", &weird);
        live.add(id, &good);
        // Same path, other fields: kept per reference.
        let other = rec(&gp, &h, None);
        live.add("ffffffffffffffffffffffffffffffff", &other);
        let all = live.records();
        let ids: Vec<&str> = all.iter().map(|(i, _)| i.as_str()).collect();
        assert_eq!(
            ids,
            [
                "0123456789abcdef0123456789abcdef",
                "Odd-Id",
                "ffffffffffffffffffffffffffffffff"
            ]
        );
        assert_eq!(all[0].1, good);
        assert_eq!(all[1].1, weird);
        assert_eq!(all[2].1, other);
        assert_eq!(live.refs_of(&gp), 2);
        assert_eq!(live.dedup_path(&h), Some(gp.clone()));
        assert_eq!(live.dedup_path("00"), None);
        assert!(live.may_hold(1, 0) && live.may_hold(9, 3));
        live.remove(id);
        assert_eq!(live.get("ffffffffffffffffffffffffffffffff"), Some(other));
        live.remove("ffffffffffffffffffffffffffffffff");
        live.remove("Odd-Id");
        assert_eq!(live.len(), 0);
        assert_eq!(live.refs_of(&gp), 0);
        assert_eq!(live.dedup_path(&h), None);
        assert!(!live.may_hold(1, 0) && !live.may_hold(9, 3));
        live.shrink();
        assert!(live.media.is_empty() && live.strings.ids.is_empty());
        assert!(live.odd_paths.is_empty() && live.odd_hashes.is_empty());
    }
}
