"""FHIR for the REST API and the bulk export: one resource per row, the
OperationOutcome for errors, the CapabilityStatement, collection bundles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from intake.fhir import mappers as M
from intake.fhir.systems import FhirSettings


def resource_for(resource_type: str, row: Any, settings: FhirSettings) -> dict[str, Any] | None:
    """The resource of `resource_type` that `row` (a model) stands for, with
    relative references (Patient/12). None when the row has no such
    resource (a self-pay 'payer', a subscriber who is the patient)."""
    if resource_type == "Patient":
        return M.patient_resource(row, mrn_system=settings.mrn_system)
    if resource_type == "Coverage":
        return M.coverage_resource(row, row.payer, settings)
    if resource_type == "RelatedPerson":
        return M.related_person_resource(row, settings) if row.relationship_code != "self" else None
    if resource_type == "Encounter":
        return M.encounter_resource(row, settings)
    if resource_type == "Condition":
        return M.condition_resource(row, row.visit, settings)
    if resource_type == "Claim":  # a BilledClaim; a self-pay visit has no Claim
        return None if row.self_pay else M.claim_resource(
            row, hcpcs_system=settings.hcpcs_system, pcn_system=settings.pcn_system)
    if resource_type == "Practitioner":
        return M.practitioner_resource(row)
    if resource_type == "Consent":
        return M.consent_resource(row, settings)
    if resource_type in ("Schedule", "Slot", "Appointment"):
        from intake.fhir import schedule

        if resource_type == "Schedule":
            return schedule.schedule_resource(row, [])
        if resource_type == "Slot":
            return schedule.slot_resource(row)
        return schedule.appointment_resource(row)
    if resource_type == "Organization":
        if hasattr(row, "payer_code"):
            return None if row.kind == "self_pay" else M.payer_organization_resource(row, settings)
        return M.practice_organization_resource(row)
    raise ValueError(f"no mapping for {resource_type}")


def operation_outcome(code: str, text: str, severity: str = "error") -> dict[str, Any]:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": text}]}


_SEARCH_TYPES = {"name": "string", "family": "string", "given": "string", "birthdate": "date",
                 "identifier": "token", "_lastUpdated": "date", "patient": "reference",
                 "beneficiary": "reference", "date": "date", "created": "date",
                 "encounter": "reference", "actor": "reference", "schedule": "reference",
                 "start": "date", "status": "token", "practitioner": "reference"}


# R4 has one interaction code for both ways to search a type; its
# documentation is where the POST form is stated.
_SEARCH_TYPE = {"code": "search-type",
                "documentation": "GET [type]?params, or POST [type]/_search with the params in an "
                                 "application/x-www-form-urlencoded body (keeps search terms out of "
                                 "URLs and access logs; its paging links name the saved search by "
                                 "an opaque _getpages id)."}


_EXPORT_DOC = ("Kick-off takes _type, _since and _outputFormat (application/fhir+ndjson) only; any "
               "other parameter is refused unless Prefer: handling=lenient (then it is listed as not "
               "applied in the manifest's error file). Accept: application/fhir+json. A token may "
               "have a limited number of exports in flight (429 with Retry-After beyond it).")


def capability_statement(base: str, search: Mapping[str, Mapping[str, Any]],
                         sort: Mapping[str, Mapping[str, Any]], system_types: list[str],
                         patient_types: list[str]) -> dict[str, Any]:
    """What this server really does: read and the listed searches per type,
    read-only, bearer tokens, Bulk Data export at system and patient level."""
    resources = []
    for resource_type in sorted(set(search) | {"Organization"}):
        params = [{"name": name, "type": _SEARCH_TYPES.get(name, "string")}
                  for name in sorted(search.get(resource_type, {}))]
        params += [{"name": "_id", "type": "token"}, {"name": "_count", "type": "number"}]
        entry: dict[str, Any] = {"type": resource_type,
                                 "interaction": [{"code": "read"}, dict(_SEARCH_TYPE)],
                                 "versioning": "versioned", "readHistory": False,
                                 "updateCreate": False, "conditionalRead": "not-supported",
                                 "searchParam": params}
        if resource_type in sort:
            entry["documentation"] = "_sort by: " + ", ".join(sorted(sort[resource_type]))
        if resource_type == "Patient":
            entry["operation"] = [{"name": "export",
                                   "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
                                   "documentation": _EXPORT_DOC + " Also patient=Patient/<id>[,...]."}]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-23",
        "kind": "instance",
        "software": {"name": "intake"},
        "implementation": {"description": "intake FHIR API (read-only)", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            # Honest: static bearer tokens issued by an administrator, not OAuth or SMART.
            "security": {"cors": False,
                         "description": "Static bearer tokens (Authorization: Bearer <token>) issued "
                                        "by an administrator with `intake tokens create`, stored "
                                        "hashed, revocable at once; read-only scope. No OAuth, no "
                                        "SMART on FHIR: there is no token endpoint."},
            "resource": resources,
            "operation": [{"name": "export",
                           "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                           "documentation": _EXPORT_DOC}],
        }],
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
    }
