"""Issue 19 item 9: a forged Host header no longer puts another host into
Content-Location or the bulk manifest: hosts are checked against
TRUSTED_HOSTS (from configuration) and absolute URLs come from the
configured base."""

from __future__ import annotations

from intake.extensions import db


def _token(app) -> dict[str, str]:
    from intake.services import tokens

    with app.app_context():
        _, plain = tokens.create_token("Back office")
        db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def test_a_forged_host_is_refused(app):
    client = app.test_client()
    auth = _token(app)
    for host in ("evil.example", "evil.example:443", "localhost.evil.example"):
        response = client.get("/fhir/$export", headers={**auth, "Prefer": "respond-async",
                                                        "Host": host})
        assert response.status_code == 400, host
        assert "evil" not in response.headers.get("Content-Location", "")
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/login").status_code == 200  # localhost is this machine


def test_absolute_urls_come_from_the_configured_base(make_app, create_patient):
    app = make_app(INTAKE_BASE_URL="https://intake.example-clinic.org",
                   INTAKE_TRUSTED_HOSTS="intake.example-clinic.org,internal-proxy")
    assert app.config["TRUSTED_HOSTS"] == ["intake.example-clinic.org", "internal-proxy"]
    create_patient()
    client = app.test_client()
    auth = _token(app)
    # A host the proxy is allowed to send, but not the public one: URLs still use the base.
    headers = {**auth, "Host": "internal-proxy"}
    kickoff = client.get("/fhir/$export?_type=Patient", headers={**headers,
                                                                 "Prefer": "respond-async"})
    assert kickoff.status_code == 202
    status_url = kickoff.headers["Content-Location"]
    assert status_url.startswith("https://intake.example-clinic.org/fhir/")
    manifest = client.get(status_url.removeprefix("https://intake.example-clinic.org"),
                          headers=headers).json
    assert manifest["request"].startswith("https://intake.example-clinic.org/fhir/$export")
    assert all(o["url"].startswith("https://intake.example-clinic.org/") for o in manifest["output"])
    search = client.get("/fhir/Patient", headers=headers).json
    assert all(link["url"].startswith("https://intake.example-clinic.org/")
               for link in search["link"])
    meta = client.get("/fhir/metadata", headers={"Host": "internal-proxy"}).json
    assert meta["implementation"]["url"].startswith("https://intake.example-clinic.org")
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400
