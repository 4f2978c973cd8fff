"""Validate manifest.yml against Slack's published JSON schema (../shared/slack)."""

import json
import sys
from pathlib import Path

import jsonschema
import yaml

root = Path(__file__).resolve().parent.parent
schema_path = root.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"
manifest = yaml.safe_load((root / "manifest.yml").read_text(encoding="utf-8"))
schema = json.loads(schema_path.read_text(encoding="utf-8"))
errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(manifest), key=lambda e: list(e.path))
for error in errors:
    print(f"manifest.yml: {'/'.join(map(str, error.path)) or '(top)'}: {error.message}", file=sys.stderr)
if errors:
    sys.exit(1)
print(f"manifest.yml is valid against {schema_path.name}")
