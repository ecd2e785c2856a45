//! A conversation whose media store is S3 (moto on 127.0.0.1), and S3 going away.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use promptkit_media_store::{MediaStoreExt, Organization, S3MediaStore};
use promptkit_sdk::{ConversationConfig, ConversationManager, Error, ManagerConfig, MockProvider};
use promptkit_testkit::{ServerProcess, free_port, python, require_venv};

#[tokio::test]
async fn s3_outage_keeps_media_inline_and_hands_out_no_reference() {
    let venv = require_venv!();
    let port = free_port();
    let mut server = ServerProcess::spawn(
        &venv,
        "moto_server",
        &["-H", "127.0.0.1", "-p", &port.to_string()],
        port,
    );
    python(
        &venv,
        "import sys, boto3\n\
         boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',\n\
             aws_access_key_id='test', aws_secret_access_key='test').create_bucket(Bucket='sdk-media')",
        &[&server.base_url()],
    );
    let store = S3MediaStore::builder()
        .with_bucket("sdk-media")
        .with_endpoint(server.base_url())
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .with_organization(Organization::BySession)
        .with_retry(0, Duration::from_secs(2))
        .build()
        .unwrap();
    let store: Arc<dyn promptkit_media_store::MediaStore> = Arc::new(store);
    let m = ConversationManager::builder()
        .provider(MockProvider::new().with_image_size(128))
        .media_store_arc(store.clone())
        .image_tool("dalle-image-generator")
        .config(ManagerConfig {
            media_size_threshold_kb: 1,
            // Earlier images are loaded for each request (not the default).
            rehydration: promptkit_sdk::RehydrationPolicy::Recent(8),
            ..Default::default()
        })
        .build()
        .unwrap();
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();

    let first = conv.send("Draw a castle").await.unwrap();
    assert_eq!(first.stored_media.len(), 1, "{:?}", first.warnings);
    assert!(
        store
            .retrieve_bytes(&first.stored_media[0].reference)
            .await
            .unwrap()
            .starts_with(b"\x89PNG")
    );

    server.stop();
    // Rehydrating the first image needs S3: the turn fails with a typed store
    // error, and the conversation is unchanged.
    let err = conv.send("Draw a moat").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Store(promptkit_media_store::Error::Backend { .. })
        ),
        "{err}"
    );
    assert_eq!(conv.history().len(), 4);

    // With rehydration of earlier media off (the default), the turn runs; the new image
    // cannot be stored, so it stays inline and no reference is handed out.
    let m2 = ConversationManager::builder()
        .provider(MockProvider::new().with_image_size(128))
        .media_store_arc(store.clone())
        .image_tool("dalle-image-generator")
        .config(ManagerConfig {
            media_size_threshold_kb: 1,
            ..Default::default()
        })
        .build()
        .unwrap();
    let pack = m2.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m2
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    let resp = conv.send("Draw a drawbridge").await.unwrap();
    assert!(resp.stored_media.is_empty());
    assert_eq!(resp.warnings.len(), 1, "{:?}", resp.warnings);
    assert!(
        resp.warnings[0].contains("kept inline"),
        "{}",
        resp.warnings[0]
    );
    let mem = conv.memory_stats();
    assert_eq!((mem.media_parts, mem.externalized_parts), (1, 0));
    assert!(
        mem.inline_media_bytes > 1024,
        "the image is still in history"
    );
}
