//! The object-store media store on a real S3 server (moto on 127.0.0.1): the
//! conformance suite, multipart uploads, presigned URLs, identical stores from
//! two processes, the server going away mid-test, and stores configured by
//! object_store's variables (`AWS_ENDPOINT`, in the process environment or
//! given) and by object_store options in the URL.
//!
//! Needs the Python venv (`PROMPTKIT_PYVENV`, set by `cargo xtask test-all`);
//! skipped with a message otherwise.
#![cfg(feature = "s3")]

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use promptkit_media_store::conformance::{self, Expectations};
use promptkit_media_store::{
    Error, MediaStore, MediaStoreExt, ObjectStoreMediaStore, Organization, S3MediaStore,
    StorageReference,
};
use promptkit_testkit::{ServerProcess, free_port, python, require_venv};

/// Env vars of the child process of `identical_stores_from_two_processes`.
const CHILD_ENDPOINT: &str = "PK_S3_CHILD_ENDPOINT";
const CHILD_BUCKET: &str = "PK_S3_CHILD_BUCKET";
const CHILD_DATA: &str = "PK_S3_CHILD_DATA";
const CHILD_TASKS: usize = 8;

/// Starts moto and creates a fresh bucket in it.
fn moto(venv: &Path) -> (ServerProcess, String) {
    let port = free_port();
    let server = ServerProcess::spawn(
        venv,
        "moto_server",
        &["-H", "127.0.0.1", "-p", &port.to_string()],
        port,
    );
    let bucket = format!("media-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    python(
        venv,
        "import sys, boto3\n\
         boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',\n\
             aws_access_key_id='test', aws_secret_access_key='test').create_bucket(Bucket=sys.argv[2])",
        &[&server.base_url(), &bucket],
    );
    (server, bucket)
}

fn s3_store(endpoint: &str, bucket: &str, org: Organization) -> ObjectStoreMediaStore {
    S3MediaStore::builder()
        .with_bucket(bucket)
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .with_prefix("run")
        .with_organization(org)
        .with_retry(1, Duration::from_secs(5))
        .build()
        .expect("valid S3 settings")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_moto() {
    let venv = require_venv!();
    let (server, bucket) = moto(&venv);
    for org in [Organization::BySession, Organization::Flat] {
        let store = Arc::new(s3_store(&server.base_url(), &bucket, org));
        conformance::run_all_with(store.clone(), Expectations::default().with_concurrency(32))
            .await;
        conformance::store_delete_race(store, 8, 6).await;
    }
    // Two handles on one bucket, as two processes would open it.
    let a = Arc::new(s3_store(
        &server.base_url(),
        &bucket,
        Organization::BySession,
    ));
    let b = Arc::new(s3_store(
        &server.base_url(),
        &bucket,
        Organization::BySession,
    ));
    conformance::same_bytes_from_two_handles(a, b, 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_upload_and_presigned_url() {
    let venv = require_venv!();
    let (server, bucket) = moto(&venv);
    let store = s3_store(&server.base_url(), &bucket, Organization::ByConversation);
    // 11 MiB with a 5 MiB threshold: three parts.
    let data = conformance::random_bytes(b"\0\0\0\x18ftypisom", 11 * 1024 * 1024 + 17);
    let meta = conformance::fresh_metadata("big");
    let r = store
        .store_bytes("video/mp4", data.clone(), &meta)
        .await
        .unwrap();
    assert_eq!(store.retrieve_bytes(&r).await.unwrap(), data);
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.physical_bytes, data.len() as u64);

    let url = store.url(&r, Duration::from_secs(300)).await.unwrap();
    let conv = meta.conversation_id.as_deref().unwrap();
    assert!(
        url.starts_with(&format!("{}/{bucket}/run/media/{conv}/", server.base_url())),
        "{url}"
    );
    assert!(
        url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires=300"),
        "{url}"
    );
    // A client with nothing but the URL downloads the bytes.
    let len = python(
        &venv,
        "import sys, urllib.request\nprint(len(urllib.request.urlopen(sys.argv[1]).read()))",
        &[&url],
    );
    assert_eq!(len.trim(), data.len().to_string());
    store.delete(&r).await.unwrap();
    assert_eq!(store.stats().await.unwrap().objects, 0);
}

/// Run by `identical_stores_from_two_processes` in a child process: stores the
/// bytes of `$PK_S3_CHILD_DATA` from `CHILD_TASKS` tasks and prints the references.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of identical_stores_from_two_processes"]
async fn child_store_identical() {
    let var = |k| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    let store = Arc::new(s3_store(
        &var(CHILD_ENDPOINT),
        &var(CHILD_BUCKET),
        Organization::Flat,
    ));
    let data = Bytes::from(std::fs::read(var(CHILD_DATA)).unwrap());
    let tasks: Vec<_> = (0..CHILD_TASKS)
        .map(|_| {
            let (store, data) = (store.clone(), data.clone());
            tokio::spawn(async move {
                let meta = conformance::fresh_metadata("proc");
                store.store_bytes("image/png", data, &meta).await
            })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        println!("REF {r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_stores_from_two_processes() {
    let venv = require_venv!();
    let (server, bucket) = moto(&venv);
    let store = s3_store(&server.base_url(), &bucket, Organization::Flat);
    let dir = tempfile::tempdir().unwrap();
    let data = conformance::random_bytes(b"\x89PNG\r\n\x1a\n", 256 * 1024);
    let data_path = dir.path().join("data.png");
    std::fs::write(&data_path, &data).unwrap();

    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            tokio::process::Command::new(&exe)
                .args([
                    "--exact",
                    "child_store_identical",
                    "--ignored",
                    "--nocapture",
                ])
                .env(CHILD_ENDPOINT, server.base_url())
                .env(CHILD_BUCKET, &bucket)
                .env(CHILD_DATA, &data_path)
                .output()
        })
        .collect();
    let mut refs = Vec::new();
    for out in futures::future::join_all(children).await {
        let out = out.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        refs.extend(
            stdout
                .lines()
                .filter_map(|l| l.strip_prefix("REF "))
                .map(|r| r.parse::<StorageReference>().unwrap()),
        );
    }
    assert_eq!(refs.len(), 2 * CHILD_TASKS);
    assert_eq!(refs.iter().collect::<HashSet<_>>().len(), refs.len());
    for r in &refs {
        assert_eq!(store.retrieve_bytes(r).await.unwrap(), data);
    }
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.objects, 1, "exactly one object for identical bytes");
    assert_eq!(stats.references, refs.len() as u64);
    assert_eq!(stats.physical_bytes, data.len() as u64);
    for r in &refs {
        store.delete(r).await.unwrap();
    }
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_stopped_mid_test_gives_typed_errors() {
    let venv = require_venv!();
    let (mut server, bucket) = moto(&venv);
    let store = S3MediaStore::builder()
        .with_bucket(&bucket)
        .with_endpoint(server.base_url())
        .with_allow_http(true)
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .with_retry(0, Duration::from_secs(2))
        .build()
        .unwrap();
    let meta = conformance::fresh_metadata("down");
    let kept = store
        .store_bytes("text/plain", Bytes::from_static(b"before"), &meta)
        .await
        .unwrap();

    server.stop();

    let backend_err = |what: &str, r: Result<_, Error>| match r {
        Err(Error::Backend {
            backend,
            transient,
            operation,
            ..
        }) => {
            assert_eq!(backend, "s3", "{what}");
            assert!(transient, "{what}: a refused connection is transient");
            assert!(!operation.is_empty(), "{what}");
        }
        Err(e) => panic!("{what}: expected Error::Backend, got {e}"),
        Ok(_) => panic!("{what}: succeeded with the server stopped"),
    };
    let png = conformance::random_bytes(b"\x89PNG\r\n\x1a\n", 4096);
    backend_err(
        "store",
        store.store_bytes("image/png", png, &meta).await.map(|_| ()),
    );
    backend_err("retrieve", store.retrieve(&kept).await.map(|_| ()));
    backend_err("delete", store.delete(&kept).await);
    backend_err("stats", store.stats().await.map(|_| ()));
    backend_err(
        "url",
        store.url(&kept, Duration::from_secs(60)).await.map(|_| ()),
    );
}

/// Stores a PDF through `store`, reads it back, checks its presigned URL
/// points at `endpoint` under `prefix`, and deletes it.
async fn store_through(
    store: &dyn promptkit_media_store::MediaLifecycle,
    endpoint: &str,
    bucket: &str,
    prefix: &str,
) {
    let meta = conformance::fresh_metadata("env");
    let data = conformance::random_bytes(b"%PDF-1.7\n", 2048);
    let r = store
        .store_bytes("application/pdf", data.clone(), &meta)
        .await
        .unwrap();
    assert_eq!(store.retrieve_bytes(&r).await.unwrap(), data);
    let url = store.url(&r, Duration::from_secs(60)).await.unwrap();
    let run = meta.run_id.as_deref().unwrap();
    assert!(
        url.starts_with(&format!("{endpoint}/{bucket}/{prefix}/media/{run}/")),
        "{url}"
    );
    store.delete(&r).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_from_variables_with_aws_endpoint() {
    let venv = require_venv!();
    let (server, bucket) = moto(&venv);
    let endpoint = server.base_url();
    let url = format!("s3://{bucket}/from-vars?organization=by-run");
    // AWS_ENDPOINT is object_store's own name (AWS_ENDPOINT_URL works too).
    let store = promptkit_media_store::media_store_from_vars([
        ("MEDIA_STORE_URL", url.as_str()),
        ("AWS_ENDPOINT", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ])
    .unwrap();
    store_through(store.as_ref(), &endpoint, &bucket, "from-vars").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_from_object_store_options_in_the_url() {
    let venv = require_venv!();
    let (server, bucket) = moto(&venv);
    let endpoint = server.base_url();
    // Everything in the URL, nothing in the variables.
    let url = format!(
        "s3://{bucket}/from-query?organization=by-run&aws_endpoint={endpoint}\
         &aws_allow_http=true&aws_access_key_id=test&aws_secret_access_key=query-secret-test"
    );
    let store =
        promptkit_media_store::media_store_from_vars([("MEDIA_STORE_URL", url.as_str())]).unwrap();
    assert!(!format!("{store:?}").contains("query-secret"), "{store:?}");
    store_through(store.as_ref(), &endpoint, &bucket, "from-query").await;
}

/// Env var telling `child_store_from_process_environment` it runs as the child.
const CHILD_ENV: &str = "PK_S3_CHILD_FROM_ENV";

/// Run by `store_from_process_environment_with_aws_endpoint` in a child
/// process whose environment holds the configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of store_from_process_environment_with_aws_endpoint"]
async fn child_store_from_process_environment() {
    let var = |k| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    assert!(std::env::var_os("AWS_ENDPOINT_URL").is_none());
    let store = promptkit_media_store::media_store_from_env().unwrap();
    let (endpoint, bucket) = (var("AWS_ENDPOINT"), var(CHILD_BUCKET));
    store_through(store.as_ref(), &endpoint, &bucket, "from-env").await;
    println!("CHILD OK {}", var(CHILD_ENV));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_from_process_environment_with_aws_endpoint() {
    let venv = require_venv!();
    let (server, bucket) = moto(&venv);
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap());
    child.args([
        "--exact",
        "child_store_from_process_environment",
        "--ignored",
        "--nocapture",
    ]);
    // Only these AWS variables: object_store's from_env() reads the process environment.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AWS_") {
            child.env_remove(k);
        }
    }
    let out = child
        .env(CHILD_ENV, "1")
        .env(CHILD_BUCKET, &bucket)
        .env(
            "MEDIA_STORE_URL",
            format!("s3://{bucket}/from-env?organization=by-run"),
        )
        .env("AWS_ENDPOINT", server.base_url())
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD OK 1"),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A runtime shut down while stores are in flight (a server stopping with
/// requests in progress): each store either reached its caller or left no
/// reference. The marker of a store cut short is removed on a thread of its
/// own, since the runtime runs no more tasks.
#[test]
fn a_runtime_shut_down_mid_store_leaves_no_reference() {
    use promptkit_media_store::{MediaLifecycle, MediaMetadata};
    let venv = require_venv!();
    let (server, bucket) = moto(&venv);
    let received = Arc::new(std::sync::Mutex::new(HashSet::new()));
    let meta = MediaMetadata::new()
        .with_session("s")
        .with_conversation("shutdown");
    for round in 0..8u64 {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let store = s3_store(&server.base_url(), &bucket, Organization::BySession);
        for i in 0..12u64 {
            let (store, received, meta) = (store.clone(), Arc::clone(&received), meta.clone());
            rt.spawn(async move {
                let mut bytes = vec![0u8; 64 * 1024];
                bytes[..16].copy_from_slice(&[round.to_le_bytes(), i.to_le_bytes()].concat());
                if let Ok(r) = store.store_bytes("image/png", bytes.into(), &meta).await {
                    received.lock().unwrap().insert(r.to_string());
                }
            });
        }
        // Let some stores finish, then shut down with others in flight.
        std::thread::sleep(Duration::from_millis(200 * round));
        drop(rt);
    }
    let expected = received.lock().unwrap().clone();
    let check = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = s3_store(&server.base_url(), &bucket, Organization::BySession);
    let listed = || -> HashSet<String> {
        check
            .block_on(store.list())
            .unwrap()
            .into_iter()
            .map(|r| r.reference.to_string())
            .collect()
    };
    // Undo threads may still be at work: wait (up to 20 s) for them.
    for _ in 0..100 {
        if listed() == expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(listed(), expected);
    assert!(!expected.is_empty(), "no store finished before a shutdown");
}
