#!/usr/bin/env python3
"""Computes the official schema's verdict on every pack of this corpus.

Each pack is validated with Python `jsonschema` (Draft 2020-12, formats as
annotations, the draft's default) against the published schema its `$schema`
declares, using the version table of ../../schema/versions/README.md (an
unknown or absent `$schema` means the newest). The result is written to
verdicts.json, which the Rust tests compare against:

    target/pyvenv/bin/python crates/pack/tests/corpus/compute_verdicts.py
"""
import json
import pathlib
import sys

import jsonschema
import yaml

HERE = pathlib.Path(__file__).resolve().parent
SCHEMAS = HERE.parent.parent / "schema" / "versions"
TABLE = {
    "v1.0": "v1.0",
    "v1.1": "v1.1", "v1.1.0": "v1.1",
    "v1.2": "v1.2.0", "v1.2.0": "v1.2.0",
    "v1.3": "v1.3.0", "v1.3.0": "v1.3.0",
    "v1.3.1": "v1.3.1",
    "v1.4": "v1.4.0", "v1.4.0": "v1.4.0", "v1": "v1.4.0", "latest": "v1.4.0",
}
LATEST = "v1.4.0"


def declared(doc):
    url = doc.get("$schema") if isinstance(doc, dict) else None
    if not isinstance(url, str):
        return LATEST
    if "/schema/" in url:
        segment = url.split("/schema/", 1)[1].split("/", 1)[0]
    elif "/" not in url:
        segment = url
    else:
        return LATEST
    return TABLE.get(segment, LATEST)


def load(path):
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        return yaml.safe_load(text)
    return json.loads(text)


def main():
    verdicts = {}
    for path in sorted(HERE.iterdir()):
        if not path.name.endswith((".pack.json", ".pack.yaml", ".pack.yml")):
            continue
        doc = load(path)
        version = declared(doc)
        schema = json.loads((SCHEMAS / f"{version}.schema.json").read_text(encoding="utf-8"))
        validator = jsonschema.Draft202012Validator(schema)
        errors = sorted(
            "/" + "/".join(str(p) for p in e.absolute_path) for e in validator.iter_errors(doc)
        )
        verdicts[path.name] = {"schema": version, "valid": not errors, "error_paths": errors}
    out = HERE / "verdicts.json"
    out.write_text(json.dumps(verdicts, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    valid = sum(v["valid"] for v in verdicts.values())
    print(f"{len(verdicts)} packs, {valid} valid per the schema -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
