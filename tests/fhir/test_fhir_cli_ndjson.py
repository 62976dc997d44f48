"""`fhir bundle VISIT_ID` and the NDJSON writers over Core rows."""

from __future__ import annotations

import io

import orjson
import pytest
from flask.cli import ScriptInfo

from intake.extensions import db
from intake.fhir import bundle_problems, ndjson
from intake.fhir.cli import fhir_cli
from intake.models import BilledClaim, Coverage, Patient, Payer, Visit
from intake.services import charges, practice
from intake.services.scrubber import load_visit_for_claim
from tests.fhir import r4_validators as V
from tests.fhir.fhir_samples import PRACTICE_NPI


def _invoke(app, *args):
    return app.test_cli_runner().invoke(fhir_cli, list(args), obj=ScriptInfo(create_app=lambda: app))


@pytest.fixture
def visit_id(app, create_patient, create_coverage, billable_visit):
    pid = create_patient()
    create_coverage(pid)
    with app.app_context():
        practice.save_practice({"name": "Maple Street", "npi": PRACTICE_NPI})
        db.session.commit()
    return billable_visit(pid)


def test_bundle_refused_with_findings_in_words_then_forced(app, visit_id):
    result = _invoke(app, "bundle", str(visit_id))
    assert result.exit_code == 1
    assert "not ready to bill" in result.output and "not locked" in result.output
    forced = _invoke(app, "bundle", str(visit_id), "--force")
    assert forced.exit_code == 0, forced.output
    bundle = orjson.loads(forced.stdout)
    assert "Claim" not in [e["resource"]["resourceType"] for e in bundle["entry"]]


def test_bundle_of_a_locked_visit(app, visit_id):
    with app.app_context():
        charges.lock(load_visit_for_claim(visit_id))
        db.session.commit()
    result = _invoke(app, "bundle", str(visit_id))
    assert result.exit_code == 0, result.output
    bundle = orjson.loads(result.stdout)
    assert bundle["entry"][-1]["resource"]["resourceType"] == "Claim"
    assert bundle_problems(bundle) == [] and V.schema_errors(bundle) == []
    assert _invoke(app, "bundle", "999999").exit_code == 1


def test_ndjson_from_core_rows(app, visit_id, create_coverage):
    """The bulk path feeds mappers SQLAlchemy Core rows, not ORM objects."""
    with app.app_context():
        pid = db.session.get(Visit, visit_id).patient_id
    create_coverage(pid, relationship_code="spouse", subscriber_family="Doe", subscriber_given="Ann")
    with app.app_context():
        charges.lock(load_visit_for_claim(visit_id))  # billed now: both coverages frozen on it
        db.session.commit()
        payers = {r.id: r for r in db.session.execute(db.select(Payer.__table__))}
        out = io.BytesIO()
        n = ndjson.write_ndjson(ndjson.patients(db.session.execute(db.select(Patient.__table__))), out)
        cov_rows = list(db.session.execute(db.select(Coverage.__table__)))
        n += ndjson.write_ndjson(ndjson.coverages(cov_rows, lambda r: payers[r.payer_id]), out)
        n += ndjson.write_ndjson(ndjson.related_persons(cov_rows), out)
        n += ndjson.write_ndjson(ndjson.encounters(db.session.execute(db.select(Visit.__table__))), out)
        n += ndjson.write_ndjson(ndjson.claims(db.session.execute(db.select(BilledClaim.__table__))), out)
    lines = out.getvalue().splitlines()
    assert n == len(lines) == 6
    types = [orjson.loads(line)["resourceType"] for line in lines]
    assert types == ["Patient", "Coverage", "Coverage", "RelatedPerson", "Encounter", "Claim"]
    for line in lines:
        assert V.schema_errors(orjson.loads(line)) == []
    claim = orjson.loads(lines[-1])
    assert [i["focal"] for i in claim["insurance"]] == [True, False]
    assert b'"net":{"value":90.00,"currency":"USD"}' in lines[-1]
