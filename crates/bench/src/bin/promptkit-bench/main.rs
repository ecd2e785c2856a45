//! `promptkit-bench`: the benchmark harness run by `cargo xtask bench`.
//!
//! ```text
//! promptkit-bench [--quick] [--only memory,store,scale,overhead,concurrency,load,tokens,build]
//!                 [--no-cold-build] [--peers PYTHON] [--report PATH]
//! ```
//!
//! `build` (a cold build of the image-generator example in an empty target
//! directory: minutes of CPU) is left out by `--no-cold-build` and by
//! `--quick`, unless `--only` names it.
//!
//! Prints one table per section and writes them all as Markdown to the report
//! path (default `target/bench-report.md`). Child roles (started by the
//! harness and the reliability tests, not meant for direct use):
//! `serve WORKLOAD..`, `memory-child N MODE`, `crash-child DIR SEED`,
//! `peer-child TURNS SIZE BASE_URL`, `scale-child DIR HITS`.

mod build;
mod load;
mod memory;
mod peers;
mod report;
mod scale;
mod store;
mod tokens;
mod turns;

use std::path::PathBuf;
use std::process::ExitCode;

use report::Section;

/// Counts live heap bytes, for the memory benchmark.
#[global_allocator]
pub(crate) static ALLOC: cap::Cap<std::alloc::System> =
    cap::Cap::new(std::alloc::System, usize::MAX);

const SECTIONS: &[&str] = &[
    "memory",
    "store",
    "scale",
    "overhead",
    "concurrency",
    "load",
    "tokens",
    "build",
];

#[derive(Debug)]
struct Options {
    quick: bool,
    only: Vec<String>,
    peers: Option<PathBuf>,
    report: PathBuf,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        quick: false,
        only: SECTIONS.iter().map(|s| (*s).to_owned()).collect(),
        peers: None,
        report: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-report.md"),
    };
    let (mut only_given, mut no_cold_build) = (false, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--no-cold-build" => no_cold_build = true,
            "--only" => {
                only_given = true;
                let v = it.next().ok_or("--only needs a list")?;
                o.only = v.split(',').map(str::to_owned).collect();
                if let Some(bad) = o
                    .only
                    .iter()
                    .find(|s| !SECTIONS.contains(&s.as_str()) && *s != "peers")
                {
                    return Err(format!(
                        "unknown section {bad:?}; known: {}, peers",
                        SECTIONS.join(", ")
                    ));
                }
            }
            "--peers" => {
                o.peers = Some(PathBuf::from(
                    it.next().ok_or("--peers needs the venv's python")?,
                ))
            }
            "--report" => o.report = PathBuf::from(it.next().ok_or("--report needs a path")?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if no_cold_build || (o.quick && !only_given) {
        o.only.retain(|s| s != "build");
    }
    Ok(o)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn child_role(args: &[String]) -> Option<Result<(), String>> {
    let role = args.first()?.as_str();
    let rest = &args[1..];
    Some(match role {
        "serve" => promptkit_bench::server::Workload::from_args(rest)
            .ok_or_else(|| format!("bad workload {rest:?}"))
            .and_then(|w| {
                runtime()?
                    .block_on(promptkit_bench::server::serve(&w))
                    .map_err(|e| e.to_string())
            }),
        "memory-child" => match rest {
            [n, mode] => n
                .parse()
                .map_err(|e| format!("{n:?}: {e}"))
                .and_then(|n| memory::child(n, mode)),
            _ => Err("usage: memory-child N MODE".into()),
        },
        "crash-child" => match rest {
            [dir, seed] => seed
                .parse()
                .map_err(|e| format!("{seed:?}: {e}"))
                .and_then(|seed| {
                    runtime()?.block_on(promptkit_bench::crash::run_child(dir.as_ref(), seed))
                }),
            _ => Err("usage: crash-child DIR SEED".into()),
        },
        "peer-child" => peers::child(rest),
        "scale-child" => scale::child(rest),
        _ => return None,
    })
}

fn run(o: &Options) -> Result<Vec<Section>, String> {
    let rt = runtime()?;
    let mut sections = Vec::new();
    for name in o.only.iter().filter(|n| SECTIONS.contains(&n.as_str())) {
        eprintln!("== {name}");
        let s = match name.as_str() {
            "memory" => memory::bench(o.quick)?,
            "store" => rt.block_on(store::bench(o.quick))?,
            "scale" => rt.block_on(scale::bench(o.quick))?,
            "overhead" => rt.block_on(turns::overhead(o.quick))?,
            "concurrency" => rt.block_on(turns::concurrency(o.quick))?,
            "load" => rt.block_on(load::bench(o.quick))?,
            "tokens" => rt.block_on(tokens::bench(o.quick))?,
            "build" => build::bench()?,
            _ => continue,
        };
        println!("{}", s.markdown());
        sections.push(s);
    }
    if let Some(python) = &o.peers {
        eprintln!("== peers");
        let s = peers::bench(python, o.quick)?;
        println!("{}", s.markdown());
        sections.push(s);
    }
    Ok(sections)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(r) = child_role(&args) {
        return match r {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("promptkit-bench {}: {e}", args[0]);
                ExitCode::FAILURE
            }
        };
    }
    let result = parse(&args).and_then(|o| {
        let sections = run(&o)?;
        let mut md = String::from("# PromptKit-rs benchmark report\n\n");
        md.push_str(&machine_line());
        for s in &sections {
            md.push_str(&s.markdown());
        }
        if let Some(parent) = o.report.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&o.report, md).map_err(|e| format!("{}: {e}", o.report.display()))?;
        eprintln!("report written to {}", o.report.display());
        Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("promptkit-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn machine_line() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    format!("Machine: {cpus} CPUs ({model}); build: {profile}.\n\n")
}
