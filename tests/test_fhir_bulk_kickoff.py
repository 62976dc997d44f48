"""Bulk Data 2.0 kick-off: unsupported parameters refused unless lenient
(then listed as not applied), patient honoured, _since on every type, a
per-token limit on exports in flight, FHIR JSON only."""

from __future__ import annotations

import orjson
import pytest

from intake.extensions import db
from intake.models import BulkExport, Coverage
from intake.services import tokens

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


def _path(url: str) -> str:
    return url.split("localhost", 1)[1]


def _manifest(api, response) -> dict:
    assert response.status_code == 202, response.data
    status = api.get(_path(response.headers["Content-Location"]))
    assert status.status_code == 200
    return status.json


def _lines(api, url: str) -> list[dict]:
    file = api.get(_path(url))
    body = [orjson.loads(line) for line in file.data.splitlines()]
    file.close()
    return body


@pytest.mark.parametrize("query", ["?_typeFilter=Patient%3Factive%3Dtrue", "?_elements=id",
                                   "?foo=bar", "?patient=Patient/1", "?includeAssociatedData=x"])
def test_unsupported_kickoff_parameters_are_refused(api, fhir_world, query):
    for headers in (ASYNC, {**ASYNC, "Prefer": "respond-async, handling=strict"}):
        response = api.get(f"/fhir/$export{query}", headers=headers)
        assert response.status_code == 400 and response.mimetype == "application/fhir+json"
        assert response.json["resourceType"] == "OperationOutcome"


def test_lenient_lists_what_was_not_applied(api, fhir_world):
    response = api.get("/fhir/$export?_type=Patient&_elements=id&foo=bar",
                       headers={**ASYNC, "Prefer": "respond-async, handling=lenient"})
    manifest = _manifest(api, response)
    assert [o["type"] for o in manifest["output"]] == ["Patient"]
    assert len(manifest["error"]) == 1
    issues = _lines(api, manifest["error"][0]["url"])
    assert sorted(i["issue"][0]["diagnostics"].split()[2] for i in issues) == ["_elements", "foo"]


def test_patient_parameter_is_honoured(app, api, fhir_world):
    a = fhir_world["a"]
    manifest = _manifest(api, api.get(f"/fhir/Patient/$export?patient=Patient/{a}", headers=ASYNC))
    for entry in manifest["output"]:
        for resource in _lines(api, entry["url"]):
            ref = resource["id"] if resource["resourceType"] == "Patient" else (
                resource.get("subject") or resource.get("patient") or resource.get("beneficiary"))
            assert ref in (str(a), {"reference": f"Patient/{a}"}), resource["resourceType"]
    assert {o["type"] for o in manifest["output"]} >= {"Patient", "Coverage", "Encounter", "Claim"}
    bad = api.get("/fhir/Patient/$export?patient=Robert", headers=ASYNC)
    assert bad.status_code == 400


def test_since_applies_to_every_type(app, api, fhir_world):
    manifest = _manifest(api, api.get("/fhir/$export?_since=2999-01-01T00:00:00Z", headers=ASYNC))
    assert manifest["output"] == []  # Organization and Consent included
    with app.app_context():
        coverage = db.session.get(Coverage, fhir_world["coverage"])
        coverage.plan_name = "Changed"  # bumps the coverage only
        db.session.commit()
        since = coverage.updated_at.isoformat().replace("+00:00", "Z")
    manifest = _manifest(api, api.get(f"/fhir/$export?_since={since}", headers=ASYNC))
    assert {o["type"]: o["count"] for o in manifest["output"]} == {"Coverage": 1}


def test_exports_in_flight_are_limited_per_token(app, api, token, fhir_world, client):
    with app.app_context():
        record = tokens.authenticate(f"Bearer {token}")
        for n in range(app.config["INTAKE_EXPORTS_IN_FLIGHT"]):
            db.session.add(BulkExport(id=f"00000000-0000-4000-8000-00000000000{n}", level="system",
                                      types=["Patient"], status="queued", token_id=record.id,
                                      request_url="http://localhost/fhir/$export"))
        _, other = tokens.create_token("Another office")
        db.session.commit()
    refused = api.get("/fhir/$export", headers=ASYNC)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert refused.json["resourceType"] == "OperationOutcome"
    # Another token is not held up by this one's exports.
    assert client.get("/fhir/$export", headers={**ASYNC, "Authorization": f"Bearer {other}"}).status_code == 202


@pytest.mark.parametrize("accept", ["application/fhir+xml", "application/xml", "text/csv"])
def test_only_fhir_json_is_accepted(api, fhir_world, accept):
    response = api.get("/fhir/$export", headers={**ASYNC, "Accept": accept})
    assert response.status_code == 406 and response.json["resourceType"] == "OperationOutcome"
