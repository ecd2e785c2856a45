//! Garbage collection of what interrupted or foreign writes leave behind.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::FileStore;
use super::index::walk_files;
use super::ops::{Inner, rel_string};
use super::owners::JournalRef;
use super::paths::{MEDIA_DIR, META_SUFFIX, TEMP_PREFIX};
use super::records::{
    FORMAT_VERSION, LegacyReferences, MediaSidecar, read_json, remove_if_exists, write_json,
};
use crate::lifecycle::{GcOptions, GcReport};
use crate::{Error, Result};

impl FileStore {
    /// Removes what interrupted writes (crashes, killed processes) or
    /// outside hands left behind, holding the store lock throughout:
    /// stale temporary files, media without sidecar, sidecars without media,
    /// media and sidecar that no journal record references, journal records
    /// whose media is gone, and empty directories; then it compacts the
    /// journal. With `dry_run` it only reports.
    ///
    /// It also finishes the move of owners out of version 1 sidecars: the
    /// compaction writes into journal records without owner the owner their
    /// sidecar lists, then each version 1 sidecar is rewritten as version 2
    /// (without its `references` list). Entries of such a list without a
    /// live journal record are reported in `pruned_references`, live
    /// records it did not list (given the sidecar's owner) in
    /// `repaired_references`; both stay empty for version 2 sidecars, which
    /// list no references.
    ///
    /// In the report, `stale_object_records` stays empty: the dedup map is
    /// derived from the journal, there are no dedup records to go stale.
    /// A journal line that is not a record makes `gc` fail with
    /// [`Error::Corrupt`] naming the line, changing nothing.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use promptkit_media_store::local::GcOptions;
    /// use promptkit_media_store::FileStore;
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
    /// std::fs::write(dir.path().join("media/stray.png"), b"no sidecar").unwrap();
    /// let report = store.gc(GcOptions::new(true)).await.unwrap();
    /// assert_eq!(report.orphan_media.len(), 1);
    /// assert!(dir.path().join("media/stray.png").exists(), "dry run keeps it");
    /// store.gc(GcOptions::new(false)).await.unwrap();
    /// assert!(!dir.path().join("media/stray.png").exists());
    /// # }
    /// ```
    pub async fn gc(&self, options: GcOptions) -> Result<GcReport> {
        self.mutate(move |inner| {
            let (report, dangling, upgrade) = collect(inner, options)?;
            if !options.dry_run {
                // Owners first into the journal, then out of the sidecars.
                inner.compact(&dangling)?;
                for (file, sidecar) in upgrade {
                    write_json(&file, &sidecar, inner.config.fsync)?;
                }
                inner.forget_dirs();
                if !report.is_clean() {
                    inner.invalidate();
                }
            }
            Ok(report)
        })
        .await
    }
}

fn is_stale(path: &Path, options: &GcOptions) -> bool {
    fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|modified| options.is_stale(OffsetDateTime::from(modified)))
}

/// Handles one of the store's temporary files (`.pk-tmp-*`): removes it
/// (unless this is a dry run) and reports it when it is stale. Returns whether
/// `file` is a temporary file at all.
fn sweep_temp(file: &Path, options: &GcOptions, report: &mut GcReport) -> Result<bool> {
    let is_temp = file
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(TEMP_PREFIX));
    if is_temp && is_stale(file, options) {
        if !options.dry_run {
            remove_if_exists(file)?;
        }
        report.stale_temp_files.push(file.to_path_buf());
    }
    Ok(is_temp)
}

/// Version 1 sidecars to rewrite as version 2, once the journal holds the
/// owners they list.
type Upgrades = Vec<(PathBuf, MediaSidecar)>;

/// Cleans up (unless dry run) and reports; returns the ids of the journal
/// records to drop (their media is gone) and the sidecars to upgrade.
fn collect(inner: &Inner, options: GcOptions) -> Result<(GcReport, Vec<String>, Upgrades)> {
    let apply = !options.dry_run;
    let mut upgrade = Vec::new();
    let mut report = GcReport {
        dry_run: options.dry_run,
        ..GcReport::default()
    };
    let remove = |p: &Path| if apply { remove_if_exists(p) } else { Ok(()) };
    // Live journal records (with their owners), by media path.
    let journal = super::owners::by_path(inner)?;
    let refs: HashMap<&str, &JournalRef> = journal
        .values()
        .flatten()
        .map(|r| (r.id.as_str(), r))
        .collect();

    // 1. Media directory: temp files, media/sidecar pairs.
    let mut sidecars: HashMap<PathBuf, PathBuf> = HashMap::new(); // sidecar -> media
    let mut media_files = Vec::new();
    for file in walk_files(&inner.base.join(MEDIA_DIR))? {
        if sweep_temp(&file, &options, &mut report)? {
            continue;
        }
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(media_name) = name.strip_suffix(META_SUFFIX) {
            sidecars.insert(file.clone(), file.with_file_name(media_name));
        } else {
            media_files.push(file);
        }
    }
    for media in media_files {
        if !sidecars.contains_key(&super::records::sidecar_path(&media)) {
            report.freed_bytes += fs::symlink_metadata(&media).map(|m| m.len()).unwrap_or(0);
            remove(&media)?;
            report.orphan_media.push(media);
        }
    }

    // 2. Sidecars: orphans; media that no journal record (with the same
    // hash) points at; version 1 sidecars to upgrade.
    let mut accepted: HashSet<&str> = HashSet::new(); // ids whose media is live
    for (sidecar_file, media) in sidecars {
        if fs::symlink_metadata(&media).is_err() {
            remove(&sidecar_file)?;
            report.orphan_sidecars.push(sidecar_file);
            continue;
        }
        let rel = media
            .strip_prefix(&inner.base)
            .ok()
            .and_then(|r| rel_string(r).ok())
            .unwrap_or_default();
        let records = journal.get(rel.as_str()).map_or(&[][..], Vec::as_slice);
        let Ok(Some(sidecar)) = read_json::<MediaSidecar>(&sidecar_file) else {
            // Left alone, and so are the references to it.
            accepted.extend(records.iter().map(|r| r.id.as_str()));
            report.unreadable_sidecars.push(sidecar_file);
            continue;
        };
        let live: Vec<&str> = records
            .iter()
            .filter(|r| r.rec.blake3 == sidecar.blake3)
            .map(|r| r.id.as_str())
            .collect();
        accepted.extend(live.iter().copied());
        if live.is_empty() {
            report.freed_bytes += sidecar.size_bytes;
            remove(&media)?;
            remove(&sidecar_file)?;
            report.orphan_media.push(media);
            continue;
        }
        if sidecar.version < FORMAT_VERSION {
            let listed = read_json::<LegacyReferences>(&sidecar_file)
                .ok()
                .flatten()
                .unwrap_or_default();
            let listed: HashSet<String> = listed.references.into_iter().map(|r| r.id).collect();
            let live_set: HashSet<&str> = live.iter().copied().collect();
            for id in &listed {
                if !live_set.contains(id.as_str()) {
                    report.pruned_references.push(id.clone());
                }
            }
            for id in &live {
                if refs[*id].owner.is_none() && !listed.contains(*id) {
                    report.repaired_references.push((*id).to_owned());
                }
            }
            upgrade.push((
                sidecar_file,
                MediaSidecar {
                    version: FORMAT_VERSION,
                    ..sidecar
                },
            ));
        }
    }

    // 3. Journal records whose media is gone (or is other content).
    let dangling: Vec<String> = refs
        .keys()
        .filter(|id| !accepted.contains(*id))
        .map(|id| (*id).to_owned())
        .collect();
    report.dangling_references.extend(dangling.iter().cloned());

    // 4. Temp files of the store's own state (journal compaction), and
    // leftovers of the legacy record directories.
    let state = inner.state_dir();
    for file in walk_files(&state)? {
        sweep_temp(&file, &options, &mut report)?;
    }

    if apply {
        remove_empty_dirs(&inner.base.join(MEDIA_DIR), true)?;
    }
    for v in [
        &mut report.stale_temp_files,
        &mut report.orphan_media,
        &mut report.orphan_sidecars,
        &mut report.unreadable_sidecars,
    ] {
        v.sort();
    }
    for v in [
        &mut report.pruned_references,
        &mut report.dangling_references,
        &mut report.repaired_references,
    ] {
        v.sort();
    }
    Ok((report, dangling, upgrade))
}

/// Removes empty directories below `dir` (and `dir` itself unless `keep`).
fn remove_empty_dirs(dir: &Path, keep: bool) -> Result<bool> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut empty = true;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if !(is_dir && remove_empty_dirs(&entry.path(), false)?) {
            empty = false;
        }
    }
    if empty && !keep {
        // A concurrent store may have just created a file here: then the
        // directory is not empty and stays.
        return Ok(fs::remove_dir(dir).is_ok());
    }
    Ok(empty)
}
