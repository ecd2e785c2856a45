//! RedisStateStore against a real redis-server on 127.0.0.1.
#![cfg(feature = "redis")]

use promptkit_sdk::{ConversationState, RedisStateStore, StateStore};
use promptkit_testkit::{ServerProcess, free_port};

fn redis_server() -> Option<ServerProcess> {
    let program = promptkit_testkit::redis_server()?;
    let program = program.to_str().expect("the redis-server path is UTF-8");
    let port = free_port();
    let p = port.to_string();
    Some(ServerProcess::spawn(
        std::path::Path::new("/nonexistent"),
        program,
        &[
            "--port",
            &p,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        port,
    ))
}

fn state(id: &str, n: usize) -> ConversationState {
    serde_json::from_value(serde_json::json!({
        "conversation_id": id,
        "pack_id": "p",
        "prompt_name": "chat",
        "history": (0..n).map(|i| serde_json::json!({"role": "user", "parts": [{"type": "text", "text": format!("m{i}")}]})).collect::<Vec<_>>(),
    }))
    .unwrap()
}

#[tokio::test]
async fn save_load_list_delete_and_reconnect() {
    let Some(mut server) = redis_server() else {
        return;
    };
    let url = format!("redis://127.0.0.1:{}/0", server.port);
    let store = RedisStateStore::connect(&url, "test:").await.unwrap();
    assert!(store.load("a").await.unwrap().is_none());
    store.save(&state("a", 2)).await.unwrap();
    store.save(&state("b", 1)).await.unwrap();
    store.save(&state("a", 3)).await.unwrap();
    assert_eq!(store.list().await.unwrap(), vec!["a", "b"]);
    assert_eq!(store.load("a").await.unwrap().unwrap().history.len(), 3);
    // A second instance (another app process) sees the same state.
    let other = RedisStateStore::connect(&url, "test:").await.unwrap();
    assert_eq!(other.load("b").await.unwrap().unwrap().history.len(), 1);
    other.delete("b").await.unwrap();
    assert_eq!(store.list().await.unwrap(), vec!["a"]);
    assert!(store.load("../x").await.is_err());
    assert!(!format!("{store:?}").contains("127.0.0.1"));
    // Server gone: typed error, no panic.
    server.stop();
    let err = store.save(&state("c", 1)).await.unwrap_err();
    assert!(matches!(err, promptkit_sdk::Error::State { .. }), "{err}");
}
