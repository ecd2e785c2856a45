//! Smoke runs of the examples: offline, on S3 (moto) and Azure (Azurite), and against an
//! OpenAI-compatible server nobody here wrote (llmock).

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{R, cargo};

/// A password put in the OpenAI base URL of the runs against llmock: no
/// example may print it (they mask URLs like the CLI does).
const URL_PASSWORD: &str = "smoke-url-password";

/// Azurite's documented development account key (public, not a secret).
const AZURITE_DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A background server killed (with its process group) on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(venv: &Path, program: &str, args: &[&str], port: u16) -> Result<Server, String> {
        use std::os::unix::process::CommandExt;
        let name = Path::new(program)
            .file_name()
            .map_or_else(|| "server".into(), |n| n.to_string_lossy());
        let log = std::env::temp_dir().join(format!("xtask-{name}-{port}.log"));
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(venv.join("bin").join(program))
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("start {program}: {e}"))?;
        let mut server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("{program} exited with {status}:\n{log}"));
            }
            if Instant::now() > deadline {
                return Err(format!("{program} did not listen on port {port}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }
}

/// Kills (by PID, never a group) the processes whose command line has
/// `--port P` for one of `ports`: mock-ai-api starts its uvicorn servers in
/// sessions of their own, out of reach of the process-group kill.
fn kill_listeners_on(ports: &[u16]) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmd
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let ours = args
            .windows(2)
            .any(|w| w[0] == "--port" && ports.iter().any(|p| w[1] == p.to_string()));
        if ours && pid > 1 && pid != std::process::id() as i32 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(Some(_)))
            && let Ok(pid) = i32::try_from(self.child.id())
            && pid > 1
        {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port on 127.0.0.1 that this run has not handed out before (two
/// `bind(0)` calls in a row may return the same port).
fn free_port() -> Result<u16, String> {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| e.to_string())?;
        if !given.contains(&port) {
            given.push(port);
            return Ok(port);
        }
    }
    Err("no fresh TCP port on 127.0.0.1".into())
}

/// Runs the image-generator example with `envs` and checks its output.
fn run_example(name: &str, dir: &Path, envs: &[(&str, String)], expect: &[&str]) -> R {
    run_example_with(name, dir, envs, &[], None, expect)
}

/// Runs the image-generator with extra arguments and, optionally, text on its stdin.
fn run_example_with(
    name: &str,
    dir: &Path,
    envs: &[(&str, String)],
    args: &[&str],
    stdin: Option<&str>,
    expect: &[&str],
) -> R {
    let media = dir.join(name);
    let media = media.to_str().ok_or("the smoke directory is not UTF-8")?;
    let args = [&["--media-dir", media], args].concat();
    run_named("image-generator", name, envs, &args, stdin, expect)
}

/// Runs `cargo run --example <example> -- <args>` (run `name`) and checks that
/// its stdout contains every line of `expect`.
fn run_named(
    example: &str,
    name: &str,
    envs: &[(&str, String)],
    args: &[&str],
    stdin: Option<&str>,
    expect: &[&str],
) -> R {
    use std::io::Write;
    eprintln!("+ smoke: {example} ({name})");
    let mut child = cargo()
        .args(["run", "--quiet", "--example", example])
        // The cloud stores are opt-in features of the examples (examples/Cargo.toml).
        .args(
            envs.iter()
                .any(|(k, _)| *k == "MEDIA_STORE_URL")
                .then_some(["--features", "s3,gcs,azure"])
                .into_iter()
                .flatten(),
        )
        .arg("--")
        .args(args)
        // Default SDK settings: nothing from the caller's environment.
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_MODEL")
        .env_remove("PROMPTKIT_OPENAI_TOOL_MEDIA")
        .env_remove("MEDIA_STORE_URL")
        .env_remove("MEDIA_DIR")
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.unwrap_or("").as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    if !out.status.success() {
        return Err(format!("{example} ({name}) exited with {}", out.status));
    }
    for e in expect {
        if !stdout.contains(e) {
            return Err(format!("{example} ({name}) output lacks `{e}`"));
        }
    }
    if stdout.contains(URL_PASSWORD) {
        return Err(format!("{example} ({name}) printed the password of a URL"));
    }
    Ok(())
}

/// Runs the image-generator with `envs` and `args`, which it must refuse:
/// it exits with a failure and its stderr says `expect`.
fn run_refused(name: &str, envs: &[(&str, String)], args: &[&str], expect: &str) -> R {
    eprintln!("+ smoke: image-generator ({name}, must be refused)");
    let out = cargo()
        .args(["run", "--quiet", "--example", "image-generator"])
        .args(["--features", "s3,gcs,azure", "--"])
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .env_remove("MEDIA_DIR")
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    if out.status.success() {
        return Err(format!("image-generator ({name}) was not refused"));
    }
    if !stderr.contains(expect) {
        return Err(format!("image-generator ({name}) did not say `{expect}`"));
    }
    Ok(())
}

/// The other examples (streaming, tools, vision, resume), with `envs`: `run`
/// names the setup, and the media and state go under `dir`. `expect` is what
/// every setup prints; each example adds its own checks.
fn run_patterns(run: &str, dir: &Path, envs: &[(&str, String)], expect: &[&str]) -> R {
    let path = |sub: &str| dir.join(format!("{run}-{sub}")).display().to_string();
    let (media, state) = (path("media"), path("state"));
    let checks = |own: &[&'static str]| [expect, own].concat();
    run_named(
        "streaming",
        run,
        envs,
        &[],
        None,
        &checks(&[
            "Assistant: ",
            "streamed ",
            "text delta(s)",
            "history: 2 messages",
        ]),
    )?;
    run_named(
        "tools",
        run,
        envs,
        &[],
        None,
        &checks(&[
            "tool called: weather ",
            "model asked for: weather(",
            "tool result sent back to the model: {\"city\":",
            "1 tool call(s)",
        ]),
    )?;
    run_named(
        "vision",
        run,
        envs,
        &["--media-dir", &media],
        None,
        &checks(&[
            "image externalized: ",
            "image rehydrated for the provider: ",
            "memory: 4 messages, 1 media part(s) (1 externalized): 0 inline media bytes",
        ]),
    )?;
    run_named(
        "resume",
        run,
        envs,
        &["--media-dir", &media, "--state-dir", &state],
        None,
        &checks(&[
            "photo externalized: ",
            "saved conversation ",
            " with 4 messages",
            "history intact: yes",
            "media still retrievable: ",
            "conversation now has 6 messages",
        ]),
    )
}

/// All smoke runs.
pub(crate) fn smoke_examples(venv: &Path, envs: &[(&str, String)]) -> R {
    let dir = std::env::temp_dir().join(format!("promptkit-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let result = smoke_all(venv, envs, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn smoke_all(venv: &Path, envs: &[(&str, String)], dir: &Path) -> R {
    let base: Vec<(&str, String)> = envs.to_vec();
    // What every successful run prints: three externalized images and real stats.
    let offline = [
        "image externalized: ",
        "Objects stored:      3",
        "References:          4",
    ];
    run_example("offline", dir, &base, &offline)?;
    run_example_with(
        "interactive",
        dir,
        &base,
        &["--interactive", "--organization", "flat"],
        Some("Draw a lighthouse in a storm\nhello\nquit\n"),
        &["you> ", "image externalized: ", "Objects stored:      1"],
    )?;
    // The other patterns, offline with the mock model.
    let mock = ["Provider: built-in offline mock model"];
    run_patterns("offline", dir, &base, &mock)?;

    // The same program on S3 (moto), chosen by one environment variable.
    let port = free_port()?;
    let p = port.to_string();
    let moto = Server::start(venv, "moto_server", &["-H", "127.0.0.1", "-p", &p], port)?;
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    let status = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import boto3,sys; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test').create_bucket(Bucket='smoke-media')",
            &endpoint,
        ])
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("could not create the smoke bucket on moto".into());
    }
    let mut s3 = base.clone();
    s3.extend([
        ("MEDIA_STORE_URL", "s3://smoke-media/media".to_string()),
        ("AWS_ENDPOINT", endpoint),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
    ]);
    run_example("s3", dir, &s3, &offline)?;
    // `--organization` applies to the URL's store too (never silently ignored).
    run_example_with(
        "s3-organization",
        dir,
        &s3,
        &["--organization", "by-run", "--no-dedup-demo"],
        None,
        &["(by-run, from --organization)", "image externalized: "],
    )?;
    // ... and is refused, not ignored, when the URL names another layout.
    let mut conflicting = s3.clone();
    conflicting.retain(|(k, _)| *k != "MEDIA_STORE_URL");
    conflicting.push((
        "MEDIA_STORE_URL",
        "s3://smoke-media/media?organization=flat".into(),
    ));
    run_refused(
        "s3-organization-conflict",
        &conflicting,
        &["--organization", "by-run"],
        "--organization by-run conflicts with organization=flat in MEDIA_STORE_URL",
    )?;
    // The other patterns with their media on S3 (vision and resume store some).
    run_patterns("s3", dir, &s3, &mock)?;
    drop(moto);

    // And on Azure Blob Storage (Azurite), chosen the same way.
    let azurite = base
        .iter()
        .find(|(k, _)| *k == "PROMPTKIT_AZURITE")
        .map(|(_, v)| v.clone())
        .ok_or("PROMPTKIT_AZURITE is not set")?;
    let port = free_port()?;
    let data = dir.join("azurite-data");
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    let azure = Server::start(
        venv,
        &azurite,
        &[
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--location",
            &data.display().to_string(),
            "--silent",
            "--skipApiVersionCheck",
            "--loose",
        ],
        port,
    )?;
    let blob_url = format!("http://127.0.0.1:{}", azure.port);
    let status = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import sys\nfrom azure.storage.blob import BlobServiceClient\n\
             BlobServiceClient.from_connection_string('DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=' + sys.argv[2] + ';BlobEndpoint=' + sys.argv[1] + '/devstoreaccount1;').create_container('smoke-media')",
            &blob_url,
            AZURITE_DEV_KEY,
        ])
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("could not create the smoke container on Azurite".into());
    }
    let mut az = base.clone();
    az.extend([
        ("MEDIA_STORE_URL", "az://smoke-media/media".to_string()),
        ("AZURE_STORAGE_USE_EMULATOR", "true".into()),
        ("AZURITE_BLOB_STORAGE_URL", blob_url),
    ]);
    run_example("azure", dir, &az, &offline)?;
    drop(azure);

    // Against llmock, an OpenAI-compatible server nobody here wrote, in its
    // default mode (`--tool-mode auto`: it calls a tool until the last message
    // is a tool result), with the SDK's default settings.
    let port = free_port()?;
    let p = port.to_string();
    let llmock = Server::start(
        venv,
        "llmock",
        &["serve", "--host", "127.0.0.1", "--port", &p],
        port,
    )?;
    let mut oa = base.clone();
    oa.extend([
        ("OPENAI_API_KEY", "sk-smoke-test".to_string()),
        (
            "OPENAI_BASE_URL",
            format!("http://smoke:{URL_PASSWORD}@127.0.0.1:{}/v1", llmock.port),
        ),
    ]);
    // llmock's images are small SVGs: externalize everything to see them stored.
    run_example_with(
        "openai-compatible",
        dir,
        &oa,
        &["--threshold-kb", "0"],
        None,
        &[
            "Provider: OpenAI (http://***:***@127.0.0.1:",
            "image externalized: ",
            "image/svg+xml",
        ],
    )?;
    // The other patterns against llmock: real streaming, tool calls and images over HTTP.
    run_patterns("openai-compatible", dir, &oa, &["Provider: OpenAI"])?;
    drop(llmock);

    // Against the in-repo mock server scripted to behave the same way
    // (`mock-openai --tool-mode auto`), which also checks what was sent.
    crate::run(cargo().args([
        "build",
        "--quiet",
        "-p",
        "promptkit-mock-openai",
        "--bin",
        "mock-openai",
    ]))?;
    let port = free_port()?;
    let p = port.to_string();
    // Cargo's target folder (`CARGO_TARGET_DIR` when set).
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| crate::root().join("target"));
    let program = target.join("debug/mock-openai");
    let program = program
        .to_str()
        .ok_or("the target directory is not UTF-8")?;
    let agent_loop = Server::start(venv, program, &["--port", &p, "--tool-mode", "auto"], port)?;
    let mut mo = base.clone();
    mo.extend([
        ("OPENAI_API_KEY", "sk-smoke-test".to_string()),
        (
            "OPENAI_BASE_URL",
            format!("http://127.0.0.1:{}/v1", agent_loop.port),
        ),
    ]);
    run_example_with(
        "mock-openai-auto",
        dir,
        &mo,
        &["--threshold-kb", "0", "--no-dedup-demo"],
        None,
        &[
            "Provider: OpenAI",
            "image externalized: ",
            // The model was told about the image (by reference), not shown it.
            " px, stored as file:",
            "; described, not attached]",
        ],
    )?;
    run_patterns("mock-openai-auto", dir, &mo, &["Provider: OpenAI"])?;
    drop(agent_loop);

    // Against mock-ai-api, a second server nobody here wrote (its chat never
    // calls our tool, so this run checks chat interop; its images are covered
    // by the provider's interop tests).
    let (port, other) = (free_port()?, free_port()?);
    let (p, q) = (port.to_string(), other.to_string());
    let result = Server::start(
        venv,
        "mock-ai-api",
        &["--openai-port", &p, "--anthropic-port", &q],
        port,
    )
    .and_then(|server| {
        let mut env = oa.clone();
        env.retain(|(k, _)| *k != "OPENAI_BASE_URL");
        env.push((
            "OPENAI_BASE_URL",
            format!("http://127.0.0.1:{}/v1", server.port),
        ));
        env.push(("OPENAI_MODEL", "gpt-4o".into()));
        run_example_with(
            "mock-ai-api",
            dir,
            &env,
            &["--no-dedup-demo"],
            None,
            &["Provider: OpenAI", "Assistant: ", "Total cost: $"],
        )
    });
    kill_listeners_on(&[port, other]);
    result?;
    Ok(())
}
