"""Issue 19 item 14: API tokens carry scopes (which resource types, bulk or
not) and an expiry, shown at creation and enforced on every FHIR route."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from intake.cli import cli
from intake.extensions import db
from intake.models import ApiToken


def _token(app, **kwargs) -> tuple[int, dict[str, str]]:
    from intake.services import tokens

    with app.app_context():
        token, plain = tokens.create_token("Clearinghouse", **kwargs)
        db.session.commit()
        return token.id, {"Authorization": f"Bearer {plain}"}


def test_scopes_and_expiry_are_shown_at_creation(runner):
    made = runner.invoke(cli, ["tokens", "create", "Clearinghouse", "--types",
                               "Patient,Coverage", "--no-bulk", "--days", "30"])
    assert made.exit_code == 0, made.output
    assert "reads Coverage, Patient; bulk exports not allowed; expires" in made.output
    listed = runner.invoke(cli, ["tokens", "list"]).output
    assert "system/Coverage.read system/Patient.read" in listed and "expires 20" in listed
    bad = runner.invoke(cli, ["tokens", "create", "X", "--types", "Patient,Banana"])
    assert bad.exit_code == 1 and "Unknown resource type(s): Banana" in bad.output


def test_a_token_reads_only_its_resource_types(app, create_patient):
    pid = create_patient()
    _, auth = _token(app, types=["Coverage"], bulk=False)
    client = app.test_client()
    assert client.get("/fhir/Coverage", headers=auth).status_code == 200
    for path in ("/fhir/Patient", f"/fhir/Patient/{pid}", "/fhir/Encounter"):
        refused = client.get(path, headers=auth)
        assert refused.status_code == 403 and "may not read" in refused.get_data(as_text=True)
    assert client.post("/fhir/Patient/_search", data={"family": "x"},
                       headers=auth).status_code == 403


def test_bulk_exports_need_the_bulk_scope_and_stay_within_the_types(app):
    client = app.test_client()
    async_ = {"Prefer": "respond-async"}
    _, no_bulk = _token(app, bulk=False)
    assert client.get("/fhir/$export", headers={**no_bulk, **async_}).status_code == 403
    _, coverage_only = _token(app, types=["Coverage"], bulk=True)
    refused = client.get("/fhir/$export?_type=Patient", headers={**coverage_only, **async_})
    assert refused.status_code == 403
    assert client.get("/fhir/Patient/$export", headers={**coverage_only, **async_}).status_code == 403
    kickoff = client.get("/fhir/$export", headers={**coverage_only, **async_})
    assert kickoff.status_code == 202
    manifest = client.get(kickoff.headers["Content-Location"].split("localhost", 1)[1],
                          headers=coverage_only).json
    assert {o["type"] for o in manifest["output"]} <= {"Coverage"}


def test_an_expired_token_is_refused(app):
    token_id, auth = _token(app, days=1)
    client = app.test_client()
    assert client.get("/fhir/Patient", headers=auth).status_code == 200
    with app.app_context():
        token = db.session.get(ApiToken, token_id)
        token.expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
        db.session.commit()
    refused = client.get("/fhir/Patient", headers=auth)
    assert refused.status_code == 401 and "expired on" in refused.get_data(as_text=True)
