//! Packs written from the spec: its two documented examples and a pack that
//! uses every section.

use std::collections::HashMap;
use std::path::PathBuf;

use promptkit_pack::{
    Error, LoadOptions, Pack, ProblemKind, SkillSource, ToolChoicePolicy, Warning, load_pack,
};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn strict(name: &str) -> Result<(Pack, Vec<Warning>), Error> {
    Pack::load_with(data(name), LoadOptions::strict())
}

#[test]
fn spec_image_analyzer_example_is_strictly_valid() {
    let (pack, warnings) = strict("spec-example-image-analyzer.pack.json").unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let media = pack.prompt("analyze").unwrap().media.as_ref().unwrap();
    assert!(media.enabled);
    assert_eq!(media.supported_types, ["image"]);
    let image = media.image.as_ref().unwrap();
    assert_eq!(image.max_size_mb, Some(20));
    assert_eq!(image.max_images_per_msg, Some(5));
    assert_eq!(image.default_detail.as_deref(), Some("high"));
    let example = &media.examples[0];
    assert_eq!(example.parts.len(), 2);
    let reference = example.parts[1].media.as_ref().unwrap();
    assert_eq!(reference.file_path.as_deref(), Some("examples/photo.jpg"));
    assert!(media.custom.is_empty());
}

/// The spec's first example uses `{{company}}` without declaring it: the
/// schema accepts it, so strict mode does; the placeholder rule warns, and
/// fails the pack only when warnings are denied.
#[test]
fn spec_customer_support_example_has_an_undeclared_placeholder() {
    let (_, warnings) = strict("spec-example-customer-support.pack.json").unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let err = Pack::load_with(
        data("spec-example-customer-support.pack.json"),
        LoadOptions::strict().deny_warnings(true),
    )
    .unwrap_err();
    let Error::Invalid { problems, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, ProblemKind::Semantic);
    assert_eq!(problems[0].pointer, "/prompts/support/system_template");
    assert!(
        problems[0].message.contains("{{company}}"),
        "{}",
        problems[0]
    );

    // Leniently it loads, and renders once `company` is passed.
    let pack = load_pack(data("spec-example-customer-support.pack.json")).unwrap();
    assert_eq!(pack.warnings().len(), 1);
    let p = pack.prompt("support").unwrap();
    let vars = HashMap::from([
        ("role".to_owned(), "support agent".to_owned()),
        ("company".to_owned(), "TechCo".to_owned()),
    ]);
    assert_eq!(
        pack.render_system(p, &vars).unwrap(),
        "You are a support agent assistant for TechCo."
    );
    // Without it, the undeclared placeholder renders as nothing.
    let vars = HashMap::from([("role".to_owned(), "agent".to_owned())]);
    assert_eq!(
        pack.render_system(p, &vars).unwrap(),
        "You are a agent assistant for ."
    );
}

#[test]
fn every_section_is_parsed() {
    let (pack, warnings) = strict("full.pack.json").unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        pack.schema.as_deref(),
        Some("https://promptpack.org/schema/v1/promptpack.schema.json")
    );
    assert_eq!(pack.version, "2.0.0-beta.1+build.123");
    let engine = pack.template_engine.as_ref().unwrap();
    assert_eq!(engine.features, ["basic_substitution", "fragments"]);
    assert_eq!(pack.fragments.len(), 3);

    let support = pack.prompt("support").unwrap();
    assert_eq!(support.variables.len(), 7);
    let role = support.variable("role").unwrap();
    assert!(role.required);
    assert_eq!(role.validation.as_ref().unwrap().max_length, Some(50));
    let binding = support
        .variable("customer_name")
        .unwrap()
        .binding
        .as_ref()
        .unwrap();
    assert_eq!(binding.kind.as_deref(), Some("session"));
    assert_eq!(binding.filter.as_deref(), Some("trim"));

    let policy = support.effective_tool_policy();
    assert_eq!(policy.tool_choice(), ToolChoicePolicy::Auto);
    assert_eq!(policy.max_rounds(), 3);
    assert_eq!(policy.max_tool_calls_per_turn(), 4);
    let tools = pack.tool_definitions(support).unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["lookup_order", "create_ticket"],
        "blocklisted delete_data is dropped"
    );
    // a tool without parameters takes an empty object
    assert_eq!(
        pack.tools["delete_data"].to_definition().parameters["type"],
        "object"
    );

    let pipeline = support.pipeline.as_ref().unwrap();
    assert_eq!(pipeline.stages, ["template", "provider", "validator"]);
    assert_eq!(pipeline.middleware[0].middleware_type, "custom");

    let g = support.generation.as_ref().unwrap();
    assert_eq!(g.top_k, Some(None), "explicit null is kept");
    assert_eq!(support.parameters().max_tokens, Some(1500));
    let claude = support.parameters_for_model("claude-3-opus");
    assert_eq!(claude.temperature, Some(0.3));
    assert_eq!(claude.max_tokens, Some(1500));
    assert_eq!(support.parameters_for_model("other").temperature, Some(0.7));

    assert_eq!(support.validators.len(), 4);
    assert!(support.validators[0].fail_on_violation);
    assert!(!support.validators[2].enabled);
    let eval = &support.evals[0];
    assert_eq!(eval.metric.as_ref().unwrap().name, "promptpack_tone_score");
    assert_eq!(eval.threshold.as_ref().unwrap().value, Some(4.0));
    assert_eq!(eval.sample_percentage, Some(10.0));
    assert_eq!(support.tested_models[0].avg_latency_ms, Some(1200.0));
    assert_eq!(support.model_overrides.len(), 2);

    let media = pack.prompt("analyze").unwrap().media.as_ref().unwrap();
    assert_eq!(media.audio.as_ref().unwrap().max_duration_sec, Some(300));
    assert_eq!(
        media.document.as_ref().unwrap().extraction_mode.as_deref(),
        Some("structured")
    );
    assert!(media.custom["model3d"].validation_params.is_some());
    assert_eq!(media.examples[0].parts.len(), 4);

    let meta = pack.metadata.as_ref().unwrap();
    assert_eq!(meta.language.as_deref(), Some("en"));
    assert_eq!(
        meta.cost_estimate.as_ref().unwrap().max_cost_usd,
        Some(0.05)
    );
    assert_eq!(meta.extra["owner"], "support-team");
    assert_eq!(
        pack.compilation.as_ref().unwrap().source.as_deref(),
        Some("arena.yaml")
    );
    assert_eq!(pack.evals[0].id, "brand-consistency");

    let wf = pack.workflow.as_ref().unwrap();
    assert_eq!(wf.entry, "triage");
    assert_eq!(
        wf.states["triage"].on_max_visits.as_deref(),
        Some("closing")
    );
    assert!(wf.states["closing"].terminal);
    assert_eq!(
        wf.states["analysis"].artifacts["commit_sha"].mime_type,
        "text/plain"
    );
    let engine = wf.engine.as_ref().unwrap();
    assert_eq!(engine.budget.as_ref().unwrap().max_total_visits, Some(50));
    assert_eq!(engine.extra["timeout"], "5m");

    let agents = pack.agents.as_ref().unwrap();
    assert_eq!(agents.entry, "support");
    assert_eq!(
        agents.members["analyze"].input_modes,
        ["text/plain", "image/png"]
    );

    assert_eq!(pack.skills.len(), 3);
    assert_eq!(pack.skills[0], SkillSource::Path("./skills".into()));
    assert!(matches!(
        &pack.skills[1],
        SkillSource::PathSource { preload: true, .. }
    ));
    assert!(matches!(
        &pack.skills[2],
        SkillSource::Inline { name, .. } if name == "escalation-protocol"
    ));
}

#[test]
fn full_pack_renders_with_fragments_defaults_and_overrides() {
    let pack = load_pack(data("full.pack.json")).unwrap();
    let p = pack.prompt("support").unwrap();
    let vars = HashMap::from([
        ("role".to_owned(), "support".to_owned()),
        ("customer_name".to_owned(), "Ann".to_owned()),
        ("priority".to_owned(), "high".to_owned()),
    ]);
    assert_eq!(
        pack.render_system(p, &vars).unwrap(),
        "You are a support assistant for TechCo.\nCustomer: Ann\nIssue: unspecified\n\
         Hello! How can I help you today? Refunds within 30 days.\nPriority: high. Tier: 1."
    );
    let claude = pack
        .render_system_for_model(p, "claude-3-opus", &vars)
        .unwrap();
    assert!(
        claude.starts_with("<thinking>\nYou are a support assistant"),
        "{claude}"
    );
    assert!(claude.ends_with("Tier: 1.\n</thinking>"), "{claude}");
    assert_eq!(
        pack.render_system_for_model(p, "gpt-4", &vars).unwrap(),
        "Be brief. You help Ann."
    );
    // artifacts are passed like any other value
    let a = pack.prompt("analyze").unwrap();
    let vars = HashMap::from([("artifacts.commit_sha".to_owned(), "abc123".to_owned())]);
    assert!(
        pack.render_system(a, &vars)
            .unwrap()
            .ends_with("Commit: abc123")
    );
}

#[test]
fn serialising_and_reloading_is_lossless() {
    let pack = load_pack(data("full.pack.json")).unwrap();
    let json = serde_json::to_string(&pack).unwrap();
    let again = Pack::from_json_str(&json).unwrap();
    assert_eq!(pack.prompts, again.prompts);
    assert_eq!(pack.workflow, again.workflow);
    assert_eq!(pack.skills, again.skills);
    assert_eq!(pack.metadata, again.metadata);
    assert!(again.warnings().is_empty(), "{:?}", again.warnings());
}
