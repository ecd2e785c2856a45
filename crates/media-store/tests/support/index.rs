//! Reading a test store's index database directly (read-only), the way an
//! outside tool would.

use std::collections::BTreeMap;
use std::path::Path;

/// Live references of the store in `dir`: reference id -> media location
/// (relative to `dir`). No index yet: none.
pub fn live_refs(dir: &Path) -> BTreeMap<String, String> {
    let db = dir.join(".promptkit/index.sqlite3");
    if !db.exists() {
        return BTreeMap::new();
    }
    let conn = rusqlite::Connection::open_with_flags(
        &db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    if version == 0 {
        return BTreeMap::new(); // created, schema not yet committed
    }
    let mut st = conn.prepare("SELECT id, location FROM refs").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// Live references to the media file `media` (an absolute path), sorted by id.
#[allow(dead_code)] // Not every test looks at one file.
pub fn refs_to(media: &Path) -> Vec<String> {
    let dir = media
        .ancestors()
        .find(|d| d.join(".promptkit").is_dir())
        .unwrap();
    let rel = media.strip_prefix(dir).unwrap().to_string_lossy();
    live_refs(dir)
        .into_iter()
        .filter(|(_, p)| *p == rel)
        .map(|(id, _)| id)
        .collect()
}
