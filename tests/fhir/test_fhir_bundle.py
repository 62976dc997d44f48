"""The per-visit transaction Bundle: golden file, reference integrity,
only active coverages, the Claim only when the scrubber finds nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import orjson

from intake.codes import load_engine
from intake.fhir import FhirSettings, bundle_problems, full_url, visit_bundle
from intake.fhir import systems as S
from intake.fhir.ndjson import dumps, dumps_pretty
from intake.services.scrubber import Finding, scrub_visit
from tests.fhir.fhir_samples import world

GOLDEN = Path(__file__).parent / "golden" / "visit_bundle.json"


def _bundle(**kwargs):
    w = world()
    findings = scrub_visit(w.visit, practice=w.practice, engine=load_engine())
    return w, findings, visit_bundle(w.visit, practice=w.practice, findings=findings,
                                     coverages=w.coverages, claim=w.claim, consents=w.consents, **kwargs)


def test_golden_bundle() -> None:
    _, findings, bundle = _bundle()
    assert findings == []
    if os.environ.get("INTAKE_UPDATE_GOLDEN"):
        GOLDEN.write_bytes(dumps_pretty(bundle) + b"\n")
    assert orjson.loads(dumps(bundle)) == json.loads(GOLDEN.read_text())
    # Money goes out as exact two-place JSON numbers.
    assert b'"total":{"value":195.00,"currency":"USD"}' in dumps(bundle)


def test_bundle_is_deterministic_and_self_contained() -> None:
    _, _, first = _bundle()
    _, _, second = _bundle()
    assert dumps(first) == dumps(second)
    assert bundle_problems(first) == []
    urls = [e["fullUrl"] for e in first["entry"]]
    assert all(u.startswith("urn:uuid:") for u in urls) and len(set(urls)) == len(urls)
    # Every entry is a conditional update on its own business identifier.
    assert all(e["request"]["method"] == "PUT" for e in first["entry"])
    assert all("id" not in e["resource"] for e in first["entry"])
    for e in first["entry"]:
        system, value = e["request"]["url"].split("?identifier=", 1)[1].split("|", 1)
        assert any(i.get("system") == system and i["value"] == value
                   for i in e["resource"]["identifier"]), e["request"]["url"]
    assert b'"reference":"Patient/' not in dumps(first)
    patient = next(e for e in first["entry"] if e["resource"]["resourceType"] == "Patient")
    assert patient["fullUrl"] == full_url("Patient/42")
    assert patient["request"]["url"] == f"Patient?identifier={S.DEFAULT_MRN_SYSTEM}|4815162342"


def test_contents() -> None:
    _, _, bundle = _bundle()
    by_type: dict[str, list] = {}
    for e in bundle["entry"]:
        by_type.setdefault(e["resource"]["resourceType"], []).append(e["resource"])
    assert {k: len(v) for k, v in by_type.items()} == {
        "Organization": 3, "Practitioner": 1, "Patient": 1, "RelatedPerson": 1, "Coverage": 2,
        "Encounter": 1, "Condition": 3, "Consent": 2, "Claim": 1}
    # The ended one (2019) was not in force on the date of service.
    assert {c["identifier"][-1]["value"] for c in by_type["Coverage"]} == {"100", "101"}
    claim = by_type["Claim"][0]
    assert [(i["sequence"], i["focal"]) for i in claim["insurance"]] == [(1, True), (2, False)]
    line = claim["item"][0]
    assert line["productOrService"]["coding"][0] == {"system": S.CPT, "code": "99214"}
    assert line["diagnosisSequence"] == [1, 2, 3] and line["modifier"][0]["coding"][0]["code"] == "25"
    assert line["locationCodeableConcept"]["coding"][0] == {"system": S.POS, "code": "11"}
    assert claim["item"][1]["productOrService"]["coding"][0]["system"] == S.HCPCS_HTTP
    medicare, spouse = by_type["Coverage"]
    assert medicare["identifier"][0]["system"] == S.MBI and medicare["order"] == 1
    assert spouse["subscriber"]["reference"] == full_url("RelatedPerson/101")
    assert spouse["relationship"]["coding"][0]["code"] == "spouse"


def test_hcpcs_system_is_a_setting() -> None:
    _, _, bundle = _bundle(settings=FhirSettings(hcpcs_system=S.HCPCS_HTTPS, mrn_system="urn:oid:1.2.3"))
    claim = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    assert claim["item"][1]["productOrService"]["coding"][0]["system"] == S.HCPCS_HTTPS
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    assert patient["identifier"][0]["system"] == "urn:oid:1.2.3"


def test_no_claim_when_the_scrubber_finds_something() -> None:
    w = world()
    bundle = visit_bundle(w.visit, practice=w.practice, findings=[Finding("not_locked", "x")],
                          coverages=w.coverages, claim=w.claim)
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert "Claim" not in types and "Encounter" in types
    assert bundle_problems(bundle) == []


def test_a_spouse_holding_both_plans_appears_once() -> None:
    """The walk-in's "same subscriber as the primary": one RelatedPerson,
    both Coverages pointing at it."""
    w = world()
    primary, secondary = w.coverages
    primary.relationship_code = "spouse"
    for attr in ("subscriber_family", "subscriber_given", "subscriber_birth_date"):
        setattr(primary, attr, getattr(secondary, attr))
    primary.member_id = "W000000001"
    primary.payer = secondary.payer
    bundle = visit_bundle(w.visit, practice=w.practice, findings=[], coverages=w.coverages, consents=[])
    people = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "RelatedPerson"]
    assert len(people) == 1
    holders = {e["resource"]["subscriber"]["reference"] for e in bundle["entry"]
               if e["resource"]["resourceType"] == "Coverage"}
    assert holders == {people[0]["fullUrl"]}
    assert bundle_problems(bundle) == []
