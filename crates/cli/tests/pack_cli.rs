//! Runs the built `promptkit` binary on real pack files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pack_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../pack/tests/data")
        .join(name)
}

fn promptkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_promptkit"))
        .args(args)
        .output()
        .expect("run promptkit")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn validate_lenient_prints_warnings_and_succeeds() {
    let tutorial = pack_data("image-generator.pack.json");
    let out = promptkit(&["pack", "validate", path_str(&tutorial)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with(&format!(
        "{}:14:5: warning: /prompts/image-generator/version: ",
        tutorial.display()
    )));
    assert!(lines[1].contains(":30:7: warning: /tools/dalle-image-generator/name: "));
}

#[test]
fn validate_strict_fails_with_one_line_per_problem() {
    let tutorial = pack_data("image-generator.pack.json");
    let full = pack_data("full.pack.json");
    let out = promptkit(&[
        "pack",
        "validate",
        "--strict",
        path_str(&full),
        path_str(&tutorial),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (line, (position, pointer)) in lines.iter().zip([
        ("14:5", "/prompts/image-generator/version"),
        ("30:7", "/tools/dalle-image-generator/name"),
    ]) {
        assert!(
            line.starts_with(&format!(
                "{}:{position}: error: {pointer}: ",
                tutorial.display()
            )),
            "{line}"
        );
        assert!(line.ends_with("[schema]"), "{line}");
    }
    assert!(
        stderr(&out).contains("2 files checked (strict mode), 1 invalid"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn validate_reports_parse_errors_with_position_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\n  \"id\": \"x\",\n  oops\n}").unwrap();
    let missing = dir.path().join("missing.yaml");
    let out = promptkit(&["pack", "validate", path_str(&broken), path_str(&missing)]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with(&format!("{}:3:3: error: ", broken.display())),
        "{text}"
    );
    assert!(
        lines[1].starts_with(&format!("{}: error: cannot read pack", missing.display())),
        "{text}"
    );
}

#[test]
fn validate_semantic_problem_in_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("p.yaml");
    std::fs::write(
        &pack,
        "id: p\nname: P\nversion: 1.0.0\ntemplate_engine: {version: v1, syntax: '{{variable}}'}\n\
         prompts:\n  support:\n    id: support\n    name: S\n    version: 1.0.0\n    \
         system_template: hi\n    tools: [lookup]\n",
    )
    .unwrap();
    // The schema accepts the pack: strict mode passes with a warning...
    let out = promptkit(&["pack", "validate", "--strict", path_str(&pack)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line =
        "/prompts/support/tools/0: tool `lookup` is not defined in the pack's `tools` [semantic]";
    assert_eq!(
        stdout(&out).trim(),
        format!("{}:11:13: warning: {line}", pack.display())
    );
    // ...and --deny-warnings makes it an error.
    let out = promptkit(&[
        "pack",
        "validate",
        "--strict",
        "--deny-warnings",
        path_str(&pack),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out).trim(),
        format!("{}:11:13: error: {line}", pack.display())
    );
    assert!(
        stderr(&out).contains("1 file checked (strict mode, warnings denied), 1 invalid"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hostile_inputs_stop_with_a_clear_error() {
    // An endless file: reading stops at the size limit.
    let out = promptkit(&["pack", "validate", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out).trim(),
        "/dev/zero: error: pack is larger than 16777216 bytes; reading stopped there"
    );
    // 100,000 levels of flow nesting: refused where the limit is passed.
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("deep.yaml");
    std::fs::write(
        &deep,
        format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
    )
    .unwrap();
    let out = promptkit(&["pack", "validate", path_str(&deep)]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out).trim(),
        format!(
            "{}:1:68: error: mappings and sequences nest deeper than 64 levels",
            deep.display()
        )
    );
}

#[test]
fn inspect_summarises_the_pack() {
    let out = promptkit(&["pack", "inspect", path_str(&pack_data("full.pack.json"))]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "pack customer-support 2.0.0-beta.1+build.123 (Customer Support Pack)",
        "tools (3):",
        "lookup_order(order_id): Look up order details by order ID",
        "prompts (2):",
        "support: Support Bot (version 1.0.0)",
        "variable role: string, required",
        "variable company: string, default \"TechCo\"",
        "tool policy: choice auto, max rounds 3, max calls per turn 4, blocked [delete_data]",
        "parameters: temperature=0.7 max_tokens=1500 top_p=0.9 top_k=null",
        "validator banned_words (fails turn)",
        "media: enabled types [image, audio, video, document, model3d]",
        "workflow: entry triage, 3 states",
        // media limits: sizes, formats, counts, durations, pages
        "image: max 20 MB, formats [jpeg, png, webp], at most 5 per message, detail high",
        "audio: max 25 MB, formats [mp3, wav], at most 300 s",
        "document: max 50 MB, formats [pdf], at most 50 pages, extraction structured",
        // prompt-level and pack-level evals
        "eval tone-check: llm_judge, sample_turns (sample 10%), metric promptpack_tone_score (gauge), threshold gte 4",
        "eval brand-consistency: contains, every_turn",
        // variable rules
        "variable role: string, required, pattern /^[a-zA-Z\\s]+$/, length 3..50",
        "variable refund_days: integer, default 30, range 1..365",
        "variable priority: string, default \"medium\", one of [low, medium, high]",
        // a prompt without a tool policy gets the spec defaults, marked
        "tool policy (defaults): choice auto, max rounds 5, max calls per turn 10",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn inspect_marks_each_defaulted_tool_policy_value() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("p.yaml");
    std::fs::write(
        &pack,
        "id: p\nname: P\nversion: 1.0.0\ntemplate_engine: {version: v1, syntax: '{{variable}}'}\n\
         prompts:\n  a: {id: a, name: A, version: 1.0.0, system_template: hi, tool_policy: {max_rounds: 2}}\n",
    )
    .unwrap();
    let out = promptkit(&["pack", "inspect", path_str(&pack)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "tool policy: choice auto (default), max rounds 2, max calls per turn 10 (default)"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn inspect_json_keeps_unknown_fields_and_empty_values() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("p.json");
    std::fs::write(
        &pack,
        r#"{"id": "p", "name": "P", "version": "1.0.0", "x-owner": "team-a", "fragments": {},
            "template_engine": {"version": "v1", "syntax": "{{variable}}"},
            "prompts": {"a": {"id": "a", "name": "A", "version": "1.0.0", "system_template": "",
                              "tools": [], "variables": []}}}"#,
    )
    .unwrap();
    let out = promptkit(&["pack", "inspect", "--json", path_str(&pack)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["x-owner"], "team-a");
    assert_eq!(v["fragments"], serde_json::json!({}));
    assert_eq!(v["prompts"]["a"]["tools"], serde_json::json!([]));
    assert_eq!(v["prompts"]["a"]["system_template"], "");
}

#[test]
fn render_errors_end_with_a_newline() {
    let full = pack_data("full.pack.json");
    let out = promptkit(&["pack", "render", path_str(&full), "--prompt", "support"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.ends_with('\n'), "{err:?}");
    for line in err.lines() {
        assert!(line.starts_with(&full.display().to_string()), "{err:?}");
    }
}

#[test]
fn inspect_json_is_the_parsed_pack() {
    let out = promptkit(&[
        "pack",
        "inspect",
        "--json",
        path_str(&pack_data("image-generator.pack.json")),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["id"], "image-generator");
    assert_eq!(
        v["prompts"]["image-generator"]["parameters"]["max_tokens"],
        500
    );
}

#[test]
fn render_prints_the_system_prompt() {
    let full = pack_data("full.pack.json");
    let out = promptkit(&[
        "pack",
        "render",
        path_str(&full),
        "--prompt",
        "support",
        "--var",
        "role=support",
        "--var",
        "customer_name=Ann = B",
        "--model",
        "gpt-4",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Be brief. You help Ann = B.\n");

    // the only prompt is chosen without --prompt
    let out = promptkit(&[
        "pack",
        "render",
        path_str(&pack_data("image-generator.pack.json")),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("You are an expert AI image generator."));
}

#[test]
fn render_errors_are_clear() {
    let full = pack_data("full.pack.json");
    let out = promptkit(&["pack", "render", path_str(&full), "--prompt", "support"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("prompt `support`: variable `role`: required variable has no value"),
        "{}",
        stderr(&out)
    );

    let out = promptkit(&["pack", "render", path_str(&full)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("choose one with --prompt (analyze, support)"),
        "{}",
        stderr(&out)
    );

    let out = promptkit(&["pack", "render", path_str(&full), "--prompt", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no prompt `nope`"));

    let out = promptkit(&["pack", "render", path_str(&full), "--var", "novalue"]);
    assert_eq!(out.status.code(), Some(2), "usage error");
    assert!(stderr(&out).contains("expected KEY=VALUE"));
}
