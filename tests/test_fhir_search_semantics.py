"""FHIR search semantics: a comma is OR, ``system|value`` matches only that
system, ``|value`` only identifiers without one, totals equal the entries."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from intake.extensions import db
from intake.fhir import systems as S
from intake.models import Patient, Payer


def _ids(body: dict) -> set[str]:
    assert body["total"] == len(body["entry"])  # every match fits on one page here
    return {e["resource"]["id"] for e in body["entry"]}


def test_id_comma_is_or_and_repeats_are_and(api, fhir_world):
    a, b = str(fhir_world["a"]), str(fhir_world["b"])
    assert _ids(api.get(f"/fhir/Patient?_id={a},{b}").json) == {a, b}
    assert _ids(api.get(f"/fhir/Patient?_id={a}&_id={b}").json) == set()
    assert _ids(api.get(f"/fhir/Patient?_id={a},999999").json) == {a}
    assert _ids(api.get("/fhir/Patient?_id=nonsense").json) == set()


def test_identifier_system_is_honoured(app, api, fhir_world):
    with app.app_context():
        mrn = db.session.get(Patient, fhir_world["a"]).mrn
    def found(value: str) -> set[str]:
        return _ids(api.get(f"/fhir/Patient?identifier={quote(value, safe='')}").json)
    a = {str(fhir_world["a"])}
    assert found(f"{S.DEFAULT_MRN_SYSTEM}|{mrn}") == a
    assert found(mrn) == a                               # any system
    assert found(f"urn:oid:2.16.840.1.113883.4.1|{mrn}") == set()  # another system
    assert found(f"|{mrn}") == set()                     # no system: ours always has one
    assert found(f"nope,{S.DEFAULT_MRN_SYSTEM}|{mrn}") == a  # comma: OR
    npi = api.get("/fhir/Practitioner").json["entry"][0]["resource"]["identifier"][0]["value"]
    assert len(_ids(api.get(f"/fhir/Practitioner?identifier={S.NPI}|{npi}").json)) == 1
    assert _ids(api.get(f"/fhir/Practitioner?identifier=urn:other|{npi}").json) == set()


def test_organization_total_counts_what_it_returns(app, api, fhir_world):
    with app.app_context():  # the self-pay "payer" is no Organization
        assert db.session.execute(db.select(Payer).where(Payer.kind == "self_pay")).first()
    body = api.get("/fhir/Organization?_count=100").json
    assert body["total"] == len(body["entry"])
    assert "Self-pay" not in [e["resource"].get("name") for e in body["entry"]]
    ids = [e["resource"]["id"] for e in body["entry"]]
    two = api.get(f"/fhir/Organization?_id={ids[0]},{ids[1]}").json
    assert _ids(two) == set(ids[:2])
    paged, seen = "/fhir/Organization?_count=2", []
    while paged:
        page = api.get(paged).json
        seen += [e["resource"]["id"] for e in page["entry"]]
        paged = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert len(seen) == body["total"] == len(set(seen))


@pytest.mark.parametrize("resource_type", ["Patient", "Coverage", "RelatedPerson", "Encounter", "Claim",
                                           "Condition", "Consent", "Practitioner", "Organization"])
def test_totals_equal_entries_for_every_type(api, fhir_world, resource_type):
    body = api.get(f"/fhir/{resource_type}?_count=100").json
    assert body["total"] == len(body["entry"])
