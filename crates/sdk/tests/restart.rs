//! Resume after a real process restart, and media events.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use promptkit_media_store::MediaStoreExt;
use promptkit_sdk::{
    ConversationConfig, ConversationManager, FileStateStore, ManagerConfig, MediaEventKind,
    MockProvider,
};

fn build(media: &std::path::Path, states: &std::path::Path) -> ConversationManager {
    ConversationManager::builder()
        .provider(MockProvider::new().with_image_size(96))
        .media_store_arc(file_store(media))
        .state_store(FileStateStore::new(states).unwrap())
        .image_tool("dalle-image-generator")
        .config(ManagerConfig {
            media_size_threshold_kb: 1,
            ..Default::default()
        })
        .build()
        .unwrap()
}

/// The first process: two turns, then exit.
async fn child(media: &str, states: &str) {
    let m = build(media.as_ref(), states.as_ref());
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m
        .new_conversation(
            &pack,
            ConversationConfig::new("u", "s").with_conversation_id("restart-1"),
        )
        .unwrap();
    conv.send("Draw a windmill").await.unwrap();
    conv.send("Draw a canal").await.unwrap();
}

#[tokio::test]
async fn resume_after_process_restart() {
    if let (Ok(media), Ok(states)) = (
        std::env::var("PK_CHILD_MEDIA"),
        std::env::var("PK_CHILD_STATES"),
    ) {
        child(&media, &states).await;
        return;
    }
    let media = tempfile::tempdir().unwrap();
    let states = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "resume_after_process_restart",
            "--test-threads=1",
        ])
        .env("PK_CHILD_MEDIA", media.path())
        .env("PK_CHILD_STATES", states.path())
        .status()
        .unwrap();
    assert!(status.success(), "child process failed: {status}");

    let m = build(media.path(), states.path());
    m.load_pack(TUTORIAL_PACK).unwrap();
    assert_eq!(m.list_conversations().await.unwrap(), vec!["restart-1"]);
    let mut conv = m.resume("restart-1").await.unwrap();
    assert_eq!(conv.history().len(), 8);
    let refs: Vec<_> = conv
        .history()
        .iter()
        .flat_map(|m| m.media())
        .filter_map(|m| m.storage_reference.clone())
        .collect();
    assert_eq!(refs.len(), 2);
    let store = m.media_store().unwrap();
    for r in &refs {
        assert!(
            store
                .retrieve_bytes(r)
                .await
                .unwrap()
                .starts_with(b"\x89PNG")
        );
    }
    // It continues, and the earlier images are rehydrated for the provider.
    let resp = conv.send("Draw a tulip field").await.unwrap();
    assert_eq!(resp.stored_media.len(), 1);
    assert_eq!(conv.history().len(), 12);
}

/// A manager over a file store in `dir` whose media events are logged, and a
/// conversation of it.
fn observed(
    dir: &std::path::Path,
) -> (
    promptkit_sdk::Conversation,
    Arc<Mutex<Vec<promptkit_sdk::MediaEvent>>>,
) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = events.clone();
    let m = ConversationManager::builder()
        .provider(MockProvider::new().with_image_size(96))
        .media_store_arc(file_store(dir))
        .image_tool("dalle-image-generator")
        .on_media_event(move |e| log.lock().unwrap().push(e.clone()))
        .config(ManagerConfig {
            media_size_threshold_kb: 1,
            // Earlier images are loaded again (the default loads none).
            rehydration: promptkit_sdk::RehydrationPolicy::Recent(8),
            ..Default::default()
        })
        .build()
        .unwrap();
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    (conv, events)
}

#[tokio::test]
async fn media_events_report_store_and_retrieve() {
    let dir = tempfile::tempdir().unwrap();
    let (mut conv, events) = observed(dir.path());
    let first = conv.send("Draw a kite").await.unwrap();
    conv.send("hello").await.unwrap();
    let events = events.lock().unwrap();
    let stored: Vec<_> = events
        .iter()
        .filter(|e| e.kind == MediaEventKind::Stored)
        .collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].reference.as_ref(),
        Some(&first.stored_media[0].reference)
    );
    assert_eq!(stored[0].bytes, first.stored_media[0].size_bytes);
    assert!(
        events
            .iter()
            .any(|e| e.kind == MediaEventKind::Retrieved && e.bytes == stored[0].bytes)
    );
}

#[tokio::test]
async fn a_tool_round_reads_each_earlier_image_once_per_turn() {
    let dir = tempfile::tempdir().unwrap();
    let (mut conv, events) = observed(dir.path());
    let kite = conv.send("Draw a kite").await.unwrap().stored_media[0]
        .reference
        .clone();
    let retrieves_of_kite = |events: &[promptkit_sdk::MediaEvent]| {
        events
            .iter()
            .filter(|e| e.kind == MediaEventKind::Retrieved && e.reference.as_ref() == Some(&kite))
            .count()
    };
    let before = retrieves_of_kite(&events.lock().unwrap());
    // Two provider requests (tool call, then answer), both carrying the kite.
    let boat = conv.send("Draw a boat").await.unwrap();
    assert_eq!(boat.tool_calls.len(), 1);
    assert_eq!(retrieves_of_kite(&events.lock().unwrap()) - before, 1);
    // The next turn reads it again (nothing is cached across turns).
    conv.send("hello").await.unwrap();
    assert_eq!(retrieves_of_kite(&events.lock().unwrap()) - before, 2);
}

#[tokio::test]
async fn deleting_a_conversation_drops_its_media_but_not_shared_content() {
    let media = tempfile::tempdir().unwrap();
    let states = tempfile::tempdir().unwrap();
    let m = build(media.path(), states.path());
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut a = m
        .new_conversation(
            &pack,
            ConversationConfig::new("u", "s").with_conversation_id("a"),
        )
        .unwrap();
    let mut b = m
        .new_conversation(
            &pack,
            ConversationConfig::new("u", "s").with_conversation_id("b"),
        )
        .unwrap();
    let shared = a.send("Draw a harbour").await.unwrap().stored_media[0]
        .reference
        .clone();
    let own = a.send("Draw a meadow").await.unwrap().stored_media[0]
        .reference
        .clone();
    let kept = b.send("Draw a harbour").await.unwrap().stored_media[0]
        .reference
        .clone();
    let store = m.media_store().unwrap().clone();
    assert_eq!(store.stats().await.unwrap().objects, 2);

    assert_eq!(m.delete_conversation("a").await.unwrap(), 2);
    for gone in [&shared, &own] {
        assert!(matches!(
            store.retrieve(gone).await,
            Err(promptkit_media_store::Error::NotFound { .. })
        ));
    }
    assert!(
        store
            .retrieve_bytes(&kept)
            .await
            .unwrap()
            .starts_with(b"\x89PNG")
    );
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (1, 1));
    assert_eq!(m.list_conversations().await.unwrap(), vec!["b"]);
    assert!(matches!(
        m.delete_conversation("a").await,
        Err(promptkit_sdk::Error::ConversationNotFound { .. })
    ));
}
