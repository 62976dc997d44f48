"""fhir.resources (R4B models, wire-identical to R4 4.0.1 for what we emit):
structural parsing of what the mappers produce. Only the tests use it, so
fhir.resources is a test dependency; the models load lazily (about a
second)."""

from __future__ import annotations

import importlib
from typing import Any

from intake.fhir.ndjson import dumps


def model_class(resource_type: str) -> Any:
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


def parse(resource: dict[str, Any]) -> Any:
    """The fhir.resources model of a mapped dict; raises pydantic's
    ValidationError on structural errors. Goes through JSON so money
    Decimals arrive as they would on the wire."""
    return model_class(resource["resourceType"]).model_validate_json(dumps(resource))

