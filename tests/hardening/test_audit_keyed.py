"""Issue 19 item 2: with write access to the database and the anchor file
(but not the audit key), the audit chain can no longer be rewritten so that
it verifies, a forged "restore" anchor is refused, and the unanchored tail
is kept short (worker anchors every minute and when it stops) and reported."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from pathlib import Path

from sqlalchemy import text

from intake.cli import cli
from intake.extensions import db
from intake.models import AuditEvent
from intake.services import audit
from tests.test_audit_chain import _record_rows


def _verify(runner) -> tuple[int, dict]:
    result = runner.invoke(cli, ["audit", "verify", "--json"])
    return result.exit_code, json.loads(result.output)


def _rewrite_chain(app, hasher) -> None:
    """The attack: edit row 3, then recompute every row's hash from there on."""
    with app.app_context():
        rows = db.session.execute(db.select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        rows[2].actor = "someone-else"
        prev = rows[1].row_hash
        for row in rows[2:]:
            row.prev_hash = prev
            row.row_hash = prev = hasher(audit.canonical(row))
        db.session.commit()


def test_a_rewritten_chain_with_a_forged_restore_anchor_does_not_verify(
        app, runner, without_triggers):
    _record_rows(app)
    assert runner.invoke(cli, ["audit", "anchor"]).exit_code == 0
    anchors = Path(app.instance_path) / "audit-anchors.jsonl"
    # Plain SHA-256 (what the chain was), and an HMAC under a key the attacker made up.
    for hasher in (lambda data: hashlib.sha256(data).hexdigest(),
                   lambda data: hmac.new(b"k" * 32, b"audit-row\0" + data,
                                         hashlib.sha256).hexdigest()):
        _rewrite_chain(app, hasher)
        with app.app_context():
            head = audit.chain_head()
        forged = {"seq": head[0], "row_hash": head[1], "anchored_at": "2026-12-05T00:00:00Z",
                  "kind": "restore"}
        for line in (forged, {**forged, "sig": hmac.new(b"k" * 32, b"x", "sha256").hexdigest()}):
            anchors.write_text(anchors.read_text().splitlines()[0] + "\n" + json.dumps(line) + "\n")
            code, out = _verify(runner)
            assert code == 1 and not out["ok"], out
            assert "signed" in out["reason"]
        anchors.write_text(anchors.read_text().splitlines()[0] + "\n")
        code, out = _verify(runner)  # without the forged line: the rewritten row is named
        assert code == 1 and out["broken_seq"] == 3 and "edited" in out["reason"]


def test_the_key_lives_outside_the_database_owner_only(app, runner):
    _record_rows(app, commits=1)
    key_file = Path(app.instance_path) / "audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    with app.app_context():
        dumped = " ".join(str(v) for row in db.session.execute(
            text("SELECT * FROM audit_events")).all() for v in row)
    assert key not in dumped and len(key) == 64


def test_the_key_can_be_given_by_path_or_environment(make_app, tmp_path):
    elsewhere = tmp_path / "offsite" / "audit.key"
    elsewhere.parent.mkdir()
    elsewhere.write_text("ab" * 32)
    app = make_app(INTAKE_AUDIT_KEY_FILE=str(elsewhere))
    _record_rows(app, commits=1)
    assert not (Path(app.instance_path) / "audit.key").exists()
    with app.app_context():
        row = db.session.execute(db.select(AuditEvent).filter_by(seq=1)).scalar_one()
        assert row.row_hash == hmac.new(bytes.fromhex("ab" * 32), b"audit-row\0"
                                        + audit.canonical(row), "sha256").hexdigest()
    missing = make_app(INTAKE_AUDIT_KEY_FILE=str(tmp_path / "nowhere.key"))
    with missing.app_context():
        report = audit.verify()
        assert not report.ok and "audit key is missing" in report.reason


def test_the_unanchored_tail_is_reported(app, runner):
    _record_rows(app)
    runner.invoke(cli, ["audit", "anchor"])
    _record_rows(app, commits=2)
    code, out = _verify(runner)
    assert code == 0 and out["unanchored_rows"] == 4
    plain = runner.invoke(cli, ["audit", "verify"])
    assert "4 row(s) after the newest anchor are not anchored yet" in plain.output


def test_the_worker_anchors_every_minute_and_when_it_stops(app, runner, monkeypatch):
    from datetime import datetime

    from huey.consumer import Consumer

    from intake import tasks

    assert app.config["INTAKE_AUDIT_ANCHOR_MINUTES"] == 1
    assert all(tasks.anchor_due(datetime(2026, 3, 1, 9, m)) for m in range(60))
    _record_rows(app)
    monkeypatch.setattr(Consumer, "run", lambda self: None)  # a worker that stops at once
    assert runner.invoke(cli, ["worker"]).exit_code == 0
    anchors = Path(app.instance_path) / "audit-anchors.jsonl"
    line = json.loads(anchors.read_text())
    assert line["seq"] == 8 and line["sig"]
    assert stat.S_IMODE(anchors.stat().st_mode) == 0o600
