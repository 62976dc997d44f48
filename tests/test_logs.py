"""Structured logs: JSON lines, a request id per request (echoed), and no
patient data anywhere in the log output while the suite's flows run with
every logger at DEBUG."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import urllib.request
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from intake.extensions import db
from intake.logs import JsonFormatter, RedactQueryStrings
from intake.models import Patient

# Synthetic, distinctive values: any of them in a log line is a leak.
PATIENT = {
    "family_name": "Quillfeather", "given_name": "Marisol", "birth_date": "1979-04-23",
    "sex": "female", "address_line1": "77 Brambleton Court", "city": "Chicago", "state": "IL",
    "postal_code": "60611", "phone_mobile": "(312) 555-0147", "email": "marisol.q@example.net",
    "preferred_language": "en", "races": ["2106-3"], "ethnicity": "2186-5",
}
MEMBER_ID = "QZX918273645"
SECRETS = [
    "Quillfeather", "Marisol", "Brambleton", "marisol.q@example.net", MEMBER_ID,
    "1979-04-23", "04/23/1979", "4/23/1979", "23/04/1979", "19790423", "1979/04/23",
    "April 23, 1979", "23 Apr 1979",
    "3125550147", "555-0147", "555 0147", "(312) 555",
    # the kiosk's synthetic patient (tests/kiosk/factories.py)
    "Nunes", "Zoë", "Zo%C3%AB", "zoe@example.org", "XKZ123456789", "07/09/1985", "1985-07-09",
    "8475550111", "555-0111", "Synthetic Way",
]


@pytest.fixture
def captured(app) -> Iterator[io.StringIO]:
    """Everything logged, by any logger at DEBUG, formatted as JSON lines and
    also as the raw records (message and arguments)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    raw = io.StringIO()

    class Raw(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raw.write(f"{record.name} {record.msg!r} {record.args!r} {record.getMessage()} "
                      f"{record.exc_text or ''} {vars(record)!r}\n")

    raw_handler = Raw(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    root.addHandler(raw_handler)
    for name in ("werkzeug", "intake", "flask", "huey"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield stream, raw
    finally:
        root.removeHandler(handler)
        root.removeHandler(raw_handler)
        root.setLevel(old_level)
        for name in ("werkzeug", "intake", "flask", "huey"):
            logging.getLogger(name).setLevel(logging.NOTSET)


def _leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [s for s in SECRETS if s.lower() in lowered]


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def _serve_once(app, path: str, headers: dict[str, str], data: bytes | None = None) -> int:
    """One request through werkzeug's real server on loopback, so its own
    request log line is produced too (a POST when there is data)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        req = urllib.request.Request(f"http://127.0.0.1:{server.server_port}{path}", data=data,
                                     headers=headers)
        with urllib.request.urlopen(req, timeout=10) as response:
            response.read()
            return response.status
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_no_patient_data_in_any_log_line(app, client_as, captured, create_provider):
    from tests.kiosk.factories import submit_intake

    from intake.services import tokens
    from tests.conftest import payer_id

    stream, raw = captured
    assert logging.getLogger("sqlalchemy.engine").getEffectiveLevel() >= logging.WARNING  # no echo
    desk = client_as("receptionist")

    # Register (one refused round with errors first, then saved), search, open the chart.
    bad = desk.post("/staff/patients/new", data={**PATIENT, "email": "marisol.q@", "postal_code": "6"})
    assert bad.status_code == 422
    created = desk.post("/staff/patients/new", data=PATIENT)
    assert created.status_code == 302, created.status_code
    with app.app_context():
        pid = db.session.execute(db.select(Patient.id).filter_by(family_name="Quillfeather")).scalar_one()
    for query in ("quillfeather marisol", "04/23/1979", "(312) 555-0147", "Quillfeather 1979-04-23"):
        assert desk.post("/staff/", data={"q": query}).status_code == 200
    desk.post("/staff/patients/check-duplicates", data=PATIENT)  # the live warning, if routed
    desk.get("/staff/?q=Quillfeather&dob=04/23/1979")  # a query string that should never be logged
    assert desk.get(f"/staff/patients/{pid}").status_code == 200

    # Coverage with a member id, a copay payment, a visit.
    coverage = desk.post(f"/staff/patients/{pid}/coverages/new", data={
        "payer_id": payer_id(app), "member_id": MEMBER_ID, "group_number": "G1",
        "plan_name": "PPO Gold", "effective_date": "2026-01-01", "copay": "25.00",
        "relationship_code": "self", "rank": "1"})
    assert coverage.status_code == 302, coverage.status_code
    payment = desk.post(f"/staff/patients/{pid}/payments/new",
                        data={"visit_id": "0", "kind": "copay", "method": "cash", "amount": "25.00"})
    assert payment.status_code == 302
    assert desk.get(payment.headers["Location"]).status_code == 200  # the receipt

    # A kiosk submission and its review.
    sub_id = submit_intake(app)
    assert desk.get(f"/staff/kiosk/{sub_id}").status_code == 200

    # FHIR: read, search by name and date of birth (in the query string), bulk export.
    with app.app_context():
        _, plain = tokens.create_token("Back office")
        db.session.commit()
    api = app.test_client()
    auth = {"Authorization": f"Bearer {plain}"}
    assert api.get(f"/fhir/Patient/{pid}", headers=auth).status_code == 200
    assert api.get("/fhir/Patient?family=Quillfeather&birthdate=1979-04-23", headers=auth).status_code == 200
    # Not a search Coverage supports: refused, and the member id still not logged.
    assert api.get(f"/fhir/Coverage?identifier={MEMBER_ID}", headers=auth).status_code == 400
    kickoff = api.get("/fhir/$export", headers={**auth, "Prefer": "respond-async"})
    assert kickoff.status_code == 202
    status_url = kickoff.headers["Content-Location"].split("localhost", 1)[1]
    for entry in api.get(status_url, headers=auth).json["output"]:
        download = api.get(entry["url"].split("localhost", 1)[1], headers=auth)
        assert download.status_code == 200
        download.close()

    # The development server's own request line, with a query string.
    assert _serve_once(app, "/fhir/Patient?family=Quillfeather&birthdate=1979-04-23", auth) == 200

    lines = _lines(stream)
    requests = [line for line in lines if line.get("event") == "request"]
    assert len(requests) >= 20
    assert all(line["request_id"] and "?" not in line.get("route", "") for line in requests)
    assert {"/staff/patients/new", "/fhir/<resource_type>", "/fhir/<resource_type>/<resource_id>",
            "/kiosk/submit"} <= {line.get("route") for line in requests}
    assert any(line.get("user_id") for line in requests)
    assert any(line.get("token_id") for line in requests)
    assert any(line.get("kiosk_device_id") for line in requests)
    werkzeug_lines = [line for line in lines if line["logger"] == "werkzeug"]
    assert werkzeug_lines and all("?[query]" in line["msg"] for line in werkzeug_lines
                                  if "/fhir/Patient" in line["msg"])
    assert _leaks(stream.getvalue()) == []
    assert _leaks(raw.getvalue()) == []


def test_fhir_post_search_terms_stay_out_of_links_and_logs(app, captured, create_patient):
    """A POST search's terms travel in the body: not in its Bundle's links, not
    in any log line, through the test client and werkzeug's real server."""
    from datetime import date
    from urllib.parse import urlencode

    from intake.services import tokens

    stream, raw = captured
    born = date(1979, 4, 23)
    create_patient(family_name="Quillfeather", given_name="Marisol", birth_date=born,
                   email="marisol.q@example.net", phone_mobile="+13125550147")
    create_patient(family_name="Quillfeather", given_name="Zoë", birth_date=born)
    with app.app_context():
        _, plain = tokens.create_token("Back office")
        db.session.commit()
    api = app.test_client()
    auth = {"Authorization": f"Bearer {plain}"}
    terms = {"family": "Quillfeather", "given": "Marisol", "birthdate": "1979-04-23"}
    one = api.post("/fhir/Patient/_search", data=terms, headers=auth)
    assert one.status_code == 200 and one.json["total"] == 1
    paged = api.post("/fhir/Patient/_search?family=Quillfeather",
                     data={"birthdate": "1979-04-23", "_count": "1"}, headers=auth).json
    assert paged["total"] == 2
    links = [link["url"] for body in (one.json, paged) for link in body["link"]]
    assert len(links) == 3 and _leaks(" ".join(links)) == []
    following = api.get(next(link["url"] for link in paged["link"] if link["relation"] == "next")
                        .split("localhost", 1)[1], headers=auth)
    assert following.status_code == 200 and _leaks(str(following.json["link"])) == []
    assert api.post("/fhir/Patient/_search", data={**terms, "nickname": "Mari"},
                    headers=auth).status_code == 400  # refused: its message names no value
    form = {**auth, "Content-Type": "application/x-www-form-urlencoded"}
    assert _serve_once(app, "/fhir/Patient/_search", form, urlencode(terms).encode()) == 200

    requests = [line for line in _lines(stream) if line.get("event") == "request"]
    assert [line["route"] for line in requests].count("/fhir/<resource_type>/_search") == 4
    assert _leaks(stream.getvalue()) == []
    assert _leaks(raw.getvalue()) == []


def test_request_id_is_taken_when_sane_and_echoed(app, client, captured):
    stream, _ = captured
    given = client.get("/login", headers={"X-Request-ID": "lb-7f3a9c21-0001"})
    assert given.headers["X-Request-ID"] == "lb-7f3a9c21-0001"
    for hostile in ("short", "has space in it", "x" * 300, '"quoted"-id-1234', "ok\tforged-line"):
        response = client.get("/login", headers={"X-Request-ID": hostile})
        rid = response.headers["X-Request-ID"]
        assert rid != hostile and re.fullmatch(r"[0-9a-f]{32}", rid)
    fresh = client.get("/login").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)
    access = [line for line in _lines(stream) if line.get("event") == "request"]
    assert access[0]["request_id"] == "lb-7f3a9c21-0001"
    assert access[-1]["request_id"] == fresh
    assert access[0] == {**access[0], "method": "GET", "route": "/login", "status": 200}
    assert isinstance(access[0]["duration_ms"], float)


def test_an_exception_is_logged_as_type_and_frames_only(app, captured):
    stream, _ = captured
    log = logging.getLogger("intake.test")
    try:
        raise ValueError("birth date 04/23/1979 for Quillfeather is invalid")
    except ValueError:
        log.exception("could not parse")
    line = _lines(stream)[-1]
    assert line["exc_type"] == "ValueError" and line["msg"] == "could not parse"
    assert any("test_logs.py" in frame for frame in line["stack"])
    assert _leaks(stream.getvalue()) == []


def test_query_strings_are_cut_from_request_lines():
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1,
                               '%(h)s "%(r)s" %(s)s', None, None)
    record.args = {"h": "10.0.0.5", "r": "GET /fhir/Patient?family=Quillfeather HTTP/1.1", "s": "200"}
    assert RedactQueryStrings().filter(record)
    assert record.getMessage() == '10.0.0.5 "GET /fhir/Patient?[query] HTTP/1.1" 200'
    plain = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, "Press CTRL+C to quit?", None, None)
    RedactQueryStrings().filter(plain)
    assert plain.getMessage() == "Press CTRL+C to quit?"


def test_sql_errors_carry_no_parameters(app):
    with app.app_context():
        assert db.engine.hide_parameters


def test_even_sql_echo_shows_no_values(app, client_as, captured, create_patient):
    """Someone turns SQLAlchemy's statement log on to debug: statements are
    logged, their parameters are not (hide_parameters)."""
    stream, raw = captured
    engine_log = logging.getLogger("sqlalchemy.engine")
    engine_log.setLevel(logging.INFO)
    try:
        desk = client_as("receptionist")
        assert desk.post("/staff/patients/new", data=PATIENT).status_code == 302
        assert desk.post("/staff/", data={"q": "Quillfeather 04/23/1979"}).status_code == 200
    finally:
        engine_log.setLevel(logging.WARNING)
    assert "INSERT INTO patients" in stream.getvalue()
    assert _leaks(stream.getvalue()) == [] and _leaks(raw.getvalue()) == []
