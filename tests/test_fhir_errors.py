"""Under /fhir every error is an OperationOutcome in application/fhir+json,
whatever raised it (routing, the token check, a view, an unhandled error)."""

from __future__ import annotations

import orjson
import pytest

from intake.extensions import db
from intake.services import tokens
from tests.fhir import r4_validators as V

FHIR = "application/fhir+json"


def _outcome(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == FHIR
    body = orjson.loads(response.data)
    assert body["resourceType"] == "OperationOutcome" and V.schema_errors(body) == []
    if code:
        assert body["issue"][0]["code"] == code
    return body


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_writes_are_405_outcomes(client, token, fhir_world, method):
    headers = {"Authorization": f"Bearer {token}"}
    response = getattr(client, method)(f"/fhir/Patient/{fhir_world['a']}", headers=headers, json={})
    _outcome(response, 405, "not-supported")
    assert "GET" in response.headers["Allow"]
    _outcome(getattr(client, method)("/fhir/metadata", headers=headers), 405)


@pytest.mark.parametrize("path", [
    "/fhir/Patient/{a}/_history", "/fhir/Patient/{a}/_history/1", "/fhir/_history",
    "/fhir/Patient/{a}/Encounter", "/fhir/Patient/{a}/Claim/1", "/fhir/nothing/here/at/all",
    "/fhir/Basic/1", "/fhir/Patient/999999", "/fhir/bulk/not-a-job",
])
def test_unknown_paths_history_vread_and_compartments_are_404_outcomes(api, fhir_world, path):
    _outcome(api.get(path.format(a=fhir_world["a"])), 404, "not-found")


def test_no_token_is_a_401_outcome(client, fhir_world):
    response = client.get(f"/fhir/Patient/{fhir_world['a']}")
    _outcome(response, 401, "login")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("headers, query", [
    ({"Accept": "application/fhir+xml"}, ""), ({"Accept": "application/xml"}, ""),
    ({}, "?_format=xml"), ({}, "?_format=application/fhir+xml"),
])
def test_xml_is_refused_with_406(api, fhir_world, headers, query):
    _outcome(api.get(f"/fhir/Patient/{fhir_world['a']}{query}", headers=headers), 406, "not-supported")
    _outcome(api.get(f"/fhir/Patient{query}", headers=headers), 406)


def test_json_accepts_are_served(api, fhir_world):
    for accept in ("application/fhir+json", "application/json", "*/*",
                   "application/fhir+json;q=0.9, application/fhir+xml"):
        assert api.get(f"/fhir/Patient/{fhir_world['a']}", headers={"Accept": accept}).status_code == 200
    assert api.get(f"/fhir/Patient/{fhir_world['a']}?_format=json").status_code == 200


@pytest.mark.parametrize("query", ["_summary=true", "_elements=id,name", "_summary=count", "foo=bar"])
def test_read_parameters_are_refused_not_ignored(api, fhir_world, query):
    _outcome(api.get(f"/fhir/Patient/{fhir_world['a']}?{query}"), 400, "not-supported")


def test_an_unhandled_error_is_a_500_outcome(make_app, create_patient, monkeypatch):
    app = make_app(INTAKE_RAISE_ERRORS=False)
    with app.app_context():
        _, plain = tokens.create_token("Back office")
        db.session.commit()

    def boom(*args, **kwargs):
        raise RuntimeError("patient data would be here")

    monkeypatch.setattr("intake.services.fhir_api.read", boom)
    response = app.test_client().get("/fhir/Patient/1", headers={"Authorization": f"Bearer {plain}"})
    body = _outcome(response, 500, "exception")
    assert b"patient data" not in response.data and "Traceback" not in str(body)


def test_metadata_states_only_what_works(client):
    body = client.get("/fhir/metadata").json
    assert V.schema_errors(body) == []
    rest = body["rest"][0]
    security = rest["security"]
    assert "service" not in security  # no OAuth/SMART claimed
    assert "Static bearer tokens" in security["description"]
    for resource in rest["resource"]:
        assert [i["code"] for i in resource["interaction"]] == ["read", "search-type"]
        assert resource["readHistory"] is False  # meta.versionId, but no vread or _history
    assert "handling=lenient" in rest["operation"][0]["documentation"]
