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
