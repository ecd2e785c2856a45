//! Reading a test store's journal the way a replay does.

use std::collections::BTreeMap;
use std::path::Path;

/// Live journal references of the store in `dir`, reference id -> media
/// path (a replay of `.promptkit/journal`; an incomplete last line, as a
/// killed writer leaves it, is ignored; no journal: none).
pub fn journal_refs(dir: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir.join(".promptkit/journal")).unwrap_or_default();
    let mut live = BTreeMap::new();
    for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap().to_owned();
        match v["op"].as_str().unwrap() {
            "add" => {
                live.insert(id, v["path"].as_str().unwrap().to_owned());
            }
            "remove" => {
                live.remove(&id);
            }
            op => panic!("unknown journal op {op}"),
        }
    }
    live
}

/// Live journal references to the media file `media`, sorted by id, after
/// checking that its sidecar is in format 2 (which lists no references).
#[allow(dead_code)] // Not every test that replays the journal looks at one file.
pub fn refs_to(media: &Path) -> Vec<String> {
    let text = std::fs::read(format!("{}.meta", media.display())).unwrap();
    let sidecar: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(sidecar["version"], 2, "{}", media.display());
    assert!(sidecar.get("references").is_none() && sidecar.get("ref_count").is_none());
    let dir = media
        .ancestors()
        .find(|d| d.join(".promptkit").is_dir())
        .unwrap();
    let rel = media.strip_prefix(dir).unwrap().to_string_lossy();
    journal_refs(dir)
        .into_iter()
        .filter(|(_, p)| *p == rel)
        .map(|(id, _)| id)
        .collect()
}
