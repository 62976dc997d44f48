"""The per-visit transaction Bundle: everything a billing system needs for
one visit, with ``urn:uuid`` fullUrls (uuid5 of "Type/id", so the same
visit always gives the same bundle) and every reference rewritten to them.

Idempotent at the receiver: every resource carries a business identifier
with a system, and each entry is a conditional update on it
(``PUT Patient?identifier=<system>|<value>``), so posting the same bundle
twice changes nothing and posting it after a chart edit updates the
receiver's copy. Entries carry no server id (the receiver assigns its own).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from intake.fhir import mappers as M
from intake.fhir import systems as S
from intake.fhir.systems import FhirSettings

# Fixed namespace for this product's fullUrls (uuid5 of its name in the URL namespace).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://intake.example/fhir")

Entry = tuple[dict[str, Any], tuple[str, str]]


def full_url(reference: str) -> str:
    """urn:uuid for a logical reference like 'Patient/12'."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, reference)}"


def _subscriber(coverage: Any) -> tuple[Any, ...]:
    return (coverage.relationship_code, coverage.subscriber_family, coverage.subscriber_given,
            coverage.subscriber_birth_date)


def visit_resources(visit: Any, *, practice: Any, coverages: Sequence[Any], claim: Any = None,
                    consents: Iterable[Any] = (), settings: FhirSettings = M.DEFAULT_SETTINGS) -> list[Entry]:
    """The resources of one visit (references as Type/id), each with the
    (system, value) of the identifier a receiver matches it by.

    ``coverages``: the coverage rows to send, each with its payer, in order
    (the billed claim's payers, or those in force on the date of service:
    intake.services.claims decides). The Claim only when ``claim`` (the
    billed record) is given and the visit is not self-pay."""
    patient = visit.patient
    sent = [c for c in coverages if c.payer.kind != "self_pay"]
    entries: list[Entry] = []
    org = M.practice_organization_resource(practice)
    org_key = ((S.NPI, practice.npi) if practice.npi
               else (S.EIN, practice.tax_id) if practice.tax_id else (settings.system("organization"), "practice"))
    if not practice.npi and not practice.tax_id:
        org["identifier"] = [{"system": org_key[0], "value": org_key[1]}]
    entries.append((org, org_key))
    entries.append((M.practitioner_resource(visit.provider), (S.NPI, visit.provider.npi)))
    seen_payers: set[int] = set()
    for c in sent:
        if c.payer.id not in seen_payers:
            seen_payers.add(c.payer.id)
            entries.append((M.payer_organization_resource(c.payer, settings),
                            (settings.payer_id_system, c.payer.payer_code)))
    entries.append((M.patient_resource(patient, mrn_system=settings.mrn_system),
                    (settings.mrn_system, patient.mrn)))
    # One RelatedPerson per subscriber: a spouse who holds both plans is
    # typed once at the desk and appears once here.
    holder: dict[tuple[Any, ...], Any] = {}
    for c in sent:
        if c.relationship_code != "self":
            key = _subscriber(c)
            if key not in holder:
                holder[key] = c
                entries.append((M.related_person_resource(c, settings),
                                (settings.system("related-person"), str(c.id))))
    for c in sent:
        coverage = M.coverage_resource(c, c.payer, settings)
        if c.relationship_code != "self":
            coverage["subscriber"] = {"reference": f"RelatedPerson/{holder[_subscriber(c)].id}"}
        entries.append((coverage, (settings.system("coverage"), str(c.id))))
    encounter = M.encounter_resource(visit, settings)
    entries.append((encounter, (settings.pcn_system, encounter["identifier"][0]["value"])))
    for d in sorted(visit.diagnoses, key=lambda d: d.sequence):
        entries.append((M.condition_resource(d, visit, settings), (settings.system("condition"), str(d.id))))
    for consent in consents:
        entries.append((M.consent_resource(consent, settings), (settings.system("consent"), str(consent.id))))
    if claim is not None and not claim.self_pay:
        resource = M.claim_resource(claim, hcpcs_system=settings.hcpcs_system, pcn_system=settings.pcn_system)
        version = resource["identifier"][1]
        entries.append((resource, (version["system"], version["value"])))
    return entries


def visit_bundle(visit: Any, *, practice: Any, findings: Sequence[Any], coverages: Sequence[Any],
                 claim: Any = None, consents: Iterable[Any] = (),
                 settings: FhirSettings = M.DEFAULT_SETTINGS) -> dict[str, Any]:
    """A transaction Bundle for one visit.

    ``visit`` must have patient, provider, diagnoses and lines loaded;
    ``coverages`` as for ``visit_resources``. ``claim`` is the visit's billed claim
    (BilledClaim); it goes in only when the scrubber's ``findings`` are none.
    ``consents`` are the patient's signed consents (SignedConsent rows).
    """
    entries = visit_resources(visit, practice=practice, claim=None if findings else claim,
                              coverages=coverages, consents=consents, settings=settings)
    return transaction_bundle(entries, bundle_id=f"visit-{visit.id}")


def transaction_bundle(entries: Sequence[Entry], *, bundle_id: str) -> dict[str, Any]:
    """Wrap resources in a transaction of conditional updates on their
    identifiers, rewriting references between them to urn:uuids."""
    urls = {f"{r['resourceType']}/{r['id']}": full_url(f"{r['resourceType']}/{r['id']}") for r, _ in entries}
    out = []
    for resource, (system, value) in entries:
        key = f"{resource['resourceType']}/{resource['id']}"
        body = copy.deepcopy(resource)
        del body["id"]
        _rewrite(body, urls)
        url = f"{resource['resourceType']}?identifier={quote(system, safe=':/')}|{quote(value, safe='')}"
        out.append({"fullUrl": urls[key], "resource": body, "request": {"method": "PUT", "url": url}})
    return {"resourceType": "Bundle", "id": str(uuid.uuid5(NAMESPACE, f"Bundle/{bundle_id}")),
            "type": "transaction", "entry": out}


def collection_bundle(visits: Iterable[Sequence[Entry]]) -> dict[str, Any]:
    """Several visits' resources in one collection Bundle: each resource once
    (shared payers and the practice collapse), references as urn:uuids."""
    seen: dict[str, dict[str, Any]] = {}
    for entries in visits:
        urls = {f"{r['resourceType']}/{r['id']}": full_url(f"{r['resourceType']}/{r['id']}")
                for r, _ in entries}
        for resource, _ in entries:
            url = urls[f"{resource['resourceType']}/{resource['id']}"]
            if url not in seen:
                body = copy.deepcopy(resource)
                _rewrite(body, urls)
                seen[url] = {"fullUrl": url, "resource": body}
    return {"resourceType": "Bundle", "type": "collection", "entry": list(seen.values())}


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
