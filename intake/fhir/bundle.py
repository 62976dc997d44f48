"""The per-visit transaction Bundle: everything a billing system needs for
one visit, with ``urn:uuid`` fullUrls (uuid5 of "Type/id", so the same
visit always gives the same bundle) and every reference rewritten to them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from intake.fhir import mappers as M
from intake.fhir import systems as S
from intake.fhir.systems import FhirSettings

# Fixed namespace for this product's fullUrls (uuid5 of its name in the URL namespace).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://intake.example/fhir")


def full_url(reference: str) -> str:
    """urn:uuid for a logical reference like 'Patient/12'."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, reference)}"


def visit_bundle(visit: Any, *, practice: Any, findings: Sequence[Any], coverages: Iterable[Any] | None = None,
                 consents: Iterable[Any] = (), settings: FhirSettings = M.DEFAULT_SETTINGS) -> dict[str, Any]:
    """A transaction Bundle for one visit.

    ``visit`` must have patient, provider, diagnoses and lines loaded;
    ``coverages`` defaults to the patient's, each with its payer; only active
    ones go in. ``findings`` are the scrubber's (``scrub_visit``): the Claim
    is included only when there are none. ``consents`` are the patient's
    signed consents (SignedConsent rows) to include.
    """
    patient = visit.patient
    active = sorted((c for c in (patient.coverages if coverages is None else coverages)
                     if c.status == "active"), key=lambda c: (c.rank or 9, c.id))
    entries: list[tuple[dict[str, Any], str | None]] = []

    org = M.practice_organization_resource(practice)
    entries.append((org, f"identifier={S.NPI}|{practice.npi}" if practice.npi else None))
    entries.append((M.practitioner_resource(visit.provider), f"identifier={S.NPI}|{visit.provider.npi}"))
    seen_payers: set[int] = set()
    for c in active:
        if c.payer.kind != "self_pay" and c.payer.id not in seen_payers:
            seen_payers.add(c.payer.id)
            entries.append((M.payer_organization_resource(c.payer), f"identifier={c.payer.payer_code}"))
    entries.append((M.patient_resource(patient, mrn_system=settings.mrn_system),
                    f"identifier={settings.mrn_system}|{patient.mrn}"))
    # One RelatedPerson per subscriber: a spouse who holds both plans is
    # typed once at the desk and appears once here.
    holder: dict[tuple[Any, ...], int] = {}
    for c in active:
        if c.relationship_code != "self":
            key = (c.relationship_code, c.subscriber_family, c.subscriber_given,
                   c.subscriber_birth_date)
            if key not in holder:
                holder[key] = c.id
                entries.append((M.related_person_resource(c), None))
    for c in active:
        coverage = M.coverage_resource(c, c.payer)
        if c.relationship_code != "self":
            first = holder[(c.relationship_code, c.subscriber_family, c.subscriber_given,
                            c.subscriber_birth_date)]
            coverage["subscriber"] = {"reference": f"RelatedPerson/{first}"}
        entries.append((coverage, None))
    entries.append((M.encounter_resource(visit), None))
    for d in sorted(visit.diagnoses, key=lambda d: d.sequence):
        entries.append((M.condition_resource(d, visit), None))
    for consent in consents:
        entries.append((M.consent_resource(consent), None))
    if not findings:
        entries.append((M.claim_resource(visit, coverages=active, hcpcs_system=settings.hcpcs_system), None))
    return transaction_bundle(entries, bundle_id=f"visit-{visit.id}")


def transaction_bundle(entries: Sequence[tuple[dict[str, Any], str | None]], *, bundle_id: str) -> dict[str, Any]:
    """Wrap resources (with an optional ifNoneExist query each) in a
    transaction of POSTs, rewriting references between them to urn:uuids."""
    urls = {f"{r['resourceType']}/{r['id']}": full_url(f"{r['resourceType']}/{r['id']}") for r, _ in entries}
    out = []
    for resource, if_none_exist in entries:
        _rewrite(resource, urls)
        request = {"method": "POST", "url": resource["resourceType"]}
        if if_none_exist:
            request["ifNoneExist"] = if_none_exist
        out.append({"fullUrl": urls[f"{resource['resourceType']}/{resource['id']}"],
                    "resource": resource, "request": request})
    return {"resourceType": "Bundle", "id": str(uuid.uuid5(NAMESPACE, f"Bundle/{bundle_id}")),
            "type": "transaction", "entry": out}


def _rewrite(node: Any, urls: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str):
            node["reference"] = urls.get(ref, ref)
        for value in node.values():
            if isinstance(value, (dict, list)):
                _rewrite(value, urls)
    elif isinstance(node, list):
        for item in node:
            _rewrite(item, urls)
