"""The billing workspace: work list with scrubber findings, bundles, exports."""

from __future__ import annotations

import hashlib
import io
import zipfile

import orjson
import pytest

from intake.extensions import db
from intake.models import BillingExport, ExportedVisit
from intake.services import practice
from tests.conftest import FY2026_DAY


@pytest.fixture
def billing_client(client_as):
    return client_as("billing")


@pytest.fixture
def visits_(app, create_patient, create_coverage, create_visit, billable_visit):
    """One visit ready to bill, one with findings (no coverage, not locked)."""
    with app.app_context():
        practice.save_practice({"name": "Lakeside Family Medicine", "npi": "1245319599",
                                "default_pos": "11"})
        db.session.commit()
    ready_patient = create_patient()
    create_coverage(ready_patient)
    ready = billable_visit(ready_patient, locked=True)
    other = create_patient(family_name="Okafor", given_name="Ada", phone_mobile="+13125550177")
    held = create_visit(other, day=FY2026_DAY)
    return ready, held


def _range():
    return {"date_from": FY2026_DAY.isoformat(), "date_to": FY2026_DAY.isoformat()}


def test_work_list_shows_findings_in_words(billing_client, visits_):
    page = billing_client.get("/billing/?date_from=2026-03-01&date_to=2026-03-31&show=all")
    page = page.get_data(as_text=True)
    assert "1 ready" in page
    assert "not locked" in page and "coverage" in page.lower()


def test_work_list_leaves_unseen_visits_out_and_filters_ready(billing_client, visits_):
    """A visit not seen yet is not a claim 'with findings'; 'Ready only' shows
    just what can go; the date boxes show the range that applies."""
    base = "/billing/?date_from=2026-03-01&date_to=2026-03-31"
    page = billing_client.get(base).get_data(as_text=True)
    summary = page[page.index('id="billing-summary"'):].split("</p>", 1)[0]
    assert "1 ready</strong>, 0 with findings; 1 not seen yet or still in the office" in summary
    assert "Okafor" not in page and "not locked" not in page
    ready_only = billing_client.get(base + "&show=ready").get_data(as_text=True)
    assert ready_only.count('class="billing-row"') == 1
    assert '<option selected value="ready">Ready only</option>' in ready_only
    everything = billing_client.get(base + "&show=all").get_data(as_text=True)
    assert "Okafor" in everything
    default = billing_client.get("/billing/").get_data(as_text=True)
    boxes = default[default.index('id="date_from"') - 200:default.index('id="date_to"') + 200]
    assert 'value=""' not in boxes and boxes.count('value="20') == 2


def test_preview_is_not_an_export_and_export_is_recorded(app, billing_client, visits_):
    ready, held = visits_
    preview = billing_client.get(f"/billing/visits/{ready}/bundle")
    assert preview.status_code == 200
    bundle = orjson.loads(preview.data)
    assert bundle["type"] == "transaction"
    types = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "Coverage", "Encounter", "Condition", "Claim", "Practitioner",
            "Organization"} <= types
    with app.app_context():  # previewing recorded nothing
        assert db.session.execute(db.select(BillingExport)).first() is None
    response = billing_client.post(f"/billing/visits/{ready}/export")
    assert response.status_code == 200 and response.data == preview.data
    with app.app_context():
        record = db.session.execute(db.select(BillingExport)).scalar_one()
        assert record.sha256 == hashlib.sha256(response.data).hexdigest()
        assert [v.visit_id for v in record.visits] == [ready]
        export_id = record.id
    again = billing_client.get(f"/billing/exports/{export_id}/file")
    assert again.status_code == 200 and again.data == response.data  # byte for byte
    history = billing_client.get("/billing/exports").get_data(as_text=True)
    assert hashlib.sha256(response.data).hexdigest() in history
    assert f"/billing/exports/{export_id}/file" in history and "Wójcik, Łukasz" in history
    page = billing_client.get("/billing/?date_from=2026-03-01&date_to=2026-03-31").get_data(as_text=True)
    assert f"export #{export_id}" in page
    refused = billing_client.get(f"/billing/visits/{held}/bundle")
    assert refused.status_code == 409
    assert "not ready to bill" in refused.get_data(as_text=True)
    assert billing_client.post(f"/billing/visits/{held}/export").status_code == 409


def test_range_export_zip_of_ndjson(app, billing_client, visits_):
    ready, held = visits_
    response = billing_client.post("/billing/export", data={**_range(), "file_format": "ndjson-zip"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = set(archive.namelist())
        assert {"Patient.ndjson", "Claim.ndjson", "Coverage.ndjson"} <= names
        claim = orjson.loads(archive.read("Claim.ndjson").splitlines()[0])
    assert claim["patient"]["reference"].startswith("Patient/")  # not urn:uuid outside a bundle
    with app.app_context():
        exported = db.session.execute(db.select(ExportedVisit.visit_id)).scalars().all()
        assert exported == [ready]
    # Already exported: a second run has nothing new unless re-export is asked for.
    again = billing_client.post("/billing/export", data={**_range(), "file_format": "bundle"})
    assert again.status_code == 422
    assert "No visit in this period is ready" in again.get_data(as_text=True)
    re_export = billing_client.post("/billing/export", data={
        **_range(), "file_format": "bundle", "include_exported": "y"})
    assert re_export.status_code == 200
    assert orjson.loads(re_export.data)["type"] == "collection"
    history = billing_client.get("/billing/exports").get_data(as_text=True)
    assert history.count("ndjson-zip") == 1 and history.count("bundle (") == 1


def test_receptionist_cannot_export(desk, visits_):
    assert desk.get("/billing/").status_code == 403
