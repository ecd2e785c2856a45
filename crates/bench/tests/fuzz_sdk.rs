//! Bad input at the SDK's edges: malformed packs (JSON, YAML, invalid
//! UTF-8 files), hostile conversation ids, giant strings, media with lying
//! or broken fields, and garbled tool calls from the model. Each gives a
//! response or a typed error; a failed turn leaves history unchanged.
//!
//! `cargo xtask fuzz SECS` runs these (by their `fuzz_` prefix) for SECS
//! seconds each; by default a small number of cases runs with `cargo test`.

mod common;

use bytes::Bytes;
use common::{fuzz, hostile_id, magic_payload, mime_type};
use promptkit_bench::fixtures::{IMAGE_TOOL, chat_pack, image_pack};
use promptkit_core::MediaContent;
use promptkit_media_store::FileStore;
use promptkit_sdk::{
    ConversationConfig, ConversationManager, Error, ImageGenerationTool, ManagerConfig,
    MockProvider, MockReply,
};
use proptest::prelude::*;

const VALID_PACK: &str = r#"{"id":"p","name":"P","version":"1.0.0","template_engine":{"version":"v1","syntax":"{{variable}}"},"prompts":{"chat":{"id":"chat","name":"chat","version":"1.0.0","system_template":"Hi {{who}}","variables":[{"name":"who","type":"string","required":true}],"tools":["t"]}},"tools":{"t":{"name":"t","description":"d","parameters":{"type":"object"}}}}"#;

fn manager(dir: &std::path::Path, provider: MockProvider) -> ConversationManager {
    ConversationManager::builder()
        .provider(provider)
        .media_store(FileStore::builder().with_base_dir(dir).build().unwrap())
        .tool(
            IMAGE_TOOL,
            ImageGenerationTool::new(std::sync::Arc::new(MockProvider::new().with_image_size(8))),
        )
        .config(ManagerConfig {
            media_size_threshold_kb: 0,
            ..ManagerConfig::default()
        })
        .build()
        .unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Malformed packs: truncated, spliced with garbage, or arbitrary bytes,
/// loaded from strings and from files (which may not be UTF-8).
#[test]
fn fuzz_malformed_packs_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path(), MockProvider::new());
    let pack = prop_oneof![
        (0..VALID_PACK.len()).prop_map(|n| VALID_PACK.as_bytes()[..n].to_vec()),
        (0..VALID_PACK.len(), any::<String>()).prop_map(|(n, junk)| {
            let mut v = VALID_PACK.as_bytes()[..n].to_vec();
            v.extend(junk.as_bytes());
            v.extend(&VALID_PACK.as_bytes()[n..]);
            v
        }),
        (0..VALID_PACK.len(), any::<u8>()).prop_map(|(n, b)| {
            let mut v = VALID_PACK.as_bytes().to_vec();
            v[n] = b;
            v
        }),
        proptest::collection::vec(any::<u8>(), 0..256),
        Just(b"\xef\xbb\xbf{\"id\": \"\xff\xfe\"}".to_vec()),
        Just(b"id: [unclosed\nprompts: {".to_vec()),
        Just(b"&anchor a: *anchor".to_vec()),
    ];
    let rt = rt();
    fuzz(
        96,
        (pack, prop_oneof![Just("json"), Just("yaml")]),
        |(bytes, ext)| {
            if let Ok(s) = std::str::from_utf8(&bytes) {
                let _ = promptkit_pack::Pack::from_json_str(s);
                let _ = promptkit_pack::Pack::from_yaml_str(s);
            }
            let path = dir.path().join(format!("fuzz.pack.{ext}"));
            std::fs::write(&path, &bytes).unwrap();
            match m.load_pack(&path) {
                Ok(pack) => {
                    // A pack that loads can start a conversation or refuses with
                    // a typed error (e.g. a missing required variable).
                    let conf = ConversationConfig::new("u", "s").with_variable("who", "x");
                    match m.new_conversation(&pack, conf) {
                        Ok(mut c) => {
                            let r = rt.block_on(c.send("hello"));
                            prop_assert!(r.is_ok(), "{r:?}");
                        }
                        Err(e) => prop_assert!(!e.to_string().is_empty()),
                    }
                }
                Err(Error::Pack(e)) => prop_assert!(!e.to_string().is_empty()),
                Err(e) => prop_assert!(false, "unexpected error kind: {e:?}"),
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_hostile_conversation_ids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path(), MockProvider::new());
    let pack = m.register_pack(chat_pack());
    fuzz(128, (hostile_id(), hostile_id()), |(conv, session)| {
        let conf =
            ConversationConfig::new("user", session.clone()).with_conversation_id(conv.clone());
        match m.new_conversation(&pack, conf) {
            Ok(c) => {
                prop_assert_eq!(c.id(), conv.as_str());
                prop_assert!(!conv.contains('/') && !conv.contains('\0') && !conv.starts_with('.'));
                prop_assert!(!conv.is_empty() && conv.len() <= 128);
            }
            Err(Error::InvalidInput { .. }) => {}
            Err(e) => prop_assert!(false, "unexpected error kind: {e:?}"),
        }
        Ok(())
    });
}

/// Media sent by a user: lying or malformed MIME types, empty or magic-less
/// bytes, no data at all. A turn that fails leaves history as it was and
/// stores nothing; a turn that succeeds keeps no media bytes in history.
#[test]
fn fuzz_bad_user_media_is_a_typed_error() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path(), MockProvider::new());
    let pack = m.register_pack(chat_pack());
    let media =
        (mime_type(), magic_payload(), 0u8..4).prop_map(|(mime, data, shape)| match shape {
            0 => MediaContent::from_bytes(mime, data),
            1 => MediaContent::from_bytes(mime, Bytes::new()),
            2 => MediaContent::from_url(mime, "http://127.0.0.1:9/none.png"),
            _ => {
                let mut m = MediaContent::from_bytes(mime, data);
                m.data = None;
                m
            }
        });
    fuzz(96, proptest::collection::vec(media, 1..3), |media| {
        let mut c = m
            .new_conversation(&pack, ConversationConfig::new("u", "s"))
            .unwrap();
        match rt.block_on(c.send_with_media("look at this", media.clone())) {
            Ok(r) => {
                // Media the store refused stays inline, and the response
                // says so (the SDK treats a failed store as non-fatal).
                let inline = c.memory_stats().inline_media_bytes;
                prop_assert_eq!(inline, r.inline_media_bytes());
                if inline > 0 {
                    prop_assert!(
                        !r.warnings.is_empty(),
                        "media stayed inline without a warning"
                    );
                }
            }
            Err(
                Error::InvalidInput { .. } | Error::Store(_) | Error::Pack(_) | Error::Provider(_),
            ) => {
                prop_assert!(c.history().is_empty(), "a failed turn changed history");
            }
            Err(e) => prop_assert!(false, "unexpected error kind: {e:?}"),
        }
        Ok(())
    });
}

/// Tool calls whose arguments are garbled JSON, wrong types or giant: the
/// tool error goes back to the model and the turn completes.
#[test]
fn fuzz_garbled_tool_calls_complete_the_turn() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let args = prop_oneof![
        any::<String>(),
        Just(String::new()),
        Just("{\"prompt\":".to_owned()),
        Just("{\"prompt\":5}".to_owned()),
        Just("{\"prompt\":\"a\",\"n\":99999999999}".to_owned()),
        Just("[1,2,3]".to_owned()),
        Just(format!("{{\"prompt\":\"{}\"}}", "x".repeat(1_000_000))),
        "\\{\"prompt\":\"[a-z ]{0,20}\"(,\"size\":\"[0-9x]{0,9}\")?\\}",
    ];
    let name = prop_oneof![
        Just(IMAGE_TOOL.to_owned()),
        Just("no-such-tool".to_owned()),
        any::<String>()
    ];
    fuzz(48, (name, args), |(name, args)| {
        let provider = MockProvider::scripted(vec![
            MockReply::ToolCalls(vec![(name.clone(), args.clone())]),
            MockReply::Text("done".into()),
        ]);
        let m = manager(dir.path(), provider);
        let pack = m.register_pack(image_pack());
        let mut c = m
            .new_conversation(&pack, ConversationConfig::new("u", "s"))
            .unwrap();
        let r = rt.block_on(c.send("draw something"));
        prop_assert!(r.is_ok(), "{r:?}");
        let r = r.unwrap();
        prop_assert_eq!(r.content.as_str(), "done");
        prop_assert_eq!(c.memory_stats().inline_media_bytes, 0);
        Ok(())
    });
}

/// Giant strings: a multi-megabyte message goes through; a giant id is
/// refused with a typed error; a giant MIME type gives a response or a typed
/// error (it is not refused today: see the crate docs).
#[test]
fn fuzz_giant_strings() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path(), MockProvider::new());
    let pack = m.register_pack(chat_pack());
    fuzz(6, (1usize..8, any::<char>()), |(mib, ch)| {
        let text: String = std::iter::repeat_n(ch, mib * 1024 * 1024 / ch.len_utf8()).collect();
        let mut c = m
            .new_conversation(&pack, ConversationConfig::new("u", "s"))
            .unwrap();
        let r = rt.block_on(c.send(text.clone()));
        prop_assert!(r.is_ok(), "{:?}", r.err());
        prop_assert_eq!(c.history()[0].text().len(), text.len());
        let huge =
            ConversationConfig::new("u", "s").with_conversation_id("c".repeat(mib * 1024 * 1024));
        let refused = matches!(
            m.new_conversation(&pack, huge),
            Err(Error::InvalidInput { .. })
        );
        prop_assert!(refused, "a giant conversation id was accepted");
        let mime = format!("image/{}", "p".repeat(mib * 1024 * 1024));
        let img = MediaContent::from_bytes(mime, Bytes::from_static(b"\x89PNG\r\n\x1a\n...."));
        let before = c.history().len();
        match rt.block_on(c.send_with_media("x", vec![img])) {
            Ok(r) => prop_assert!(r.content.contains('x')),
            Err(Error::InvalidInput { .. } | Error::Store(_)) => {
                prop_assert_eq!(c.history().len(), before);
            }
            Err(e) => prop_assert!(false, "unexpected error kind: {e:?}"),
        }
        Ok(())
    });
}
