use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{ConversationState, StateStore, validate_id};
use crate::{Error, Result};

/// Keeps each conversation as `<dir>/<conversation_id>.json`, written atomically
/// (temporary file, fsync, rename), so a crash never leaves a half-written state.
///
/// ```
/// use promptkit_sdk::{FileStateStore, StateStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let s = FileStateStore::new(dir.path()).unwrap();
/// assert!(s.list().await.unwrap().is_empty());
/// assert!(s.load("../etc/passwd").await.is_err()); // ids are validated
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct FileStateStore {
    dir: PathBuf,
}

fn state_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::State {
        message: format!("{}: {e}", path.display()),
    }
}

impl FileStateStore {
    /// A store in `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| state_err(&dir, e))?;
        Ok(FileStateStore { dir })
    }

    fn path(&self, id: &str) -> Result<PathBuf> {
        validate_id("conversation_id", id)?;
        Ok(self.dir.join(format!("{id}.json")))
    }
}

/// Reads the regular file at `path`, opened without blocking: a named pipe
/// (or a device) planted there is an error, never waited on.
fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let mut file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    std::io::Read::read_to_end(&mut file, &mut data)?;
    Ok(data)
}

#[async_trait]
impl StateStore for FileStateStore {
    async fn save(&self, state: &ConversationState) -> Result<()> {
        let path = self.path(&state.conversation_id)?;
        let json = serde_json::to_vec(state).map_err(|e| state_err(&path, e))?;
        let tmp = self.dir.join(format!(
            ".tmp-{}-{}.json",
            state.conversation_id,
            uuid::Uuid::new_v4().simple()
        ));
        let (tmp2, path2) = (tmp.clone(), path.clone());
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp2)?;
            f.write_all(&json)?;
            f.sync_all()?;
            std::fs::rename(&tmp2, &path2)
        })
        .await
        .map_err(|e| state_err(&path, e))?
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            state_err(&path, e)
        })
    }

    async fn load(&self, id: &str) -> Result<Option<ConversationState>> {
        let path = self.path(id)?;
        let file = path.clone();
        let read = tokio::task::spawn_blocking(move || read_regular(&file))
            .await
            .map_err(|e| state_err(&path, e))?;
        match read {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| state_err(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(state_err(&path, e)),
        }
    }

    async fn delete(&self, id: &str) -> Result<()> {
        let path = self.path(id)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(state_err(&path, e)),
        }
    }

    async fn list(&self) -> Result<Vec<String>> {
        let mut rd = tokio::fs::read_dir(&self.dir)
            .await
            .map_err(|e| state_err(&self.dir, e))?;
        let mut ids = Vec::new();
        while let Some(entry) = rd.next_entry().await.map_err(|e| state_err(&self.dir, e))? {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(id) = name.strip_suffix(".json")
                && !id.starts_with('.')
            {
                ids.push(id.to_owned());
            }
        }
        ids.sort();
        Ok(ids)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A named pipe planted where a conversation's state goes is an error,
    /// never waited on (a wait would hold a blocking thread forever).
    #[tokio::test]
    async fn a_named_pipe_is_an_error_not_a_wait() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStateStore::new(dir.path()).unwrap();
        let pipe = dir.path().join("c1.json");
        promptkit_testkit::pipes::named_pipe(&pipe);
        let load = tokio::time::timeout(std::time::Duration::from_secs(10), store.load("c1"));
        let Ok(loaded) = load.await else {
            promptkit_testkit::pipes::keep_releasing(&pipe);
            panic!("load waited on a named pipe");
        };
        let err = loaded.unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}
