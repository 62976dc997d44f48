"""Issue 19 item 1: hostile query strings through every route, under
werkzeug's server (`make dev`) and gunicorn (`make run`), leave no patient
data in any log line. Requests go over raw sockets so quotes, spaces and
fake protocol versions reach the server exactly as an attacker sends them."""

from __future__ import annotations

import io
import logging
import socket
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from intake.extensions import db
from intake.logs import JsonFormatter

MARK = "Quillfeather"
# What the attack found (`family=O'Brien` cut at the quote), and its cousins.
HOSTILE = [
    f"family=O'Brien{MARK}",
    f"family=O%27Brien%20{MARK}",
    f'name="Smith"{MARK}',
    f"name=%22Smith%22{MARK}&birthdate=1979-04-23",
    f"q={MARK}%0A%7B%22level%22%3A%22INFO%22%7D",  # an encoded newline and a fake JSON line
    f"q=1%20HTTP/1.1%22%20200%20-%20{MARK}",  # a fake end of the request line
    f"q=<script>{MARK}</script>&x=`{MARK}`",
    f"family=O'Brien {MARK} HTTP/1.1",  # raw spaces: a malformed request line
    f"{MARK}",
]


def _targets(app) -> list[str]:
    """Every route, its arguments filled in (ids 1, FHIR type Patient)."""
    adapter = app.url_map.bind("localhost")
    paths = set()
    for rule in app.url_map.iter_rules():
        values = {}
        for name in rule.arguments - set(rule.defaults or ()):
            converter = rule._converters[name]
            values[name] = 1 if type(converter).__name__ in ("IntegerConverter", "BoundedInt") \
                else ("Patient" if "type" in name else "x1")
        try:
            paths.add(adapter.build(rule.endpoint, values, method=None))
        except Exception:  # noqa: BLE001 - a rule that cannot be built with these values
            paths.add(rule.rule.replace("<", "").replace(">", ""))
    return sorted(paths)


def _send(port: int, target: str, headers: dict[str, str]) -> None:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     f"{extra}\r\n".encode())
        while sock.recv(65536):
            pass


def _attack(app, port: int) -> int:
    from intake.services import tokens

    with app.app_context():
        _, plain = tokens.create_token("Log attack")
        db.session.commit()
    sent = 0
    for path in _targets(app):
        for query in HOSTILE:
            headers = {"Authorization": f"Bearer {plain}"} if path.startswith("/fhir") else {}
            _send(port, f"{path}?{query}", headers)
            sent += 1
    return sent


@pytest.fixture
def everything_logged() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    raw = logging.StreamHandler(stream)  # the plain message too, as a bare handler shows it
    root = logging.getLogger()
    old = root.level
    root.setLevel(logging.DEBUG)
    for h in (handler, raw):
        h.setLevel(logging.DEBUG)
        root.addHandler(h)
    logging.getLogger("werkzeug").setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        for h in (handler, raw):
            root.removeHandler(h)
        root.setLevel(old)
        logging.getLogger("werkzeug").setLevel(logging.NOTSET)


def test_redact_query_takes_the_whole_query_string():
    from intake.logs import redact_query

    line = '"GET /fhir/Patient?family=O\'Brien Smith HTTP/1.1 HTTP/1.1" 200 -'
    assert redact_query(line) == '"GET /fhir/Patient?[query] HTTP/1.1" 200 -'
    assert redact_query("GET /x?a=O'Brien\nnext line") == "GET /x?[query]"
    assert redact_query("no query here") == "no query here"


def test_no_patient_data_in_werkzeug_logs(make_app, everything_logged):
    app = make_app(TESTING=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sent = _attack(app, server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    logged = everything_logged.getvalue()
    assert sent > 500 and logged.count("?[query]") >= sent  # every request line, redacted
    assert MARK.lower() not in logged.lower()
    assert "O'Brien" not in logged and "1979-04-23" not in logged


def test_no_patient_data_in_gunicorn_logs(app, hz_server):
    # Debug level: gunicorn's own per-request and invalid-request lines too.
    server = hz_server(workers=1, threads=2, loglevel="debug")
    sent = _attack(app, int(server.url.rsplit(":", 1)[1]))
    server.stop()
    logged = server.log.read_text()
    assert sent > 500 and logged.count("GET /fhir/Patient") >= len(HOSTILE)  # the lines are there
    assert MARK.lower() not in logged.lower()
    assert "O'Brien" not in logged and "1979-04-23" not in logged
