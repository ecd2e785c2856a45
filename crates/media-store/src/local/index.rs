//! The local store's index: one SQLite database (`.promptkit/index.sqlite3`,
//! WAL) holding every stored media file and every reference with its owners.
//! It is the one source of truth: sidecars only describe files for people
//! and tools.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior};
use time::OffsetDateTime;

use crate::reports::{StoredReference, expiry};
use crate::{Error, MediaMetadata, Result, RetentionPolicy, StorageStats, TypeStats};

/// Schema version (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 2;

/// How long a statement waits for another process's write transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

const SCHEMA: &str = "
CREATE TABLE media (
    location  TEXT PRIMARY KEY,
    blake3    TEXT NOT NULL,
    size      INTEGER NOT NULL,
    mime_type TEXT NOT NULL,
    dedup     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX media_content ON media(size, blake3) WHERE dedup = 1;
CREATE TABLE refs (
    id              TEXT PRIMARY KEY,
    location        TEXT NOT NULL REFERENCES media(location),
    mime_type       TEXT NOT NULL,
    size            INTEGER NOT NULL,
    conversation_id TEXT,
    session_id      TEXT,
    run_id          TEXT,
    user_id         TEXT,
    message_index   INTEGER,
    part_index      INTEGER,
    provider_id     TEXT,
    policy          TEXT NOT NULL,
    explicit_policy INTEGER NOT NULL,
    created_ns      INTEGER NOT NULL,
    expires_ns      INTEGER
) WITHOUT ROWID;
CREATE INDEX refs_location ON refs(location);
CREATE TABLE totals (
    dimension TEXT NOT NULL,
    key       TEXT NOT NULL,
    count     INTEGER NOT NULL,
    bytes     INTEGER NOT NULL,
    PRIMARY KEY (dimension, key)
) WITHOUT ROWID;
CREATE TRIGGER media_added AFTER INSERT ON media BEGIN
    INSERT INTO totals VALUES ('objects', '', 1, NEW.size)
        ON CONFLICT DO UPDATE SET count = count + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER media_removed AFTER DELETE ON media BEGIN
    UPDATE totals SET count = count - 1, bytes = bytes - OLD.size
        WHERE dimension = 'objects' AND key = '';
END;
CREATE TRIGGER ref_added AFTER INSERT ON refs BEGIN
    INSERT INTO totals VALUES ('mime', NEW.mime_type, 1, NEW.size)
        ON CONFLICT DO UPDATE SET count = count + 1, bytes = bytes + excluded.bytes;
    INSERT INTO totals VALUES ('conversation', coalesce(NEW.conversation_id, '-'), 1, NEW.size)
        ON CONFLICT DO UPDATE SET count = count + 1, bytes = bytes + excluded.bytes;
    INSERT INTO totals VALUES ('session', coalesce(NEW.session_id, '-'), 1, NEW.size)
        ON CONFLICT DO UPDATE SET count = count + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER ref_removed AFTER DELETE ON refs BEGIN
    UPDATE totals SET count = count - 1, bytes = bytes - OLD.size
        WHERE (dimension, key) IN (VALUES ('mime', OLD.mime_type),
            ('conversation', coalesce(OLD.conversation_id, '-')),
            ('session', coalesce(OLD.session_id, '-')));
    DELETE FROM totals WHERE count = 0 AND dimension <> 'objects';
END;
CREATE INDEX refs_conversation ON refs(conversation_id) WHERE policy = 'delete-with-conversation';
CREATE INDEX refs_expiry ON refs(expires_ns) WHERE expires_ns IS NOT NULL;
";

/// One stored media file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MediaRow {
    pub(crate) location: String,
    pub(crate) blake3: String,
    pub(crate) size: u64,
    pub(crate) mime_type: String,
    pub(crate) dedup: bool,
}

impl MediaRow {
    /// The sidecar of this file, first stored with `metadata` under
    /// `policy` at `created`.
    pub(crate) fn sidecar(
        &self,
        metadata: &MediaMetadata,
        policy: RetentionPolicy,
        created: OffsetDateTime,
    ) -> Result<Vec<u8>> {
        let metadata = MediaMetadata {
            policy: Some(policy),
            ..metadata.clone()
        };
        crate::MediaSidecar::new(&self.blake3, &self.mime_type, self.size, created, metadata)
            .to_json()
    }
}

/// One reference to be recorded.
pub(crate) struct NewRef<'a> {
    pub(crate) id: &'a str,
    pub(crate) location: &'a str,
    pub(crate) mime_type: &'a str,
    pub(crate) size: u64,
    pub(crate) metadata: &'a MediaMetadata,
    pub(crate) policy: RetentionPolicy,
    pub(crate) created: OffsetDateTime,
}

/// The open database.
pub(crate) struct Index {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("path", &self.path).finish()
    }
}

impl Index {
    /// Opens (creating when `!read_only`) the database at `path`. A read-only
    /// index never writes: not even the WAL's shared-memory file when the
    /// folder cannot take it.
    pub(crate) fn open(path: &Path, read_only: bool, fsync: bool) -> Result<Index> {
        let conn = if read_only {
            open_read_only(path)?
        } else {
            open_writable(path, fsync).map_err(|e| db_err(path, e))?
        };
        check_version(&conn, path)?;
        Ok(Index {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the connection leaves no half-done state:
        // an open transaction is rolled back when its guard drops.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` over the database outside an explicit transaction: reads,
    /// or one write statement, which commits by itself.
    pub(crate) fn run<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        self.with(|c| f(c).map_err(|e| db_err(&self.path, e)))
    }

    /// [`run`](Self::run) for work that also does more than database calls.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.conn())
    }

    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE`: it holds the
    /// database's write lock, across processes, from its start), committed
    /// when `f` succeeds and rolled back when it fails.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_err(&self.path, e))?;
        let out = f(&tx)?;
        tx.commit().map_err(|e| db_err(&self.path, e))?;
        Ok(out)
    }

    /// Maps a database error of this index.
    pub(crate) fn err(&self, e: rusqlite::Error) -> Error {
        db_err(&self.path, e)
    }

    /// Checks the database's integrity (`PRAGMA quick_check`).
    pub(crate) fn check_integrity(&self) -> Result<()> {
        let problems: Vec<String> = self.run(|c| {
            let mut st = c.prepare("PRAGMA quick_check")?;
            st.query_map([], |r| r.get(0))?.collect()
        })?;
        if problems.len() == 1 && problems[0] == "ok" {
            Ok(())
        } else {
            Err(Error::Corrupt {
                reference: self.path.display().to_string(),
                message: problems.join("; "),
            })
        }
    }
}

fn open_read_only(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_NOFOLLOW
        | OpenFlags::SQLITE_OPEN_URI;
    if !path.is_file() {
        return Err(Error::NotFound {
            reference: format!("{} (no media store index here)", path.display()),
        });
    }
    let try_open = |uri: String| -> rusqlite::Result<Connection> {
        let c = Connection::open_with_flags(uri, flags)?;
        c.busy_timeout(BUSY_TIMEOUT)?;
        // Opening is lazy: touch the schema to find out now.
        c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?;
        Ok(c)
    };
    let uri = url::Url::from_file_path(path)
        .map_err(|()| Error::invalid("base_dir", format!("{} is not absolute", path.display())))?;
    try_open(format!("{uri}?mode=ro"))
        // A folder that cannot take the WAL's shared-memory file (a read-only
        // mount): read the database as an immutable file.
        .or_else(|_| try_open(format!("{uri}?immutable=1")))
        .map_err(|e| db_err(path, e))
}

fn open_writable(path: &Path, fsync: bool) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_NOFOLLOW;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Switching a new database to WAL can be refused as busy without the
    // busy timeout's wait (another process setting up the same database):
    // retried for as long as a statement would wait.
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        let set_up = conn
            .pragma_update(None, "journal_mode", "WAL")
            .and_then(|()| {
                let sync = if fsync { "FULL" } else { "OFF" };
                conn.pragma_update(None, "synchronous", sync)
            })
            .and_then(|()| migrate(&conn));
        match set_up {
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            set_up => return set_up.map(|()| conn),
        }
    }
}

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version != 0 {
        return Ok(());
    }
    // Another process may be creating the schema too: create it under the
    // write lock, only if still absent.
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let created = (|| {
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version == 0 {
            conn.execute_batch(SCHEMA)?;
            conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
        Ok(())
    })();
    match created {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn check_version(conn: &Connection, path: &Path) -> Result<()> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| db_err(path, e))?;
    if version != SCHEMA_VERSION {
        return Err(Error::Config(format!(
            "{}: index schema version {version}, this version of promptkit reads {SCHEMA_VERSION}",
            path.display()
        )));
    }
    Ok(())
}

/// Maps a database error: a damaged file is [`Error::Corrupt`], a busy
/// database a transient [`Error::Backend`].
pub(crate) fn db_err(path: &Path, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode as C;
    if let Some(C::DatabaseCorrupt | C::NotADatabase) = e.sqlite_error_code() {
        return Error::Corrupt {
            reference: path.display().to_string(),
            message: e.to_string(),
        };
    }
    let busy = is_busy(&e);
    Error::backend("local", format!("index {}", path.display()), busy, e)
}

/// Whether another connection holding the database made `e` (worth waiting
/// for, or retrying).
fn is_busy(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode as C;
    matches!(
        e.sqlite_error_code(),
        Some(C::DatabaseBusy | C::DatabaseLocked)
    )
}

fn nanos(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(if t.year() < 1970 {
        i64::MIN
    } else {
        i64::MAX
    })
}

fn from_nanos(n: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(n)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The dedup record of the bytes of `size` and hash `blake3`, if stored.
pub(crate) fn content(
    c: &Connection,
    size: u64,
    blake3: &str,
) -> rusqlite::Result<Option<MediaRow>> {
    c.prepare_cached(
        "SELECT location, blake3, size, mime_type, dedup FROM media
         WHERE size = ?1 AND blake3 = ?2 AND dedup = 1",
    )?
    .query_row(rusqlite::params![size as i64, blake3], media_row)
    .optional()
}

/// The media file at `location`.
pub(crate) fn media_at(c: &Connection, location: &str) -> rusqlite::Result<Option<MediaRow>> {
    c.prepare_cached(
        "SELECT location, blake3, size, mime_type, dedup FROM media WHERE location = ?1",
    )?
    .query_row([location], media_row)
    .optional()
}

/// Every media file, sorted by location.
pub(crate) fn all_media(c: &Connection) -> rusqlite::Result<Vec<MediaRow>> {
    c.prepare("SELECT location, blake3, size, mime_type, dedup FROM media ORDER BY location")?
        .query_map([], media_row)?
        .collect()
}

fn media_row(r: &Row<'_>) -> rusqlite::Result<MediaRow> {
    Ok(MediaRow {
        location: r.get(0)?,
        blake3: r.get(1)?,
        size: r.get::<_, i64>(2)? as u64,
        mime_type: r.get(3)?,
        dedup: r.get(4)?,
    })
}

pub(crate) fn insert_media(tx: &Transaction<'_>, m: &MediaRow) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO media (location, blake3, size, mime_type, dedup) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(rusqlite::params![
        m.location,
        m.blake3,
        m.size as i64,
        m.mime_type,
        m.dedup
    ])?;
    Ok(())
}

/// Records reference `r` if the media row at its location is (still)
/// there; whether it did.
pub(crate) fn insert_ref(c: &Connection, r: &NewRef<'_>) -> rusqlite::Result<bool> {
    let m = r.metadata;
    let inserted = c
        .prepare_cached(
            "INSERT INTO refs (id, location, mime_type, size, conversation_id, session_id, run_id,
                 user_id, message_index, part_index, provider_id, policy, explicit_policy,
                 created_ns, expires_ns)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15
             WHERE EXISTS (SELECT 1 FROM media WHERE location = ?2)",
        )?
        .execute(rusqlite::params![
            r.id,
            r.location,
            r.mime_type,
            r.size as i64,
            m.conversation_id,
            m.session_id,
            m.run_id,
            m.user_id,
            m.message_index,
            m.part_index,
            m.provider_id,
            r.policy.to_string(),
            m.policy.is_some(),
            nanos(r.created),
            expiry(r.policy, r.created).map(nanos),
        ])?;
    Ok(inserted == 1)
}

/// Removes reference `id`; returns its media row when it was the last
/// reference to it (the row is removed too), `Some(None)` when other
/// references remain, `None` when there was no such reference. Runs in a
/// write transaction (`tx`).
pub(crate) fn remove_ref(tx: &Connection, id: &str) -> rusqlite::Result<Option<Option<MediaRow>>> {
    let Some(location): Option<String> = tx
        .prepare_cached("DELETE FROM refs WHERE id = ?1 RETURNING location")?
        .query_row([id], |r| r.get(0))
        .optional()?
    else {
        return Ok(None);
    };
    Ok(Some(remove_media_if_unreferenced(tx, &location)?))
}

/// Removes the media row at `location` when no reference points to it.
fn remove_media_if_unreferenced(
    tx: &Connection,
    location: &str,
) -> rusqlite::Result<Option<MediaRow>> {
    let still: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM refs WHERE location = ?1)")?
        .query_row([location], |r| r.get(0))?;
    if still {
        return Ok(None);
    }
    let row = media_at(tx, location)?;
    tx.prepare_cached("DELETE FROM media WHERE location = ?1")?
        .execute([location])?;
    Ok(row)
}

/// Removes the media row at `location` and every reference to it; returns
/// the ids of those references. Runs in a write transaction (`tx`).
pub(crate) fn remove_location(tx: &Connection, location: &str) -> rusqlite::Result<Vec<String>> {
    let ids = tx
        .prepare_cached("DELETE FROM refs WHERE location = ?1 RETURNING id")?
        .query_map([location], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    tx.prepare_cached("DELETE FROM media WHERE location = ?1")?
        .execute([location])?;
    Ok(ids)
}

const REF_COLUMNS: &str = "r.id, r.location, m.blake3, r.mime_type, r.size, r.conversation_id,
    r.session_id, r.run_id, r.user_id, r.message_index, r.part_index, r.provider_id, r.policy,
    r.explicit_policy, r.created_ns";

/// What the index records about reference `id`.
pub(crate) fn reference(c: &Connection, id: &str) -> rusqlite::Result<Option<StoredReference>> {
    c.prepare_cached(&format!(
        "SELECT {REF_COLUMNS} FROM refs r JOIN media m ON m.location = r.location WHERE r.id = ?1"
    ))?
    .query_row([id], stored_reference)
    .optional()
}

/// The oldest reference to the media at `location`.
pub(crate) fn first_reference(
    c: &Connection,
    location: &str,
) -> rusqlite::Result<Option<StoredReference>> {
    c.prepare_cached(&format!(
        "SELECT {REF_COLUMNS} FROM refs r JOIN media m ON m.location = r.location
         WHERE r.location = ?1 ORDER BY r.created_ns, r.id LIMIT 1"
    ))?
    .query_row([location], stored_reference)
    .optional()
}

/// Every reference, sorted by location then id.
pub(crate) fn all_references(c: &Connection) -> rusqlite::Result<Vec<StoredReference>> {
    c.prepare(&format!(
        "SELECT {REF_COLUMNS} FROM refs r JOIN media m ON m.location = r.location
         ORDER BY r.location, r.id"
    ))?
    .query_map([], stored_reference)?
    .collect()
}

/// The references to the media at `location`, sorted by id.
pub(crate) fn references_at(c: &Connection, location: &str) -> rusqlite::Result<Vec<String>> {
    c.prepare_cached("SELECT id FROM refs WHERE location = ?1 ORDER BY id")?
        .query_map([location], |r| r.get(0))?
        .collect()
}

/// Ids of references whose retention ran out at `now`.
pub(crate) fn expired(c: &Connection, now: OffsetDateTime) -> rusqlite::Result<Vec<String>> {
    c.prepare("SELECT id FROM refs WHERE expires_ns IS NOT NULL AND expires_ns <= ?1 ORDER BY id")?
        .query_map([nanos(now)], |r| r.get(0))?
        .collect()
}

/// `(id, conversation_id)` of every `delete-with-conversation` reference.
pub(crate) fn with_conversation(c: &Connection) -> rusqlite::Result<Vec<(String, Option<String>)>> {
    c.prepare(
        "SELECT id, conversation_id FROM refs WHERE policy = 'delete-with-conversation' ORDER BY id",
    )?
    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

/// Ids of the `delete-with-conversation` references of one conversation.
pub(crate) fn of_conversation(c: &Connection, conversation: &str) -> rusqlite::Result<Vec<String>> {
    c.prepare(
        "SELECT id FROM refs WHERE policy = 'delete-with-conversation' AND conversation_id = ?1
         ORDER BY id",
    )?
    .query_map([conversation], |r| r.get(0))?
    .collect()
}

/// Ids of references whose media row is gone (none in a healthy index).
pub(crate) fn dangling(c: &Connection) -> rusqlite::Result<Vec<String>> {
    c.prepare(
        "SELECT id FROM refs WHERE NOT EXISTS (SELECT 1 FROM media m WHERE m.location = refs.location)",
    )?
    .query_map([], |r| r.get(0))?
    .collect()
}

fn stored_reference(r: &Row<'_>) -> rusqlite::Result<StoredReference> {
    let id: String = r.get(0)?;
    let reference = super::naming::reference_for(&id).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let policy_text: String = r.get(12)?;
    let policy: RetentionPolicy = policy_text.parse().map_err(|e: Error| {
        rusqlite::Error::FromSqlConversionFailure(12, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let explicit: bool = r.get(13)?;
    let metadata = MediaMetadata {
        conversation_id: r.get(5)?,
        session_id: r.get(6)?,
        run_id: r.get(7)?,
        user_id: r.get(8)?,
        message_index: r.get(9)?,
        part_index: r.get(10)?,
        provider_id: r.get(11)?,
        policy: explicit.then_some(policy),
    };
    Ok(StoredReference {
        reference,
        location: PathBuf::from(r.get::<_, String>(1)?),
        blake3: r.get(2)?,
        mime_type: r.get(3)?,
        size_bytes: r.get::<_, i64>(4)? as u64,
        created: from_nanos(r.get(14)?),
        policy,
        metadata,
    })
}

/// Statistics, from totals the database keeps up to date with every
/// change of the index (triggers), so reading them costs one row per
/// MIME type, conversation and session, whatever the number of references.
pub(crate) fn stats(c: &Connection) -> rusqlite::Result<StorageStats> {
    let mut stats = StorageStats::default();
    let mut st = c.prepare("SELECT dimension, key, count, bytes FROM totals")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let (dimension, key): (String, String) = (r.get(0)?, r.get(1)?);
        let t = TypeStats {
            references: r.get::<_, i64>(2)? as u64,
            logical_bytes: r.get::<_, i64>(3)? as u64,
        };
        match dimension.as_str() {
            "objects" => (stats.objects, stats.physical_bytes) = (t.references, t.logical_bytes),
            "mime" => {
                stats.references += t.references;
                stats.logical_bytes += t.logical_bytes;
                stats.by_mime.insert(key, t);
            }
            "conversation" => {
                stats.by_conversation.insert(key, t);
            }
            _ => {
                stats.by_session.insert(key, t);
            }
        }
    }
    Ok(stats)
}
