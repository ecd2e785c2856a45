//! Upkeep of the local store: `gc`, `verify` and retention. Each compares
//! the folder with the index; every decision to remove or repair is taken
//! again inside a write transaction, where stores and deletes of other
//! processes cannot interleave.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use time::OffsetDateTime;

use super::engine::Engine;
use super::files::is_temp;
use super::index::{self, MediaRow};
use super::naming;
use crate::layout::META_SUFFIX;
use crate::lifecycle::Progress;
use crate::sidecar::{MediaSidecar, SIDECAR_LIMIT, sidecar_location};
use crate::{GcOptions, GcReport, Result, RetentionReport, StorageReference, VerifyReport};

/// References dropped per write transaction by retention.
const BATCH: usize = 256;

impl Engine {
    pub(crate) fn gc(&self, options: GcOptions) -> Result<GcReport> {
        if !options.dry_run {
            self.writable("gc")?;
        }
        let mut report = GcReport {
            dry_run: options.dry_run,
            ..GcReport::default()
        };
        let rows = self.index.run(index::all_media)?;
        let known: HashSet<&str> = rows.iter().map(|r| r.location.as_str()).collect();
        let found = self.files.walk_media()?;
        let present: HashSet<&Path> = found.iter().map(|f| f.rel.as_path()).collect();

        let mut orphans = Vec::new();
        let mut orphan_sidecars = Vec::new();
        for f in &found {
            if is_temp(&f.rel) {
                if f.modified.is_some_and(|m| options.is_stale(m.into())) {
                    report.stale_temp_files.push(f.rel.clone());
                    if !options.dry_run {
                        self.files.remove(&f.rel)?;
                    }
                }
                continue;
            }
            match media_of_sidecar(&f.rel) {
                Some(media) => {
                    let owned = media.to_str().is_some_and(|m| known.contains(m));
                    if !owned && !present.contains(media.as_path()) {
                        orphan_sidecars.push(f.rel.clone());
                    }
                }
                None if f.rel.to_str().is_some_and(|m| known.contains(m)) => {}
                None => orphans.push((f.rel.clone(), f.len)),
            }
        }
        let lost: Vec<&MediaRow> = rows
            .iter()
            .filter(|r| !present.contains(Path::new(&r.location)))
            .collect();
        let unsound: Vec<&MediaRow> = rows
            .iter()
            .filter(|r| present.contains(Path::new(&r.location)))
            .filter(|r| !self.sidecar_ok(r))
            .collect();
        let dangling = self.index.run(index::dangling)?;

        // Every candidate is checked again, then removed or repaired, inside
        // a write transaction, where stores and deletes of other processes
        // cannot interleave; a dry run makes the same checks and only reports.
        let apply = !options.dry_run;
        let collect = |c: &Connection| -> Result<()> {
            let tracked = |loc: &str| self.db(index::media_at(c, loc));
            // A name that is not UTF-8 is never one the index gave.
            let untracked = |rel: &Path| -> Result<bool> {
                Ok(match rel.to_str() {
                    Some(loc) => tracked(loc)?.is_none(),
                    None => true,
                })
            };
            // Removes the file `rel` (a dry run only looks); whether it was there.
            let remove = |rel: &Path| match apply {
                true => self.files.remove(rel),
                false => self.files.is_file(rel),
            };
            for (rel, len) in orphans {
                if untracked(&rel)? && remove(&rel)? {
                    report.freed_bytes += len;
                    report.orphan_media.push(rel.clone());
                    let mut meta = rel.into_os_string();
                    meta.push(META_SUFFIX);
                    if remove(Path::new(&meta))? {
                        report.orphan_sidecars.push(meta.into());
                    }
                }
            }
            for rel in orphan_sidecars {
                let media = media_of_sidecar(&rel).unwrap_or_default();
                if untracked(&media)? && !self.files.is_file(&media)? && remove(&rel)? {
                    report.orphan_sidecars.push(rel);
                }
            }
            for row in lost {
                if tracked(&row.location)?.is_some() && !self.files.is_file(&row.location)? {
                    let ids = match apply {
                        true => self.db(index::remove_location(c, &row.location))?,
                        false => self.db(index::references_at(c, &row.location))?,
                    };
                    remove(Path::new(&sidecar_location(&row.location)))?;
                    report
                        .dangling_references
                        .extend(ids.iter().filter_map(|id| ref_string(id)));
                }
            }
            for id in dangling {
                if apply {
                    self.db(index::remove_ref(c, &id))?;
                }
                report.dangling_references.extend(ref_string(&id));
            }
            for row in unsound {
                if let Some(row) = tracked(&row.location)?
                    && self.files.is_file(&row.location)?
                {
                    if apply {
                        self.rewrite_sidecar(c, &row)?;
                    }
                    report.rewritten_sidecars.push(sidecar_path(&row));
                }
            }
            Ok(())
        };
        match apply {
            true => self.index.write(|tx| collect(tx))?,
            false => self.index.with(collect)?,
        }
        report.orphan_media.sort();
        report.orphan_sidecars.sort();
        report.dangling_references.sort();
        Ok(report)
    }

    /// Whether the sidecar of `row` is there, parses and describes it.
    fn sidecar_ok(&self, row: &MediaRow) -> bool {
        matches!(self.read_sidecar(row), Ok(SidecarState::Sound))
    }

    /// What the sidecar of `row` is now.
    fn read_sidecar(&self, row: &MediaRow) -> Result<SidecarState> {
        Ok(
            match self
                .files
                .read(sidecar_location(&row.location), SIDECAR_LIMIT)?
            {
                None => SidecarState::Missing,
                Some(bytes) => match MediaSidecar::parse(&row.location, &bytes) {
                    Ok(s) if s.blake3 == row.blake3 && s.size_bytes == row.size => {
                        SidecarState::Sound
                    }
                    _ => SidecarState::Unreadable,
                },
            },
        )
    }

    fn rewrite_sidecar(&self, c: &Connection, row: &MediaRow) -> Result<()> {
        let first = self.db(index::first_reference(c, &row.location))?;
        if let Some(first) = first {
            let json = row.sidecar(&first.metadata, first.policy, first.created)?;
            let (folder, name) = self.files.folder_of(&row.location)?;
            folder.write(&sidecar_location(name), &json)?;
        }
        Ok(())
    }

    pub(crate) fn verify(&self, progress: &Progress) -> Result<VerifyReport> {
        self.index.check_integrity()?;
        let rows = self.index.run(index::all_media)?;
        let total = rows.len() as u64;
        let mut report = VerifyReport::default();
        progress(0, total);
        for (i, row) in rows.iter().enumerate() {
            match self.files.hash(&row.location, row.size)? {
                Some(hash) => {
                    report.checked += 1;
                    if hash.is_none_or(|h| h != row.blake3) {
                        report.corrupt.push(PathBuf::from(&row.location));
                    }
                    match self.sidecar_state(row)? {
                        SidecarState::Sound | SidecarState::Gone => {}
                        SidecarState::Missing => report.missing_sidecars.push(sidecar_path(row)),
                        SidecarState::Unreadable => {
                            report.unreadable_sidecars.push(sidecar_path(row))
                        }
                    }
                }
                // Missing, unless a delete removed it meanwhile: asked again
                // after any write in progress has committed.
                None if self.still_tracked_and_missing(&row.location)? => {
                    report.missing.push(PathBuf::from(&row.location));
                }
                None => {}
            }
            progress(i as u64 + 1, total);
        }
        Ok(report)
    }

    /// The sidecar of `row`; a problem is confirmed after any write in
    /// progress has committed (a concurrent delete removes it legitimately).
    fn sidecar_state(&self, row: &MediaRow) -> Result<SidecarState> {
        match self.read_sidecar(row)? {
            SidecarState::Sound => Ok(SidecarState::Sound),
            _ if !self.still_tracked(&row.location)? => Ok(SidecarState::Gone),
            _ => self.read_sidecar(row),
        }
    }

    /// Whether the index still knows `location`, asked after any write in
    /// progress has committed.
    fn still_tracked(&self, location: &str) -> Result<bool> {
        let check = |c: &rusqlite::Connection| index::media_at(c, location);
        let tracked = if self.config.read_only {
            self.index.run(check)?
        } else {
            self.index.write(|tx| self.db(check(tx)))?
        };
        Ok(tracked.is_some())
    }

    fn still_tracked_and_missing(&self, location: &str) -> Result<bool> {
        Ok(self.still_tracked(location)? && !self.files.is_file(location)?)
    }

    /// Drops the references `ids` (already gone ones are skipped).
    pub(crate) fn drop_references(&self, ids: Vec<String>) -> Result<RetentionReport> {
        self.writable("retention")?;
        let mut report = RetentionReport::default();
        for chunk in ids.chunks(BATCH) {
            let mut freed = Vec::new();
            self.index.write(|tx| {
                for id in chunk {
                    let reference = naming::reference_for(id)?;
                    match self.delete_in(tx, id, &reference) {
                        Ok(media) => {
                            if let Some(m) = media {
                                report.removed_objects += 1;
                                report.freed_bytes += m.size;
                                freed.push(m);
                            }
                            report.expired_references.push(reference);
                        }
                        Err(crate::Error::NotFound { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            })?;
            self.unlink_unreferenced(&freed)?;
        }
        Ok(report)
    }

    pub(crate) fn expired(&self, now: OffsetDateTime) -> Result<Vec<String>> {
        self.index.run(|c| index::expired(c, now))
    }
}

/// What `verify` finds of a sidecar.
enum SidecarState {
    Sound,
    Missing,
    Unreadable,
    /// Its media was deleted meanwhile.
    Gone,
}

/// For `x.png.meta`, `x.png`.
fn media_of_sidecar(rel: &Path) -> Option<PathBuf> {
    let name = rel.file_name()?.as_encoded_bytes();
    let stem = name.strip_suffix(META_SUFFIX.as_bytes())?;
    let stem = std::str::from_utf8(stem).ok()?;
    Some(rel.with_file_name(stem))
}

fn sidecar_path(row: &MediaRow) -> PathBuf {
    PathBuf::from(sidecar_location(&row.location))
}

fn ref_string(id: &str) -> Option<String> {
    naming::reference_for(id)
        .ok()
        .map(|r: StorageReference| r.to_string())
}
