"""Checks that fhir.resources does not do, callable at run time and used by
the tests: reference targets (inside a bundle and by type), claim pointers
and focal insurance, NPI check digits, MBI format, required bindings.

Each function returns a list of problems in words (empty: fine).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from intake.fhir import systems as S
from intake.normalize import is_valid_mbi, is_valid_npi

# Which resource types each reference we emit may point to (R4 4.0.1).
# A reference at a path missing here is itself a problem: keep this complete.
REFERENCE_TARGETS: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    "RelatedPerson.patient": {"Patient"},
    "Coverage.subscriber": {"Patient", "RelatedPerson"},
    "Coverage.policyHolder": {"Patient", "RelatedPerson", "Organization"},
    "Coverage.beneficiary": {"Patient"},
    "Coverage.payor": {"Organization", "Patient", "RelatedPerson"},
    "Encounter.subject": {"Patient", "Group"},
    "Encounter.participant.individual": {"Practitioner", "PractitionerRole", "RelatedPerson"},
    "Encounter.serviceProvider": {"Organization"},
    "Encounter.diagnosis.condition": {"Condition", "Procedure"},
    "Condition.subject": {"Patient", "Group"},
    "Condition.encounter": {"Encounter"},
    "Consent.patient": {"Patient"},
    "Provenance.target": {"Consent"},
    "Provenance.agent.who": {"Practitioner", "PractitionerRole", "RelatedPerson", "Patient", "Device",
                             "Organization"},
    "Provenance.signature.who": {"Practitioner", "PractitionerRole", "RelatedPerson", "Patient", "Device",
                                 "Organization"},
    "Consent.performer": {"Organization", "Patient", "Practitioner", "RelatedPerson", "PractitionerRole"},
    "Consent.organization": {"Organization"},
    "Claim.patient": {"Patient"},
    "Claim.provider": {"Practitioner", "PractitionerRole", "Organization"},
    "Claim.insurer": {"Organization"},
    "Claim.careTeam.provider": {"Practitioner", "PractitionerRole", "Organization"},
    "Claim.insurance.coverage": {"Coverage"},
    "Claim.item.encounter": {"Encounter"},
    "Claim.related.claim": {"Claim"},
    "Organization.partOf": {"Organization"},
    "Schedule.actor": {"Patient", "Practitioner", "PractitionerRole", "RelatedPerson", "Device",
                       "HealthcareService", "Location"},
    "Slot.schedule": {"Schedule"},
    "Appointment.slot": {"Slot"},
    "Appointment.participant.actor": {"Patient", "Practitioner", "PractitionerRole",
                                      "RelatedPerson", "Device", "HealthcareService", "Location"},
}.items()}

FM_STATUS = frozenset({"active", "cancelled", "draft", "entered-in-error"})
REQUIRED_CODES: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    "Patient.gender": {"male", "female", "other", "unknown"},
    "RelatedPerson.gender": {"male", "female", "other", "unknown"},
    "Practitioner.gender": {"male", "female", "other", "unknown"},
    "Coverage.status": FM_STATUS,
    "Claim.status": FM_STATUS,
    "Claim.use": {"claim", "preauthorization", "predetermination"},
    "Encounter.status": {"planned", "arrived", "triaged", "in-progress", "onleave", "finished",
                         "cancelled", "entered-in-error", "unknown"},
    "Consent.status": {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"},
    "Consent.provision.type": {"deny", "permit"},
    "Slot.status": {"busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"},
    "Appointment.status": {"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled",
                           "noshow", "entered-in-error", "checked-in", "waitlist"},
    "Appointment.participant.status": {"accepted", "declined", "tentative", "needs-action"},
    "Appointment.participant.required": {"required", "optional", "information-only"},
    "Bundle.type": {"document", "message", "transaction", "transaction-response", "batch",
                    "batch-response", "history", "searchset", "collection"},
    "Bundle.entry.request.method": {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"},
}.items()}
# Required bindings of data types, wherever they appear (by the last two path parts).
TYPE_CODES: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    "telecom.system": {"phone", "fax", "email", "pager", "url", "sms", "other"},
    "telecom.use": {"home", "work", "temp", "old", "mobile"},
    "name.use": {"usual", "official", "temp", "nickname", "anonymous", "old", "maiden"},
    "address.use": {"home", "work", "temp", "old", "billing"},
    "address.type": {"postal", "physical", "both"},
    "identifier.use": {"usual", "official", "temp", "secondary", "old"},
}.items()}
CODED_STATUS: dict[str, tuple[str, frozenset[str]]] = {
    "Condition.clinicalStatus": (S.CONDITION_CLINICAL, frozenset(
        {"active", "recurrence", "relapse", "inactive", "remission", "resolved"})),
    "Condition.verificationStatus": (S.CONDITION_VERIFICATION, frozenset(
        {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"})),
}
_MEDICARE_TYPE = (S.SOPT, "1")


def _walk(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(dotted path without indices, value) for every value under node."""
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}"
            yield child, value
            yield from _walk(value, child)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, path)


def references(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(path of the Reference element, reference string) in a resource.
    Contained resources' references are under their own type's paths;
    local ('#id', '#') references are checked by ``reference_problems``."""
    rtype = resource.get("resourceType", "?")
    for path, value in _walk({k: v for k, v in resource.items() if k != "contained"}, rtype):
        if path.endswith(".reference") and isinstance(value, str):
            yield path.removesuffix(".reference"), value
    for inner in resource.get("contained", []):
        yield from references(inner)


def resource_problems(resource: dict[str, Any]) -> list[str]:
    """Bindings, NPI, MBI and claim rules for one resource on its own."""
    rtype = resource.get("resourceType", "?")
    label = f"{rtype}/{resource.get('id', '?')}"
    problems: list[str] = []
    for path, value in _walk(resource, rtype):
        if isinstance(value, list) and not value:
            problems.append(f"{label}: {path} is an empty list (FHIR JSON forbids empty arrays)")
        if value == "" or value is None:
            problems.append(f"{label}: {path} is empty")
        allowed = REQUIRED_CODES.get(path) or TYPE_CODES.get(".".join(path.rsplit(".", 2)[-2:]))
        if allowed is not None and isinstance(value, str) and value not in allowed:
            problems.append(f"{label}: {path} '{value}' is not in its required value set")
        if path in CODED_STATUS and isinstance(value, dict):
            system, codes = CODED_STATUS[path]
            if not any(c.get("system") == system and c.get("code") in codes for c in value.get("coding", [])):
                problems.append(f"{label}: {path} has no code from {system}")
        if path.endswith(".currency") and value != "USD":
            problems.append(f"{label}: {path} '{value}' is not USD")
        if path.endswith("identifier") and isinstance(value, list):
            for ident in value:
                problems += _identifier_problems(label, path, ident)
    if rtype == "Coverage":
        problems += _coverage_problems(label, resource)
    if rtype == "Claim":
        problems += claim_problems(resource)
    return problems


def _identifier_problems(label: str, path: str, ident: dict[str, Any]) -> list[str]:
    system, value = ident.get("system"), ident.get("value") or ""
    if system == S.NPI and not is_valid_npi(value):
        return [f"{label}: {path} NPI {value!r} fails the Luhn check"]
    if system == S.MBI and not is_valid_mbi(value):
        return [f"{label}: {path} {value!r} is not a Medicare Beneficiary Identifier"]
    return []


def _coverage_problems(label: str, coverage: dict[str, Any]) -> list[str]:
    codings = coverage.get("type", {}).get("coding", [])
    medicare = any((c.get("system"), c.get("code")) == _MEDICARE_TYPE for c in codings)
    member = coverage.get("subscriberId")
    if medicare and member and not is_valid_mbi(member):
        return [f"{label}: a Medicare subscriberId must be an MBI"]
    return []


def claim_problems(claim: dict[str, Any]) -> list[str]:
    """Pointers, care team sequences, exactly one focal insurance, totals."""
    label = f"Claim/{claim.get('id', '?')}"
    problems = []
    diagnoses = [d.get("sequence") for d in claim.get("diagnosis", [])]
    if len(set(diagnoses)) != len(diagnoses):
        problems.append(f"{label}: diagnosis sequences repeat")
    care_team = {c.get("sequence") for c in claim.get("careTeam", [])}
    insurance = claim.get("insurance", [])
    focal = [i for i in insurance if i.get("focal") is True]
    if len(focal) != 1:
        problems.append(f"{label}: {len(focal)} focal insurances; exactly one must be focal")
    sequences = [i.get("sequence") for i in insurance]
    if len(set(sequences)) != len(sequences):
        problems.append(f"{label}: insurance sequences repeat")
    total = 0
    for item in claim.get("item", []):
        n = item.get("sequence")
        missing = [s for s in item.get("diagnosisSequence", []) if s not in diagnoses]
        if missing:
            problems.append(f"{label}: item {n} points to diagnosis {missing}, not on the claim")
        if not item.get("diagnosisSequence"):
            problems.append(f"{label}: item {n} points to no diagnosis")
        if any(s not in care_team for s in item.get("careTeamSequence", [])):
            problems.append(f"{label}: item {n} names a care team member not on the claim")
        total += item.get("net", {}).get("value", 0)
    if "total" in claim and round(float(claim["total"].get("value", 0)), 2) != round(float(total), 2):
        problems.append(f"{label}: total {claim['total'].get('value')} is not the sum of the lines ({total})")
    return problems


def bundle_problems(bundle: dict[str, Any]) -> list[str]:
    """A transaction/collection bundle: unique fullUrls, a request per
    transaction entry, every reference resolving inside the bundle to an
    allowed type, and every resource's own problems."""
    problems = [f"Bundle: {p}" for p in resource_problems({k: v for k, v in bundle.items() if k != "entry"})]
    entries = bundle.get("entry", [])
    by_url: dict[str, str] = {}
    for n, entry in enumerate(entries):
        url, resource = entry.get("fullUrl"), entry.get("resource")
        if not url or not isinstance(resource, dict):
            problems.append(f"entry {n}: needs a fullUrl and a resource")
            continue
        if url in by_url:
            problems.append(f"entry {n}: fullUrl {url} repeats")
        by_url[url] = resource.get("resourceType", "?")
        if bundle.get("type") in ("transaction", "batch"):
            request = entry.get("request") or {}
            if request.get("method") not in REQUIRED_CODES["Bundle.entry.request.method"] or not request.get("url"):
                problems.append(f"entry {n}: a transaction entry needs request.method and request.url")
    for entry in entries:
        resource = entry.get("resource")
        if isinstance(resource, dict):
            problems += resource_problems(resource)
            problems += reference_problems(resource, by_url.get)
    return problems


def reference_problems(resource: dict[str, Any], resolve: Callable[[str], str | None]) -> list[str]:
    """References that do not resolve (``resolve`` maps a reference to the
    target's resourceType or None) or point to a type their element forbids."""
    label = f"{resource.get('resourceType')}/{resource.get('id', '?')}"
    problems = []
    local = {f"#{c.get('id')}": c.get("resourceType") for c in resource.get("contained", [])}
    local["#"] = resource.get("resourceType")
    for path, ref in references(resource):
        target = local.get(ref) if ref.startswith("#") else resolve(ref)
        allowed = REFERENCE_TARGETS.get(path)
        if target is None:
            problems.append(f"{label}: {path} -> {ref} does not resolve")
        elif allowed is None:
            problems.append(f"{label}: {path} is a reference this check has no rule for")
        elif target not in allowed:
            problems.append(f"{label}: {path} -> {ref} is a {target}; allowed: {', '.join(sorted(allowed))}")
    return problems


def resolve_relative(ref: str) -> str | None:
    """For resources on their own (REST, NDJSON): 'Type/id' names its type."""
    rtype, sep, rid = ref.partition("/")
    return rtype if sep and rid and rtype[:1].isupper() else None
