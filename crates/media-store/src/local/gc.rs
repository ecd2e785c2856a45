//! Garbage collection of what interrupted or foreign writes leave behind.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::FileStore;
use super::index::walk_files;
use super::ops::{Inner, rel_string};
use super::paths::{MEDIA_DIR, META_SUFFIX, OBJECTS_DIR, REFS_DIR, TEMP_PREFIX, check_relative};
use super::records::{
    MediaSidecar, ObjectRecord, RefRecord, SidecarReference, read_json, remove_if_exists,
    sidecar_path, write_json,
};
use crate::lifecycle::{GcOptions, GcReport};
use crate::{Error, Result};

impl FileStore {
    /// Removes what interrupted writes (crashes, killed processes) or
    /// outside hands left behind, holding the store lock throughout:
    /// stale temporary files, media without sidecar, sidecars without media,
    /// sidecar entries without reference record, reference records whose media
    /// is gone, dedup records pointing nowhere, and empty directories. With
    /// `dry_run` it only reports.
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
            let report = collect(inner, options)?;
            if !options.dry_run && !report.is_clean() {
                inner.invalidate()?;
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

fn collect(inner: &Inner, options: GcOptions) -> Result<GcReport> {
    let apply = !options.dry_run;
    let fsync = inner.config.fsync;
    let mut report = GcReport {
        dry_run: options.dry_run,
        ..GcReport::default()
    };
    let remove = |p: &Path| if apply { remove_if_exists(p) } else { Ok(()) };

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
        if !sidecars.contains_key(&sidecar_path(&media)) {
            report.freed_bytes += fs::symlink_metadata(&media).map(|m| m.len()).unwrap_or(0);
            remove(&media)?;
            report.orphan_media.push(media);
        }
    }

    // 2. Sidecars: orphans, and entries without a reference record.
    let mut live: HashMap<PathBuf, MediaSidecar> = HashMap::new(); // rel media path -> sidecar
    for (sidecar_file, media) in sidecars {
        if fs::symlink_metadata(&media).is_err() {
            remove(&sidecar_file)?;
            report.orphan_sidecars.push(sidecar_file);
            continue;
        }
        let Ok(Some(mut sidecar)) = read_json::<MediaSidecar>(&sidecar_file) else {
            report.unreadable_sidecars.push(sidecar_file);
            continue;
        };
        let before = sidecar.references.clone();
        for r in &before {
            if !inner.ref_path(&r.id).is_file() {
                sidecar.remove(&r.id);
                report.pruned_references.push(r.id.clone());
            }
        }
        let Ok(rel) = media.strip_prefix(&inner.base).map(Path::to_path_buf) else {
            continue;
        };
        if sidecar.references.is_empty() {
            report.freed_bytes += sidecar.size_bytes;
            remove(&media)?;
            remove(&sidecar_file)?;
            report.orphan_media.push(media);
            continue;
        }
        if apply && sidecar.references.len() != before.len() {
            write_json(&sidecar_file, &sidecar, fsync)?;
        }
        live.insert(rel, sidecar);
    }

    // 3. Reference records: dangling ones go, unlisted ones are re-added.
    let refs_dir = inner.state_dir().join(REFS_DIR);
    for file in walk_files(&refs_dir)? {
        if sweep_temp(&file, &options, &mut report)? {
            continue;
        }
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let Some(id) = name.strip_suffix(".json") else {
            continue;
        };
        let rec = read_json::<RefRecord>(&file).ok().flatten();
        let target = rec
            .as_ref()
            .and_then(|r| check_relative(&r.path).ok())
            .and_then(|rel| live.get_mut(&rel).map(|s| (rel, s)));
        match (rec, target) {
            (Some(rec), Some((rel, sidecar))) if sidecar.blake3 == rec.blake3 => {
                if !sidecar.references.iter().any(|r| r.id == id) {
                    sidecar.push(SidecarReference {
                        id: id.to_owned(),
                        mime_type: rec.mime_type.clone(),
                        owner: sidecar.owner.clone(),
                    });
                    if apply {
                        write_json(&sidecar_path(&inner.abs(&rel)), &*sidecar, fsync)?;
                    }
                    report.repaired_references.push(id.to_owned());
                }
            }
            _ => {
                remove(&file)?;
                report.dangling_references.push(id.to_owned());
            }
        }
    }

    // 4. Dedup records pointing at nothing live (or at other content).
    let live_paths: HashSet<String> = live
        .iter()
        .filter_map(|(rel, s)| rel_string(rel).ok().map(|p| (p, s)))
        .map(|(p, s)| format!("{}:{p}", s.blake3))
        .collect();
    for file in walk_files(&inner.state_dir().join(OBJECTS_DIR))? {
        if sweep_temp(&file, &options, &mut report)? {
            continue;
        }
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let hash = name.strip_suffix(".json").unwrap_or_default();
        let ok = read_json::<ObjectRecord>(&file)
            .ok()
            .flatten()
            .is_some_and(|o| live_paths.contains(&format!("{hash}:{}", o.path)));
        if !ok {
            remove(&file)?;
            report.stale_object_records.push(file);
        }
    }

    // 5. Temp files of the store's own small records (the generation counter).
    let state = inner.state_dir();
    let entries = fs::read_dir(&state).map_err(|e| Error::io(&state, e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io(&state, e))?.path();
        if path.is_file() {
            sweep_temp(&path, &options, &mut report)?;
        }
    }

    if apply {
        remove_empty_dirs(&inner.base.join(MEDIA_DIR), true)?;
    }
    for v in [
        &mut report.stale_temp_files,
        &mut report.orphan_media,
        &mut report.orphan_sidecars,
        &mut report.stale_object_records,
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
    Ok(report)
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
