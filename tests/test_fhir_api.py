"""The FHIR REST API and Bulk Data $export, through the HTTP interface."""

from __future__ import annotations

import io

import orjson
import pytest

from intake.extensions import db
from intake.models import BulkExport
from intake.services import tokens
from tests.conftest import FY2026_DAY

FHIR = "application/fhir+json"


def test_metadata_is_public_and_honest(client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200 and response.mimetype == FHIR
    body = response.json
    assert body["resourceType"] == "CapabilityStatement" and body["fhirVersion"] == "4.0.1"
    patient = next(r for r in body["rest"][0]["resource"] if r["type"] == "Patient")
    names = {p["name"] for p in patient["searchParam"]}
    assert {"name", "family", "given", "birthdate", "identifier", "_lastUpdated"} <= names


def test_no_token_no_data(client, fhir_world):
    response = client.get(f"/fhir/Patient/{fhir_world['a']}")
    assert response.status_code == 401
    assert response.json["resourceType"] == "OperationOutcome"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    bad = client.get("/fhir/Patient", headers={"Authorization": "Bearer itk_not-a-real-token"})
    assert bad.status_code == 401


def test_staff_session_is_not_an_api_token(desk, fhir_world):
    assert desk.get(f"/fhir/Patient/{fhir_world['a']}").status_code == 401


def test_revoked_token_stops_at_once(app, api, token, fhir_world):
    assert api.get(f"/fhir/Patient/{fhir_world['a']}").status_code == 200
    with app.app_context():
        record = tokens.authenticate(f"Bearer {token}")
        tokens.revoke(record.id)
        db.session.commit()
    assert api.get(f"/fhir/Patient/{fhir_world['a']}").status_code == 401


def test_read_each_type(api, fhir_world):
    for path in (f"Patient/{fhir_world['a']}", f"Coverage/{fhir_world['coverage']}",
                 f"Encounter/{fhir_world['visit']}", f"Claim/{fhir_world['visit']}",
                 "Organization/practice", "Practitioner/1"):
        response = api.get(f"/fhir/{path}")
        assert response.status_code == 200, path
        assert response.mimetype == FHIR
        assert f"{response.json['resourceType']}/{response.json['id']}" == path
    assert api.get("/fhir/Patient/999999").status_code == 404
    assert api.get("/fhir/Patient/999999").json["resourceType"] == "OperationOutcome"


def test_patient_search(api, fhir_world):
    def ids(query):
        body = api.get(f"/fhir/Patient?{query}").json
        assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
        return sorted(int(e["resource"]["id"]) for e in body.get("entry", []))

    assert ids("family=wojcik") == [fhir_world["a"]]
    assert ids("name=ada") == [fhir_world["b"]]
    assert ids("birthdate=1980-03-14") == [fhir_world["a"], fhir_world["b"]]
    assert ids("birthdate=ge1980-03-15") == []
    assert ids("_lastUpdated=ge2000-01-01") == [fhir_world["a"], fhir_world["b"]]


def test_identifier_search_and_reference_searches(app, api, fhir_world):
    from intake.models import Patient

    with app.app_context():
        mrn = db.session.get(Patient, fhir_world["a"]).mrn
    body = api.get(f"/fhir/Patient?identifier={mrn}").json
    assert [e["resource"]["id"] for e in body["entry"]] == [str(fhir_world["a"])]
    cov = api.get(f"/fhir/Coverage?patient=Patient/{fhir_world['a']}").json
    assert cov["total"] == 1
    enc = api.get(f"/fhir/Encounter?patient={fhir_world['a']}&date={FY2026_DAY.isoformat()}").json
    assert enc["total"] == 1
    claims = api.get(f"/fhir/Claim?patient={fhir_world['a']}").json
    assert claims["total"] == 1 and claims["entry"][0]["resource"]["total"]["value"] == 90.0


def test_paging_with_next_links(api, fhir_world):
    first = api.get("/fhir/Patient?_count=1&_sort=family").json
    assert first["total"] == 2 and len(first["entry"]) == 1
    link = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = api.get(link.split("localhost", 1)[1]).json
    assert second["entry"][0]["resource"]["id"] != first["entry"][0]["resource"]["id"]
    assert not [link for link in second["link"] if link["relation"] == "next"]


@pytest.mark.parametrize("query", [
    "_sort=birthdate;DROP TABLE patients", "_sort=(select 1)", "_sort=mrn",
    "unknown=1", "birthdate=yesterday", "_count=abc",
])
def test_bad_searches_are_refused_not_guessed(api, fhir_world, query):
    response = api.get(f"/fhir/Patient?{query}")
    assert response.status_code == 400
    assert response.json["resourceType"] == "OperationOutcome"


def test_read_only(api, client, token, fhir_world):
    response = client.post("/fhir/Patient", json={"resourceType": "Patient"},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405


def test_api_calls_are_audited(app, api, fhir_world):
    from intake.models import AuditEvent

    api.get(f"/fhir/Patient/{fhir_world['a']}")
    with app.app_context():
        event = db.session.execute(db.select(AuditEvent).filter_by(action="fhir.read")).scalar_one()
        assert event.patient_id == fhir_world["a"]
        assert event.actor.startswith("token:")


# ---- POST search ------------------------------------------------------------------

def _local(url):
    return url.split("localhost", 1)[1]


def _found(body):
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset", body
    return body["total"], sorted(e["fullUrl"] for e in body.get("entry", []))


def _post_search_cases(app, fhir_world):
    from intake.models import Patient, Provider

    with app.app_context():
        mrn = db.session.get(Patient, fhir_world["a"]).mrn
        npi = db.session.execute(db.select(Provider.npi)).scalars().first()
    a, day = fhir_world["a"], FY2026_DAY.isoformat()
    return [
        ("Patient", {"family": "wojcik"}), ("Patient", {"name": "ada"}),
        ("Patient", {"birthdate": "1980-03-14", "_sort": "-family"}),
        ("Patient", {"birthdate": "ge1980-03-15"}), ("Patient", {"identifier": mrn}),
        ("Patient", {"given": "łukasz", "_lastUpdated": "ge2000-01-01"}),
        ("Coverage", {"patient": f"Patient/{a}"}), ("RelatedPerson", {"patient": str(fhir_world["b"])}),
        ("Encounter", {"patient": str(a), "date": day}), ("Claim", {"patient": str(a)}),
        ("Condition", {"patient": f"Patient/{a}"}), ("Consent", {"patient": str(a)}),
        ("Organization", {"_id": "practice"}), ("Practitioner", {"identifier": npi}),
    ]


def test_post_search_finds_what_get_finds(app, api, fhir_world, create_coverage):
    from urllib.parse import urlencode

    create_coverage(fhir_world["b"], relationship_code="spouse", subscriber_family="Doe",
                    subscriber_given="Ann")
    for resource_type, params in _post_search_cases(app, fhir_world):
        got = api.get(f"/fhir/{resource_type}?{urlencode(params)}")
        posted = api.post(f"/fhir/{resource_type}/_search", data=params)
        assert got.status_code == posted.status_code == 200, (resource_type, params)
        assert posted.mimetype == FHIR
        assert _found(posted.json) == _found(got.json), (resource_type, params)
        assert _found(got.json)[0] > 0 or resource_type == "Consent" or "ge1980-03-15" in params.values()
    # Parameters in both the URL and the body are combined, as the spec allows.
    both = api.post("/fhir/Patient/_search?birthdate=1980-03-14", data={"family": "okafor"})
    assert _found(both.json) == (1, [f"http://localhost/fhir/Patient/{fhir_world['b']}"])
    # application/x-www-form-urlencoded with a charset is the same type.
    typed = api.post("/fhir/Patient/_search", data="name=ada",
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert _found(typed.json)[0] == 1


def test_post_search_pages_without_its_terms_in_any_link(app, api, fhir_world):
    first = api.post("/fhir/Patient/_search",
                     data={"birthdate": "1980-03-14", "_count": "1", "_sort": "family"}).json
    assert first["total"] == 2 and len(first["entry"]) == 1
    links = {link["relation"]: link["url"] for link in first["link"]}
    for url in links.values():
        assert "birthdate" not in url and "1980" not in url and "family" not in url, url
        assert "/fhir/Patient?_getpages=" in url
    assert "_offset=1" in links["next"] and "_count=1" in links["next"]
    again = api.get(_local(links["self"])).json  # the self link gives the same page
    assert again["entry"] == first["entry"] and again["total"] == 2
    second = api.get(_local(links["next"])).json
    assert second["total"] == 2
    assert [e["resource"]["id"] for e in first["entry"] + second["entry"]] == \
        [str(fhir_world["b"]), str(fhir_world["a"])]  # Okafor, then Wójcik: the saved _sort holds
    assert [link["relation"] for link in second["link"]] == ["self"]
    assert all("1980" not in link["url"] for link in second["link"])


def test_post_search_links_belong_to_their_token_and_type_and_expire(app, api, client, fhir_world):
    from datetime import timedelta

    from intake.models import SavedSearch
    from intake.models.base import utcnow
    from intake.services import fhir_api

    body = api.post("/fhir/Patient/_search", data={"name": "ada", "_count": "1"}).json
    self_url = _local(body["link"][0]["url"])
    saved_id = self_url.split("_getpages=", 1)[1].split("&", 1)[0]
    assert api.get(self_url).status_code == 200
    with app.app_context():
        _, other = tokens.create_token("Someone else")
        db.session.commit()
    response = client.get(self_url, headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 404 and response.json["resourceType"] == "OperationOutcome"
    assert api.get(self_url.replace("/Patient?", "/Coverage?")).status_code == 404
    assert api.get("/fhir/Patient?_getpages=not-a-saved-search").status_code == 404
    # A paging link pages; it does not take new terms.
    assert api.get(f"{self_url}&family=wojcik").status_code == 400
    with app.app_context():
        db.session.get(SavedSearch, saved_id).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    gone = api.get(self_url)
    assert gone.status_code == 410 and gone.json["issue"][0]["code"] == "expired"
    with app.app_context():
        assert fhir_api.purge_expired_searches() == 1
        db.session.commit()
    assert api.get(self_url).status_code == 404


@pytest.mark.parametrize("data", [
    {"unknown": "1"}, {"birthdate": "yesterday"}, {"_count": "abc"}, {"_sort": "mrn"},
    {"_getpages": "x"},
])
def test_bad_post_searches_are_refused_like_get(api, fhir_world, data):
    response = api.post("/fhir/Patient/_search", data=data)
    assert response.status_code == 400
    assert response.json["resourceType"] == "OperationOutcome"
    assert api.post("/fhir/Banana/_search", data={}).status_code == 404  # a type not served


@pytest.mark.parametrize("kind, body", [
    ("application/json", b'{"family": "wojcik"}'), ("application/fhir+json", b"{}"),
    ("text/plain", b"family=wojcik"), ("multipart/form-data; boundary=x", b"--x--"), (None, b"family=wojcik"),
])
def test_post_search_takes_a_form_body_only(api, fhir_world, kind, body):
    headers = {"Content-Type": kind} if kind else {}
    response = api.post("/fhir/Patient/_search", data=body, headers=headers)
    assert response.status_code == 415
    assert response.json["resourceType"] == "OperationOutcome"
    # No body at all (every parameter in the URL) is not a wrong type.
    assert _found(api.post("/fhir/Patient/_search?family=wojcik").json)[0] == 1


def test_post_search_needs_a_token_and_no_csrf_token(make_app, create_patient):
    """CSRF protection is on here (the other tests turn it off): the FHIR
    blueprint is exempt, as it takes bearer tokens and no cookies."""
    app = make_app(WTF_CSRF_ENABLED=True)
    create_patient()
    with app.app_context():
        _, plain = tokens.create_token("CSRF check")
        db.session.commit()
    client = app.test_client()
    anonymous = client.post("/fhir/Patient/_search", data={"family": "wojcik"})
    assert anonymous.status_code == 401 and anonymous.json["resourceType"] == "OperationOutcome"
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    forged = client.post("/fhir/Patient/_search", data={"family": "wojcik"},
                         headers={"Authorization": "Bearer itk_not-a-real-token"})
    assert forged.status_code == 401
    ok = client.post("/fhir/Patient/_search", data={"family": "wojcik"},
                     headers={"Authorization": f"Bearer {plain}"})
    assert ok.status_code == 200 and ok.json["total"] == 1


def test_staff_session_cannot_post_search(desk, fhir_world):
    assert desk.post("/fhir/Patient/_search", data={"family": "wojcik"}).status_code == 401


def test_post_search_is_audited_like_get(app, api, fhir_world):
    from intake.models import AuditEvent

    api.get("/fhir/Patient?family=wojcik")
    body = api.post("/fhir/Patient/_search", data={"family": "wojcik", "_count": "1"}).json
    api.get(_local(body["link"][0]["url"]))
    with app.app_context():
        events = db.session.execute(db.select(AuditEvent).filter_by(action="fhir.search")
                                    .order_by(AuditEvent.id)).scalars().all()
        assert [(e.object_type, e.detail, e.actor.startswith("token:")) for e in events] == [
            ("patient", "params=family results=1", True),
            ("patient", "params=_count,family results=1", True),
            ("patient", "params=_count,_offset,family results=1", True)]  # the link's page
        assert all("wojcik" not in (e.detail or "").lower() for e in events)


def test_post_search_bundles_and_metadata_validate(app, api, fhir_world):
    from tests.fhir import r4_validators as V

    V.ensure_installed()
    docs = [api.post(f"/fhir/{resource_type}/_search", data={**params, "_count": "1"}).json
            for resource_type, params in _post_search_cases(app, fhir_world)]
    docs.append(api.get("/fhir/metadata").json)
    for doc in docs:
        assert V.schema_errors(doc) == [], doc.get("resourceType")
    for doc, issues in zip(docs, V.medplum_results(docs), strict=False):
        assert V.medplum_errors(issues) == [], (doc.get("resourceType"), issues)


def test_metadata_advertises_post_search(client):
    for resource in client.get("/fhir/metadata").json["rest"][0]["resource"]:
        search = next(i for i in resource["interaction"] if i["code"] == "search-type")
        assert "POST [type]/_search" in search["documentation"]


# ---- Bulk Data ---------------------------------------------------------------------

def _kickoff(api, path="/fhir/$export", query=""):
    return api.get(f"{path}{query}", headers={"Prefer": "respond-async", "Accept": FHIR})


def test_bulk_export_end_to_end(app, api, fhir_world):
    response = _kickoff(api)
    assert response.status_code == 202
    status_url = response.headers["Content-Location"].split("localhost", 1)[1]
    status = api.get(status_url)  # the test worker runs tasks at once
    assert status.status_code == 200
    manifest = status.json
    assert manifest["requiresAccessToken"] is True
    by_type = {o["type"]: o for o in manifest["output"]}
    assert {"Patient", "Coverage", "Encounter", "Condition", "Claim", "Organization",
            "Practitioner"} <= set(by_type)
    assert by_type["Patient"]["count"] == 2
    file = api.get(by_type["Patient"]["url"].split("localhost", 1)[1])
    assert file.status_code == 200 and file.mimetype == "application/fhir+ndjson"
    lines = [orjson.loads(line) for line in io.BytesIO(file.data).read().splitlines()]
    file.close()
    assert sorted(int(r["id"]) for r in lines) == sorted([fhir_world["a"], fhir_world["b"]])


def test_bulk_export_type_and_since(app, api, fhir_world):
    status_url = _kickoff(api, query="?_type=Patient,Coverage").headers["Content-Location"]
    manifest = api.get(status_url.split("localhost", 1)[1]).json
    assert {o["type"] for o in manifest["output"]} == {"Patient", "Coverage"}
    later = _kickoff(api, "/fhir/Patient/$export", "?_since=2999-01-01T00:00:00Z")
    manifest = api.get(later.headers["Content-Location"].split("localhost", 1)[1]).json
    assert manifest["output"] == []


@pytest.mark.parametrize("query", ["?_type=Banana", "?_outputFormat=text/csv", "?_since=soon"])
def test_bulk_export_bad_requests(api, fhir_world, query):
    response = _kickoff(api, query=query)
    assert response.status_code == 400 and response.json["resourceType"] == "OperationOutcome"


def test_bulk_export_needs_respond_async(api):
    assert api.get("/fhir/$export").status_code == 400


def test_bulk_status_while_running_then_cancel(app, api, token):
    with app.app_context():
        record = tokens.authenticate(f"Bearer {token}")
        job_id = "00000000-0000-4000-8000-000000000001"
        job = BulkExport(id=job_id, level="system",
                         types=["Patient"], status="running", progress=40,
                         request_url="http://localhost/fhir/$export", token_id=record.id)
        db.session.add(job)
        db.session.commit()
    status = api.get(f"/fhir/bulk/{job_id}")
    assert status.status_code == 202
    assert status.headers["X-Progress"] == "running 40%" and status.headers["Retry-After"]
    assert api.delete(f"/fhir/bulk/{job_id}").status_code == 202
    assert api.get(f"/fhir/bulk/{job_id}").status_code == 404


def test_another_tokens_export_is_not_found(app, api, client, fhir_world):
    status_url = _kickoff(api).headers["Content-Location"].split("localhost", 1)[1]
    with app.app_context():
        _, other = tokens.create_token("Someone else")
        db.session.commit()
    response = client.get(status_url, headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 404


def test_expired_files_are_gone(app, api, fhir_world):
    from datetime import datetime, timedelta, timezone

    from intake.services import bulk

    status_url = _kickoff(api).headers["Content-Location"].split("localhost", 1)[1]
    manifest = api.get(status_url).json
    file_url = manifest["output"][0]["url"].split("localhost", 1)[1]
    job_id = status_url.rsplit("/", 1)[1]
    with app.app_context():
        job = db.session.get(BulkExport, job_id)
        job.expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
        db.session.commit()
        assert bulk.purge_expired() == 1
        db.session.commit()
        assert not bulk.export_dir(job_id).exists()
    assert api.get(file_url).status_code == 410
    assert api.get(status_url).status_code == 410


def test_export_file_names_come_from_the_job_only(api, fhir_world):
    status_url = _kickoff(api).headers["Content-Location"].split("localhost", 1)[1]
    api.get(status_url)
    for name in ("..%2F..%2Fsecret_key", "../../secret_key", "Patient.ndjson%00"):
        assert api.get(f"{status_url}/{name}").status_code == 404


def test_tokens_cli(app, runner):
    from intake.cli import cli

    created = runner.invoke(cli, ["tokens", "create", "Clearinghouse"])
    assert created.exit_code == 0, created.output
    plain = created.output.strip().splitlines()[-1]
    assert plain.startswith("itk_")
    listed = runner.invoke(cli, ["tokens", "list"])
    assert "Clearinghouse" in listed.output and plain not in listed.output
    with app.app_context():
        token_id = tokens.authenticate(f"Bearer {plain}").id
        db.session.rollback()
    assert runner.invoke(cli, ["tokens", "revoke", str(token_id)]).exit_code == 0
    with app.app_context():
        assert tokens.authenticate(f"Bearer {plain}") is None


def test_fhir_export_cli(app, runner, fhir_world, tmp_path):
    from intake.cli import cli

    result = runner.invoke(cli, ["fhir", "export", "--output", str(tmp_path / "out"),
                                 "--type", "Patient", "--type", "Claim"])
    assert result.exit_code == 0, result.output
    patients = (tmp_path / "out" / "Patient.ndjson").read_bytes().splitlines()
    assert len(patients) == 2
    claim = orjson.loads((tmp_path / "out" / "Claim.ndjson").read_bytes().splitlines()[0])
    assert claim["resourceType"] == "Claim" and claim["id"] == str(fhir_world["visit"])
    bad = runner.invoke(cli, ["fhir", "export", "--output", str(tmp_path / "x"), "--type", "Banana"])
    assert bad.exit_code != 0
