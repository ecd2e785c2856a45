//! Stores as the code before sidecar format 2 wrote them: version 1
//! sidecars listing every live reference (`ref_count`, `references`, each
//! entry the reference's id, MIME type and owner fields), and version 1
//! journal records without owner fields.

// Each test binary including this module uses a part of it.
#![allow(dead_code)]

use std::path::Path;

use promptkit_media_store::local::StoredObject;
use serde_json::{Value, json};

/// The owner fields a version 2 journal record adds.
const OWNER_FIELDS: [&str; 9] = [
    "conversation_id",
    "session_id",
    "run_id",
    "user_id",
    "message_index",
    "part_index",
    "provider_id",
    "retention_policy",
    "created_at",
];

/// Rewrites the sidecar of every listed file as version 1, listing its
/// live references with their owners.
pub fn downgrade_sidecars(objects: &[StoredObject]) {
    for o in objects {
        let file = format!("{}.meta", o.path.display());
        let mut j: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let refs: Vec<Value> = o
            .live_references
            .iter()
            .map(|r| {
                let mut e = serde_json::to_value(&r.owner).unwrap();
                e["id"] = json!(r.id);
                e["mime_type"] = json!(r.mime_type);
                e
            })
            .collect();
        j["version"] = json!(1);
        j["ref_count"] = json!(refs.len());
        j["references"] = Value::Array(refs);
        std::fs::write(&file, serde_json::to_vec_pretty(&j).unwrap()).unwrap();
    }
}

/// Rewrites the journal's records as version 1: `"v":1`, no owner fields.
pub fn downgrade_journal(dir: &Path) {
    let path = dir.join(".promptkit/journal");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        let o = v.as_object_mut().unwrap();
        for f in OWNER_FIELDS {
            o.remove(f);
        }
        o.insert("v".into(), json!(1));
        out.push_str(&serde_json::to_string(&v).unwrap());
        out.push('\n');
    }
    std::fs::write(&path, out).unwrap();
}

/// Whether every `add` record of the journal carries an owner.
pub fn journal_has_owners(dir: &Path) -> bool {
    let text = std::fs::read_to_string(dir.join(".promptkit/journal")).unwrap();
    text.lines().all(|l| {
        let v: Value = serde_json::from_str(l).unwrap();
        v["op"] != "add" || (v["v"] == 2 && v["created_at"].is_string())
    })
}
