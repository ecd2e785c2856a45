//! Rehydration reads the stored media a request needs a few at a time, and
//! puts each item back in its own message and part.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use promptkit_core::{ChatRequest, ChatResponse, ContentPart, MediaContent, Message, Provider};
use promptkit_media_store::{MediaMetadata, MediaStore, StorageReference, StorageStats};
use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, RehydrationPolicy};

/// Answers every request with "ok" and keeps the requests.
#[derive(Debug, Default)]
struct Capture(Mutex<Vec<ChatRequest>>);

#[async_trait]
impl Provider for Capture {
    fn id(&self) -> &str {
        "capture"
    }
    async fn chat(&self, request: &ChatRequest) -> promptkit_core::Result<ChatResponse> {
        self.0.lock().unwrap().push(request.clone());
        Ok(ChatResponse::new(Message::assistant("ok"), "capture"))
    }
}

/// A store that counts the reads in flight (each read yields before and
/// after going to the inner store, so reads started together overlap).
#[derive(Debug)]
struct Tracking {
    inner: Arc<dyn MediaStore>,
    in_flight: AtomicUsize,
    most: AtomicUsize,
    reads: AtomicUsize,
}

#[async_trait]
impl MediaStore for Tracking {
    async fn store(
        &self,
        content: &MediaContent,
        metadata: &MediaMetadata,
    ) -> promptkit_media_store::Result<StorageReference> {
        self.inner.store(content, metadata).await
    }
    async fn retrieve(
        &self,
        reference: &StorageReference,
    ) -> promptkit_media_store::Result<MediaContent> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        self.reads.fetch_add(1, Ordering::SeqCst);
        tokio::task::yield_now().await;
        let out = self.inner.retrieve(reference).await;
        tokio::task::yield_now().await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        out
    }
    async fn delete(&self, reference: &StorageReference) -> promptkit_media_store::Result<()> {
        self.inner.delete(reference).await
    }
    async fn url(
        &self,
        reference: &StorageReference,
        expiry: Duration,
    ) -> promptkit_media_store::Result<String> {
        self.inner.url(reference, expiry).await
    }
    async fn stats(&self) -> promptkit_media_store::Result<StorageStats> {
        self.inner.stats().await
    }
}

/// A distinct small PNG (magic number, then `i`).
fn png(i: u8) -> MediaContent {
    let mut data = b"\x89PNG\r\n\x1a\n".to_vec();
    data.extend(std::iter::repeat_n(i, 100 + i as usize));
    MediaContent::from_bytes("image/png", data)
}

#[tokio::test]
async fn stored_media_is_read_concurrently_and_put_back_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Tracking {
        inner: file_store(dir.path()),
        in_flight: AtomicUsize::new(0),
        most: AtomicUsize::new(0),
        reads: AtomicUsize::new(0),
    });
    let provider = Arc::new(Capture::default());
    let manager = ConversationManager::builder()
        .provider_arc(provider.clone())
        .media_store_arc(store.clone())
        .config(ManagerConfig {
            media_size_threshold_kb: 0,
            rehydration: RehydrationPolicy::Recent(10),
            ..Default::default()
        })
        .build()
        .unwrap();
    let pack = manager.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = manager
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    // Twelve turns, the last two with two images each: 14 stored images.
    for i in 0..12u8 {
        let media = if i < 10 {
            vec![png(i)]
        } else {
            vec![png(i), png(i + 100)]
        };
        let r = conv
            .send_with_media(format!("image {i}"), media)
            .await
            .unwrap();
        assert_eq!(r.stored_media.len(), if i < 10 { 1 } else { 2 });
    }
    store.most.store(0, Ordering::SeqCst);
    store.reads.store(0, Ordering::SeqCst);
    // On a spawned task: a turn that rehydrates is `Send` (a compile check).
    tokio::spawn(async move { conv.send("and now?").await.unwrap() })
        .await
        .unwrap();

    // The ten most recent earlier images, each read once, up to eight at once.
    assert_eq!(store.reads.load(Ordering::SeqCst), 10);
    let most = store.most.load(Ordering::SeqCst);
    assert!((2..=8).contains(&most), "{most} reads in flight at most");

    // Each in its own message and part, the older ones replaced by notes.
    let request = provider.0.lock().unwrap().pop().unwrap();
    let mut images = Vec::new();
    let mut notes = 0;
    for m in &request.messages {
        for part in m.parts.iter() {
            if let Some(media) = part.as_media() {
                images.push(media.data.clone().expect("rehydrated"));
            } else if matches!(part, ContentPart::Text { text } if text.contains("from an earlier turn, not attached"))
            {
                notes += 1;
            }
        }
    }
    let want: Vec<_> = (4..12u8)
        .flat_map(|i| if i < 10 { vec![i] } else { vec![i, i + 100] })
        .map(|i| png(i).data.unwrap())
        .collect();
    assert_eq!(images, want);
    assert_eq!(notes, 4);
}
