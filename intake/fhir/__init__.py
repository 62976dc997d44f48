"""FHIR R4 (4.0.1 on the wire), as plain dicts (fhir.resources checks them in
the tests only: tests/fhir/strict.py).

- ``mappers``: pure functions from models (or Core rows) to resource dicts
- ``bundle``: the per-visit transaction Bundle
- ``checks``: what fhir.resources does not check (references, pointers, NPI, MBI, bindings)
- ``ndjson``: orjson writers for the bulk export (the fast path)
- ``cli``: ``intake fhir bundle VISIT_ID``
"""

from intake.fhir.bundle import collection_bundle, full_url, transaction_bundle, visit_bundle, visit_resources
from intake.fhir.checks import bundle_problems, claim_problems, reference_problems, resource_problems
from intake.fhir.mappers import (
    claim_resource,
    condition_resource,
    consent_resource,
    coverage_resource,
    encounter_resource,
    patient_resource,
    payer_organization_resource,
    practice_organization_resource,
    practitioner_resource,
    related_person_resource,
)
from intake.fhir.ndjson import dumps, write_ndjson
from intake.fhir.systems import FhirSettings

__all__ = [
    "FhirSettings",
    "collection_bundle",
    "visit_resources",
    "bundle_problems",
    "claim_problems",
    "claim_resource",
    "condition_resource",
    "consent_resource",
    "coverage_resource",
    "dumps",
    "encounter_resource",
    "full_url",
    "patient_resource",
    "payer_organization_resource",
    "practice_organization_resource",
    "practitioner_resource",
    "reference_problems",
    "related_person_resource",
    "resource_problems",
    "transaction_bundle",
    "visit_bundle",
    "write_ndjson",
]
