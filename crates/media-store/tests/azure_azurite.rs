//! The object-store media store on Azure Blob Storage, against the Azurite
//! emulator on 127.0.0.1: opened from an `az://` URL, the conformance suite,
//! lifecycle operations and a presigned (SAS) URL.
//!
//! Needs Azurite (`PROMPTKIT_AZURITE`: its `azurite-blob` executable, which
//! `cargo xtask test-all` installs with npm into `target/azurite`) and the
//! Python venv (`PROMPTKIT_PYVENV`, to create the container with the Azure
//! SDK). Skipped with a message when either is missing, unless
//! `PROMPTKIT_REQUIRE_SERVERS=1`.
//!
//! object_store reads the emulator's address from the process environment
//! (`AZURITE_BLOB_STORAGE_URL`), so the test re-runs itself as a child
//! process with that variable set.
#![cfg(feature = "azure")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use promptkit_media_store::conformance::{self, Expectations};
use promptkit_media_store::{
    Error, GcOptions, MediaLifecycle, MediaLifecycleExt, MediaStore, MediaStoreExt,
    media_store_from_vars, open_media_store_url,
};
use promptkit_testkit::{ServerProcess, free_port, python, require_venv};

const CHILD: &str = "PK_AZURE_CHILD";
const CONTAINER: &str = "media";
/// Azurite's documented development account key (public, not a secret).
const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn azurite() -> Option<PathBuf> {
    match std::env::var_os("PROMPTKIT_AZURITE") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            if std::env::var("PROMPTKIT_REQUIRE_SERVERS").as_deref() == Ok("1") {
                panic!("PROMPTKIT_REQUIRE_SERVERS=1 but PROMPTKIT_AZURITE is not set");
            }
            eprintln!(
                "skipped: needs Azurite; run via `cargo xtask test-all` or set PROMPTKIT_AZURITE"
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_blob_storage_through_azurite() {
    if std::env::var_os(CHILD).is_some() {
        return child().await;
    }
    let Some(azurite) = azurite() else { return };
    let venv = require_venv!();
    let port = free_port();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::spawn(
        Path::new("/nonexistent"),
        azurite.to_str().expect("UTF-8 path"),
        &[
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--location",
            data.path().to_str().unwrap(),
            "--silent",
            "--skipApiVersionCheck",
            "--loose",
        ],
        port,
    );
    let account_url = format!("{}/devstoreaccount1", server.base_url());
    python(
        &venv,
        "import sys\n\
         from azure.storage.blob import BlobServiceClient\n\
         conn = ('DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;'\n\
                 'AccountKey=' + sys.argv[2] + ';BlobEndpoint=' + sys.argv[1] + ';')\n\
         BlobServiceClient.from_connection_string(conn).create_container(sys.argv[3])",
        &[&account_url, DEV_KEY, CONTAINER],
    );
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "azure_blob_storage_through_azurite",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("AZURITE_BLOB_STORAGE_URL", server.base_url())
        .env("AZURE_STORAGE_USE_EMULATOR", "true")
        .status()
        .unwrap();
    assert!(status.success(), "the Azure child process failed: {status}");
}

/// In the child: the emulator's address is in the environment.
async fn child() {
    // The store comes from a URL, as an application configures it.
    let open = |url: &str| open_media_store_url(url).unwrap();
    let store = open(&format!(
        "az://{CONTAINER}/conformance?organization=by-session"
    ));
    assert!(format!("{store:?}").contains("azure"), "{store:?}");
    conformance::run_all_with(store.clone(), Expectations::default().with_concurrency(16)).await;
    conformance::store_delete_race(store.clone(), 4, 4).await;

    // Lifecycle on the same backend: a clean gc and verify, stats, a SAS URL.
    let flat = open(&format!("az://{CONTAINER}/lifecycle?organization=flat"));
    let png = conformance::random_bytes(b"\x89PNG\r\n\x1a\n", 64 * 1024);
    let meta = conformance::fresh_metadata("azure");
    let r = flat
        .store_bytes("image/png", png.clone(), &meta)
        .await
        .unwrap();
    assert_eq!(flat.retrieve_bytes(&r).await.unwrap(), png);
    let stats = flat.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (1, 1));
    assert!(flat.verify().await.unwrap().is_ok());
    assert!(flat.gc(GcOptions::new(true)).await.unwrap().is_clean());
    let url = flat.url(&r, Duration::from_secs(120)).await.unwrap();
    assert!(url.contains("sig="), "a SAS URL: {url}");
    // A client with nothing but the URL downloads the bytes.
    let venv = PathBuf::from(std::env::var_os("PROMPTKIT_PYVENV").expect("venv"));
    let len = python(
        &venv,
        "import sys, urllib.request\nprint(len(urllib.request.urlopen(sys.argv[1]).read()))",
        &[&url],
    );
    assert_eq!(len.trim(), png.len().to_string());
    flat.delete(&r).await.unwrap();
    assert!(matches!(
        flat.retrieve(&r).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(flat.stats().await.unwrap().objects, 0);

    // Variables come from a map as well as from the environment, and
    // object_store options from the URL; a wrong one is a configuration error
    // naming the backend.
    for (url, vars) in [
        (
            format!("az://{CONTAINER}/vars?organization=flat"),
            vec![("AZURE_STORAGE_USE_EMULATOR", "true")],
        ),
        (
            format!("az://{CONTAINER}/query?organization=flat&azure_storage_use_emulator=true"),
            vec![],
        ),
    ] {
        let vars = vars.into_iter().chain([("MEDIA_STORE_URL", url.as_str())]);
        let store = media_store_from_vars(vars).unwrap();
        let r = store
            .store_bytes("image/png", png.clone(), &meta)
            .await
            .unwrap();
        assert_eq!(store.retrieve_bytes(&r).await.unwrap(), png, "{url}");
        store.delete(&r).await.unwrap();
    }
    let bad = [
        ("MEDIA_STORE_URL", format!("az://{CONTAINER}/x")),
        ("AZURE_STORAGE_USE_EMULATOR", "maybe".to_string()),
    ];
    match media_store_from_vars(bad) {
        Err(Error::Config(m)) => assert!(m.to_lowercase().contains("azure"), "{m}"),
        other => panic!("expected a config error, got {other:?}"),
    }
    assert!(matches!(
        open_media_store_url("az:///no-container"),
        Err(Error::Config(_))
    ));
}
