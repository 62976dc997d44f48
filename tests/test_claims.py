"""Claims a back office can trust: the payer in force on the date of
service, frozen once billed, corrections as new versions, only visits that
happened, and transaction bundles a receiver can post twice."""

from __future__ import annotations

import copy
import itertools
from datetime import date, timedelta
from typing import Any

import pytest

from intake.extensions import db
from intake.models import BilledClaim, Coverage, Patient, Visit
from intake.services import FieldErrors, billing, charges, claims, coverages, practice, visits
from intake.services.scrubber import load_visit_for_claim
from tests.conftest import FY2026_DAY, check_out_past_visit, payer_id
from tests.fhir import r4_validators as V

PRACTICE = {"name": "Lakeside Family Medicine", "npi": "1245319599", "default_pos": "11"}


def _code(visit: Visit) -> None:
    charges.add_diagnosis(visit, "E11.9")
    charges.save_line(visit, {"code": "99213", "pointers": [1], "unit_price_cents": 9000})


@pytest.fixture
def billed(app, create_patient, create_coverage, create_visit):
    """A checked-out, coded, locked visit (so billed) with a commercial primary."""
    pid = create_patient()
    cov = create_coverage(pid)
    vid = create_visit(pid, day=FY2026_DAY)
    with app.app_context():
        practice.save_practice(PRACTICE)
        visit = load_visit_for_claim(vid)
        check_out_past_visit(visit)
        _code(visit)
        charges.lock(visit)
        db.session.commit()
    return {"patient": pid, "coverage": cov, "visit": vid}


# ---- coverages in force on the date of service --------------------------------

def test_the_claim_takes_the_coverage_in_force_on_the_date_of_service(
        app, create_patient, create_coverage, create_visit):
    pid = create_patient()
    old = create_coverage(pid, member_id="OLD111", effective_date=date(2024, 1, 1))
    with app.app_context():
        # Ended after the visit: it was the payer on the date of service.
        coverages.end_coverage(db.session.get(Coverage, old), FY2026_DAY + timedelta(days=30))
        db.session.commit()
    later = create_coverage(pid, member_id="NEW222", effective_date=FY2026_DAY + timedelta(days=31))
    vid = create_visit(pid, day=FY2026_DAY)
    with app.app_context():
        practice.save_practice(PRACTICE)
        visit = load_visit_for_claim(vid)
        check_out_past_visit(visit)
        _code(visit)
        charges.lock(visit)
        db.session.commit()
        claim = claims.latest(vid)
        assert [(p["coverage_id"], p["order"], p["member_id"]) for p in claim.payers] == [(old, 1, "OLD111")]
        assert later not in {p["coverage_id"] for p in claim.payers}


def test_no_coverage_in_force_is_a_finding_in_words(app, create_patient, create_coverage, create_visit):
    pid = create_patient()
    create_coverage(pid, effective_date=FY2026_DAY + timedelta(days=1))  # starts after the visit
    vid = create_visit(pid, day=FY2026_DAY)
    with app.app_context():
        practice.save_practice(PRACTICE)
        visit = load_visit_for_claim(vid)
        check_out_past_visit(visit)
        _code(visit)
        charges.lock(visit)
        db.session.commit()
        row = billing.worklist(FY2026_DAY, FY2026_DAY)[0]
        assert [f.code for f in row.findings] == ["no_coverage"]
        assert f"No coverage was in force on {FY2026_DAY.isoformat()}" in row.findings[0].words
        bundle, findings = billing.visit_bundle(load_visit_for_claim(vid))
        assert bundle == {} and findings


def test_self_pay_visit_produces_no_claim_and_says_so(app, api, create_patient, create_coverage,
                                                      create_visit):
    pid = create_patient()
    create_coverage(pid, kind="self_pay", member_id=None, group_number=None)
    vid = create_visit(pid, day=FY2026_DAY)
    with app.app_context():
        practice.save_practice(PRACTICE)
        visit = load_visit_for_claim(vid)
        check_out_past_visit(visit)
        _code(visit)
        charges.lock(visit)
        db.session.commit()
        assert claims.latest(vid).self_pay
        row = billing.worklist(FY2026_DAY, FY2026_DAY)[0]
        assert [f.code for f in row.findings] == ["self_pay"] and "self-pay" in row.findings[0].words
    assert api.get(f"/fhir/Claim/{vid}").status_code == 404
    assert api.get(f"/fhir/Claim?patient={pid}").json["total"] == 0


# ---- frozen once billed ------------------------------------------------------

def test_later_coverage_changes_never_change_a_billed_claim(app, api, billed):
    before = api.get(f"/fhir/Claim/{billed['visit']}").json
    assert before["insurance"] == [{"sequence": 1, "focal": True,
                                    "coverage": {"reference": f"Coverage/{billed['coverage']}"}}]
    assert before["identifier"][0]["value"] == f"V{billed['visit']:07d}"
    self_pay = payer_id(app, "self_pay")
    with app.app_context():
        patient = db.session.get(Patient, billed["patient"])
        coverages.end_coverage(db.session.get(Coverage, billed["coverage"]), date(2026, 2, 1))
        coverages.add_coverage(patient, {"payer_id": self_pay, "relationship_code": "self"})
        db.session.commit()
    after = api.get(f"/fhir/Claim/{billed['visit']}").json
    assert after == before  # same payer, same meta.lastUpdated: nothing changed
    ended = api.get(f"/fhir/Coverage/{billed['coverage']}")
    assert ended.status_code == 200  # still readable: the old claim points to it
    assert ended.json["status"] == "active" and ended.json["period"]["end"] == "2026-02-01"
    assert V.schema_errors(after) == [] and V.schema_errors(ended.json) == []


def test_a_correction_is_a_new_version_and_both_stay_readable(app, api, billed):
    vid = billed["visit"]
    first = api.get(f"/fhir/Claim/{vid}").json
    with app.app_context():
        visit = load_visit_for_claim(vid)
        charges.unlock(visit)
        charges.lock(visit)  # re-locked unchanged: the same claim, no new version
        db.session.commit()
        assert claims.latest(vid).version == 1
        charges.unlock(visit)
        charges.save_line(visit, {"code": "G0008", "pointers": [1], "unit_price_cents": 3000})
        charges.lock(visit)
        db.session.commit()
        rows = db.session.execute(db.select(BilledClaim).where(BilledClaim.visit_id == vid)
                                  .order_by(BilledClaim.version)).scalars().all()
        assert [(r.version, r.total_cents) for r in rows] == [(1, 9000), (2, 12000)]
        assert rows[1].replaces_id == rows[0].id
    assert api.get(f"/fhir/Claim/{vid}").json == first  # the original is unchanged
    second = api.get(f"/fhir/Claim/{vid}-2").json
    assert second["total"]["value"] == 120
    assert second["related"][0]["claim"] == {"reference": f"Claim/{vid}"}
    assert second["identifier"][0] == first["identifier"][0]  # the same patient control number
    assert second["meta"]["lastUpdated"] >= first["meta"]["lastUpdated"]
    found = api.get(f"/fhir/Claim?_id={vid},{vid}-2").json
    assert found["total"] == 2 and len(found["entry"]) == 2
    since = api.get(f"/fhir/Claim?_lastUpdated=ge{second['meta']['lastUpdated']}").json
    assert [e["resource"]["id"] for e in since["entry"]] == [f"{vid}-2"]


# ---- only a visit that happened ----------------------------------------------

def test_a_scheduled_visit_cannot_be_locked_and_is_billed_only_at_check_out(
        app, create_patient, create_coverage, create_visit):
    pid = create_patient()
    create_coverage(pid)
    vid = create_visit(pid, day=FY2026_DAY)
    with app.app_context():
        practice.save_practice(PRACTICE)
        visit = load_visit_for_claim(vid)
        _code(visit)
        with pytest.raises(FieldErrors) as err:
            charges.lock(visit)
        assert "checked in" in " ".join(err.value.errors["lock"])
        row = billing.worklist(FY2026_DAY, FY2026_DAY)[0]
        assert {"not_checked_out", "not_locked"} <= {f.code for f in row.findings}
        visit.state = "checked_in"  # (the board's own moves are tested in test_desk)
        charges.lock(visit)
        db.session.commit()
        assert claims.latest(vid) is None  # not checked out: not billed, not ready
        row = billing.worklist(FY2026_DAY, FY2026_DAY)[0]
        assert [f.code for f in row.findings] == ["not_checked_out"]
        visits.move(visit, "with_provider")
        visits.move(visit, "checked_out")
        db.session.commit()
        claim = claims.latest(vid)
        assert claim is not None and claim.version == 1 and claim.payers[0]["order"] == 1
        assert billing.worklist(FY2026_DAY, FY2026_DAY)[0].ready


def test_a_no_show_is_never_ready(app, create_patient, create_coverage, create_visit):
    pid = create_patient()
    create_coverage(pid)
    vid = create_visit(pid, day=FY2026_DAY)
    with app.app_context():
        practice.save_practice(PRACTICE)
        visit = load_visit_for_claim(vid)
        visits.move(visit, "no_show")
        db.session.commit()
        with pytest.raises(FieldErrors):
            charges.lock(visit)
        db.session.rollback()
        assert billing.worklist(FY2026_DAY, FY2026_DAY) == []  # not on the work list at all


# ---- a receiver that stores by identifier ----------------------------------------

class Receiver:
    """A FHIR server's transaction handling, as far as these bundles need:
    conditional update on ``Type?identifier=system|value`` (create when no
    match), urn:uuid references resolved to the ids it assigned."""

    def __init__(self) -> None:
        self.store: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def _find(self, rtype: str, system: str, value: str) -> str | None:
        matches = [key for key, r in self.store.items() if key.startswith(rtype + "/")
                   and any(i.get("system") == system and i.get("value") == value
                           for i in r.get("identifier", []))]
        assert len(matches) <= 1, f"{rtype}?identifier={system}|{value} matches {len(matches)}"
        return matches[0] if matches else None

    def post(self, bundle: dict[str, Any]) -> dict[str, int]:
        assert bundle["type"] == "transaction"
        resolved: dict[str, str] = {}
        for entry in bundle["entry"]:
            request = entry["request"]
            assert request["method"] == "PUT" and "?identifier=" in request["url"]
            rtype, query = request["url"].split("?identifier=", 1)
            system, value = query.split("|", 1)
            resolved[entry["fullUrl"]] = self._find(rtype, system, value) or f"{rtype}/r{next(self._ids)}"
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for entry in bundle["entry"]:
            key = resolved[entry["fullUrl"]]
            resource = _resolve(copy.deepcopy(entry["resource"]), resolved)
            resource["id"] = key.split("/", 1)[1]
            resource.pop("meta", None)
            old = self.store.get(key)
            counts["created" if old is None else "unchanged" if old == resource else "updated"] += 1
            self.store[key] = resource
        return counts


def _resolve(node: Any, urls: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: (urls.get(v, v) if k == "reference" else _resolve(v, urls)) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, urls) for v in node]
    return node


def test_posting_a_bundle_twice_changes_nothing_and_a_chart_edit_updates(app, billed, create_patient,
                                                                        create_coverage, create_visit):
    receiver = Receiver()
    with app.app_context():
        bundle, findings = billing.visit_bundle(load_visit_for_claim(billed["visit"]))
        assert findings == [] and V.schema_errors(bundle) == []
    first = receiver.post(bundle)
    assert first["created"] == len(bundle["entry"]) and first["updated"] == 0
    stored = copy.deepcopy(receiver.store)
    assert receiver.post(bundle) == {"created": 0, "updated": 0, "unchanged": len(bundle["entry"])}
    assert receiver.store == stored
    with app.app_context():
        db.session.get(Patient, billed["patient"]).phone_mobile = "+12175550199"
        db.session.commit()
        edited, _ = billing.visit_bundle(load_visit_for_claim(billed["visit"]))
    counts = receiver.post(edited)
    assert counts == {"created": 0, "updated": 1, "unchanged": len(bundle["entry"]) - 1}
    patient = next(r for k, r in receiver.store.items() if k.startswith("Patient/"))
    assert patient["telecom"][0]["value"] == "+12175550199"
    # A second patient's visit shares the practice, provider and payer: not duplicated.
    other = create_patient(family_name="Okafor", given_name="Ada", phone_mobile="+13125550177")
    create_coverage(other)
    vid = create_visit(other, day=FY2026_DAY)
    with app.app_context():
        visit = load_visit_for_claim(vid)
        check_out_past_visit(visit)
        _code(visit)
        charges.lock(visit)
        db.session.commit()
        second, _ = billing.visit_bundle(load_visit_for_claim(vid))
    receiver.post(second)
    kinds = [k.split("/")[0] for k in receiver.store]
    assert kinds.count("Organization") == 2 and kinds.count("Practitioner") == 1
    assert kinds.count("Patient") == 2 and kinds.count("Claim") == 2
    claim = next(r for r in receiver.store.values() if r["resourceType"] == "Claim"
                 and r["identifier"][0]["value"] == f"V{vid:07d}")
    assert claim["patient"]["reference"].startswith("Patient/r")  # resolved to the receiver's id
