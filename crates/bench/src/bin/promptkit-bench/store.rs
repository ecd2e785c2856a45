//! Store throughput: `FileStore` (BLAKE3 hash + atomic write, fsync off)
//! against a plain `std::fs::write` of the same bytes, in one run,
//! interleaved; dedup hits; retrieves against `std::fs::read`.

use std::time::Instant;

use promptkit_bench::images::ImagePool;
use promptkit_bench::stats::{Samples, fmt_duration, mib_per_sec};
use promptkit_media_store::{FileStore, MediaMetadata, MediaStore, MediaStoreExt};

use crate::report::{Section, verdict};

/// Target: store p50 / (p50 of the two writes a store cannot avoid: the
/// media and its sidecar, with `std::fs::write`).
const TARGET_RATIO: f64 = 1.3;
/// Target: a dedup hit costs at most BLAKE3 of the bytes plus this.
const DEDUP_OVERHEAD: std::time::Duration = std::time::Duration::from_micros(50);
/// A sidecar of the size the store writes.
const SIDECAR: &[u8] = br#"{
  "version": 3,
  "file": "0123456789abcdef0123456789abcdef.png",
  "mime_type": "image/png",
  "size_bytes": 1048576,
  "blake3": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  "deduplicated": true,
  "conversation_id": "store",
  "session_id": "bench",
  "run_id": null,
  "user_id": null,
  "message_index": null,
  "part_index": null,
  "provider_id": null,
  "retention_policy": "retain",
  "created_at": "2026-12-06T00:00:00.000000000Z"
}"#;
/// Unrecorded first iterations of each size.
const WARM_UP: usize = 5;

fn timed<T>(f: impl FnOnce() -> T) -> (T, std::time::Duration) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed())
}

pub(crate) async fn bench(quick: bool) -> Result<Section, String> {
    let mut s = Section::new(
        "Store throughput (FileStore, fsync off, dedup on)",
        &[
            "item",
            "operation",
            "n",
            "p50",
            "p90",
            "mean",
            "MiB/s (p50)",
            "ratio to fs (p50)",
        ],
    );
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = FileStore::builder()
        .with_base_dir(dir.path().join("store"))
        .with_fsync(false)
        .build()
        .map_err(|e| e.to_string())?;
    let meta = MediaMetadata::new()
        .with_session("bench")
        .with_conversation("store");
    // The baselines write into the folder the store writes into (same
    // directory, same file system block group): found with a first store.
    let probe = store
        .store_bytes("image/png", "probe".into(), &meta)
        .await
        .map_err(|e| e.to_string())?;
    let plain = store
        .path_of(&probe)
        .await
        .map_err(|e| e.to_string())?
        .parent()
        .ok_or("the store's media folder")?
        .to_owned();
    store.delete(&probe).await.map_err(|e| e.to_string())?;
    let mut ratios = Vec::new();
    for (label, size, n) in [
        ("100 KiB", 100 * 1024, 300),
        ("1 MiB", 1024 * 1024, 150),
        ("5 MiB", 5 * 1024 * 1024, 40),
    ] {
        let n = if quick { n / 5 } else { n };
        eprintln!("store: {label} x {n}");
        // Start each size with no dirty pages left by earlier sections (the
        // memory section writes gigabytes): writeback throttling would land
        // on whichever write happens to trigger it.
        let _ = std::process::Command::new("sync").status();
        let pool = ImagePool::new(size, size as u64);
        let items: Vec<_> = (0..(n + WARM_UP) as u64).map(|i| pool.image(i)).collect();
        let (mut st, mut fsw, mut afsw, mut dedup, mut get, mut fsr, mut hop) = (
            Samples::new(),
            Samples::new(),
            Samples::new(),
            Samples::new(),
            Samples::new(),
            Samples::new(),
            Samples::new(),
        );
        let mut refs = Vec::with_capacity(n);
        for (i, data) in items.iter().enumerate() {
            if i == WARM_UP {
                // The first stores and writes only warm caches up.
                st = Samples::new();
                fsw = Samples::new();
                afsw = Samples::new();
            }
            let path = plain_path(&plain, label, i, "");
            // Alternate which goes first so cache and disk effects hit both.
            let order = i % 2 == 0;
            let two_writes = || {
                std::fs::write(&path, data)?;
                std::fs::write(plain_path(&plain, label, i, ".meta"), SIDECAR)
            };
            if order {
                let (r, d) = timed(two_writes);
                r.map_err(|e| e.to_string())?;
                fsw.push(d);
            }
            let t = Instant::now();
            let r = store
                .store_bytes("image/png", data.clone(), &meta)
                .await
                .map_err(|e| e.to_string())?;
            st.push(t.elapsed());
            if !order {
                let (r, d) = timed(two_writes);
                r.map_err(|e| e.to_string())?;
                fsw.push(d);
            }
            refs.push(r);
            // The same write through tokio: one hand-off to the blocking
            // pool and back, as every async file API makes.
            let t = Instant::now();
            tokio::fs::write(plain_path(&plain, label, i, "-async"), data.clone())
                .await
                .map_err(|e| e.to_string())?;
            afsw.push(t.elapsed());
            // The hand-off alone: to the blocking pool and back, no work.
            let t = Instant::now();
            tokio::task::spawn_blocking(|| ())
                .await
                .map_err(|e| e.to_string())?;
            hop.push(t.elapsed());
        }
        for (i, data) in items.iter().enumerate().skip(WARM_UP) {
            let t = Instant::now();
            let r = store
                .store_bytes("image/png", data.clone(), &meta)
                .await
                .map_err(|e| e.to_string())?;
            dedup.push(t.elapsed());
            refs.push(r);
            let t = Instant::now();
            let got = store
                .retrieve_bytes(&refs[i])
                .await
                .map_err(|e| e.to_string())?;
            get.push(t.elapsed());
            if got.len() != size {
                return Err(format!("retrieved {} bytes, stored {size}", got.len()));
            }
            let path = plain_path(&plain, label, i, "");
            let (r, d) = timed(|| std::fs::read(&path));
            r.map_err(|e| e.to_string())?;
            fsr.push(d);
        }
        let mut hash = Samples::new();
        for data in items.iter().skip(WARM_UP) {
            let (h, d) = timed(|| blake3::hash(data));
            std::hint::black_box(h);
            hash.push(d);
        }
        let fs_p50 = fsw.percentile(50.0);
        let fsr_p50 = fsr.percentile(50.0);
        let ratio = st.percentile(50.0).as_secs_f64() / fs_p50.as_secs_f64().max(1e-12);
        let vs_async =
            st.percentile(50.0).as_secs_f64() / afsw.percentile(50.0).as_secs_f64().max(1e-12);
        let hash_p50 = hash.percentile(50.0);
        let dedup_p50 = dedup.percentile(50.0);
        ratios.push((
            label,
            ratio,
            vs_async,
            hash_p50,
            dedup_p50,
            hop.percentile(50.0),
        ));
        for (op, samples, base) in [
            ("std::fs::write media + sidecar", &mut fsw, None),
            ("tokio::fs::write", &mut afsw, Some(fs_p50)),
            ("spawn_blocking hop (no work)", &mut hop, Some(fs_p50)),
            ("BLAKE3 hash only", &mut hash, Some(fs_p50)),
            ("store (new bytes)", &mut st, Some(fs_p50)),
            ("store (dedup hit)", &mut dedup, Some(fs_p50)),
            ("std::fs::read", &mut fsr, None),
            ("retrieve", &mut get, Some(fsr_p50)),
        ] {
            let p50 = samples.percentile(50.0);
            s.row(vec![
                label.to_owned(),
                op.to_owned(),
                samples.len().to_string(),
                fmt_duration(p50),
                fmt_duration(samples.percentile(90.0)),
                fmt_duration(samples.mean()),
                format!("{:.0}", mib_per_sec(size as u64, p50)),
                base.map_or("1.00 (baseline)".into(), |b| {
                    format!("{:.2}", p50.as_secs_f64() / b.as_secs_f64().max(1e-12))
                }),
            ]);
        }
        // Keep the disk from filling between sizes.
        for r in refs.drain(..) {
            store.delete(&r).await.map_err(|e| e.to_string())?;
        }
        for i in 0..items.len() {
            for kind in ["", "-async", ".meta"] {
                let _ = std::fs::remove_file(plain_path(&plain, label, i, kind));
            }
        }
    }
    many_references(&mut s, &store, quick).await?;
    s.note("The baseline `std::fs::write media + sidecar` is the two plain writes a store cannot avoid (the media and a sidecar of the size the store writes, in the folder the store writes into). `tokio::fs::write` is the media write made from async code: one hand-off to the blocking pool and back, which every async store pays too; on a VM each wake-up of a parked thread costs tens of µs. `spawn_blocking hop (no work)` is that hand-off alone.");
    s.note("`store (new bytes)` = validate + one hop to the blocking pool + BLAKE3 + a write transaction that finds no such content + a media temp file + one write transaction (rename the media, write its sidecar, insert two rows); `store (dedup hit)` = the hop + BLAKE3 + one write transaction (lookup, insert the reference row), no file written; `retrieve` = an index lookup + read + BLAKE3 check (compare with `std::fs::read`).");
    s.note("`dedup hit, N existing refs`: the same 4 KiB bytes stored again while N references to them exist (each timed hit is deleted again, untimed, so N stays put); the ratio column compares with N = 1.");
    for (label, r, vs_async, hash_p50, dedup_p50, hop_p50) in ratios {
        s.note(format!(
            "target store/(media + sidecar writes) ≤ {TARGET_RATIO} at {label}: {r:.2} → {} (store/tokio::fs::write: {vs_async:.2})",
            verdict(r <= TARGET_RATIO)
        ));
        s.note(format!(
            "target dedup hit ≤ BLAKE3 + 50 µs at {label}: {} ≤ {} + 50 µs → {} (of it, the hop to the blocking pool and back: {})",
            fmt_duration(dedup_p50),
            fmt_duration(hash_p50),
            verdict(dedup_p50 <= hash_p50 + DEDUP_OVERHEAD),
            fmt_duration(hop_p50)
        ));
    }
    Ok(s)
}

/// Where a baseline writes item `i` in the store's media folder (`kind`:
/// "" for `std::fs::write`, "-async" for `tokio::fs::write`).
fn plain_path(plain: &std::path::Path, label: &str, i: usize, kind: &str) -> std::path::PathBuf {
    plain.join(format!("plain-{label}-{i}{kind}.png"))
}

/// Dedup hits on content with 1 and with 10,000 (quick: 2,000) existing
/// references: one row each.
async fn many_references(s: &mut Section, store: &FileStore, quick: bool) -> Result<(), String> {
    let many = if quick { 2_000 } else { 10_000 };
    let n = if quick { 40 } else { 200 };
    let logo = ImagePool::new(4096, 4096).image(0);
    let meta = MediaMetadata::new()
        .with_session("bench")
        .with_conversation("logo");
    let mut held = Vec::with_capacity(many);
    let mut base = None;
    for existing in [1, many] {
        eprintln!("store: dedup hits with {existing} existing references");
        while held.len() < existing {
            let r = store
                .store_bytes("image/png", logo.clone(), &meta)
                .await
                .map_err(|e| e.to_string())?;
            held.push(r);
        }
        let mut hits = Samples::new();
        for _ in 0..n {
            let t = Instant::now();
            let r = store
                .store_bytes("image/png", logo.clone(), &meta)
                .await
                .map_err(|e| e.to_string())?;
            hits.push(t.elapsed());
            store.delete(&r).await.map_err(|e| e.to_string())?;
        }
        let p50 = hits.percentile(50.0);
        let b = *base.get_or_insert(p50);
        s.row(vec![
            "4 KiB".to_owned(),
            format!(
                "store (dedup hit, {existing} existing ref{})",
                if existing == 1 { "" } else { "s" }
            ),
            hits.len().to_string(),
            fmt_duration(p50),
            fmt_duration(hits.percentile(90.0)),
            fmt_duration(hits.mean()),
            format!("{:.0}", mib_per_sec(4096, p50)),
            format!("{:.2}", p50.as_secs_f64() / b.as_secs_f64().max(1e-12)),
        ]);
    }
    for r in held {
        store.delete(&r).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}
