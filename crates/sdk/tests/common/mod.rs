#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::sync::Arc;

use promptkit_media_store::{FileStore, MediaStore, Organization};
use promptkit_pack::Pack;
use promptkit_sdk::{ConversationManager, ManagerConfig, MockProvider};

pub const TUTORIAL_PACK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/image-generator.pack.json"
);

pub fn file_store(dir: &Path) -> Arc<dyn MediaStore> {
    Arc::new(
        FileStore::builder()
            .with_base_dir(dir)
            .with_organization(Organization::BySession)
            .with_deduplication(true)
            .build()
            .expect("file store"),
    )
}

pub fn manager(
    provider: Arc<MockProvider>,
    store: Arc<dyn MediaStore>,
    config: ManagerConfig,
) -> ConversationManager {
    ConversationManager::builder()
        .provider_arc(provider)
        .media_store_arc(store)
        .image_tool("dalle-image-generator")
        .config(config)
        .build()
        .expect("manager")
}

pub fn tools_pack() -> Pack {
    Pack::from_json_str(
        r#"{
  "id": "tools", "name": "Tools", "version": "1.0.0",
  "template_engine": {"version": "v1", "syntax": "{{variable}}"},
  "prompts": {"assistant": {"id": "assistant", "name": "assistant", "version": "1.0.0",
    "system_template": "You help.", "tools": ["add", "dalle-image-generator"]}},
  "tools": {
    "add": {"name": "add", "description": "Adds", "parameters": {"type": "object",
      "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}},
    "dalle-image-generator": {"name": "dalle-image-generator", "description": "Generate images",
      "parameters": {"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]}}
  }
}"#,
    )
    .expect("tools pack")
}

/// A file store in a fresh temp dir, a manager over `provider` with the given
/// externalization threshold, and a conversation with the tutorial pack.
pub fn tutorial_conversation(
    provider: MockProvider,
    threshold_kb: u64,
) -> (
    tempfile::TempDir,
    ConversationManager,
    promptkit_sdk::Conversation,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let m = manager(
        Arc::new(provider),
        file_store(dir.path()),
        ManagerConfig {
            media_size_threshold_kb: threshold_kb,
            ..Default::default()
        },
    );
    let pack = m.load_pack(TUTORIAL_PACK).expect("tutorial pack");
    let conv = m
        .new_conversation(&pack, promptkit_sdk::ConversationConfig::new("u", "s"))
        .expect("conversation");
    (dir, m, conv)
}
