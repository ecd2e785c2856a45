use async_trait::async_trait;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use super::{ConversationState, StateStore, validate_id};
use crate::{Error, Result};

/// Keeps conversation state in Redis, so several instances of an app can
/// resume each other's conversations (feature `redis`).
///
/// Each conversation is one string key `<prefix>conv:<id>` holding JSON; the
/// set `<prefix>conversations` indexes the ids. Writes are `MULTI`/`EXEC`
/// transactions, so the key and the index never disagree. The connection
/// reconnects by itself after a Redis restart.
///
/// ```no_run
/// use promptkit_sdk::{RedisStateStore, StateStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = RedisStateStore::connect("redis://127.0.0.1:6379/0", "myapp:").await.unwrap();
/// let ids = store.list().await.unwrap();
/// # let _ = ids;
/// # });
/// ```
#[derive(Clone)]
pub struct RedisStateStore {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisStateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never print it.
        f.debug_struct("RedisStateStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn redis_err(op: &str, e: redis::RedisError) -> Error {
    // RedisError's Display does not include the connection URL or password.
    Error::State {
        message: format!("redis {op}: {e}"),
    }
}

impl RedisStateStore {
    /// Connects to `url` (`redis://[:password@]host:port/db`); keys start with `prefix`.
    pub async fn connect(url: &str, prefix: impl Into<String>) -> Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| Error::Config(format!("invalid Redis URL: {}", e.category())))?;
        let conn = client
            .get_connection_manager()
            .await
            .map_err(|e| redis_err("connect", e))?;
        Ok(RedisStateStore {
            conn,
            prefix: prefix.into(),
        })
    }

    /// Connects using `REDIS_URL` (default `redis://127.0.0.1:6379/0`) and
    /// `PROMPTKIT_REDIS_PREFIX` (default `promptkit:`).
    pub async fn from_env() -> Result<Self> {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
        let prefix =
            std::env::var("PROMPTKIT_REDIS_PREFIX").unwrap_or_else(|_| "promptkit:".into());
        Self::connect(&url, prefix).await
    }

    fn key(&self, id: &str) -> Result<String> {
        validate_id("conversation_id", id)?;
        Ok(format!("{}conv:{id}", self.prefix))
    }

    fn index(&self) -> String {
        format!("{}conversations", self.prefix)
    }
}

#[async_trait]
impl StateStore for RedisStateStore {
    async fn save(&self, state: &ConversationState) -> Result<()> {
        let key = self.key(&state.conversation_id)?;
        let json = serde_json::to_string(state).map_err(|e| Error::State {
            message: format!("serialize {}: {e}", state.conversation_id),
        })?;
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .set(&key, json)
            .ignore()
            .sadd(self.index(), &state.conversation_id)
            .ignore()
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| redis_err("save", e))
    }

    async fn load(&self, id: &str) -> Result<Option<ConversationState>> {
        let key = self.key(id)?;
        let mut conn = self.conn.clone();
        let json: Option<String> = conn.get(&key).await.map_err(|e| redis_err("load", e))?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(|e| Error::State {
                message: format!("corrupt state for {id}: {e}"),
            })
        })
        .transpose()
    }

    async fn delete(&self, id: &str) -> Result<()> {
        let key = self.key(id)?;
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .del(&key)
            .ignore()
            .srem(self.index(), id)
            .ignore()
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| redis_err("delete", e))
    }

    async fn list(&self) -> Result<Vec<String>> {
        let mut conn = self.conn.clone();
        let mut ids: Vec<String> = conn
            .smembers(self.index())
            .await
            .map_err(|e| redis_err("list", e))?;
        ids.sort();
        Ok(ids)
    }
}
