"""The audit log is append-only and hash-chained: the database refuses
UPDATE and DELETE, rows from concurrent writers form one chain, and
`intake audit verify` names the first edited row or the row after a deleted
one."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from intake.cli import cli
from intake.extensions import db
from intake.models import AuditEvent
from intake.services import audit

def _record_rows(app: Flask, commits: int = 4, per_commit: int = 2) -> None:
    with app.app_context():
        for c in range(commits):
            for r in range(per_commit):
                audit.record("test.event", object_type="thing", object_id=c * 10 + r,
                             detail=f"n={r} ünïcode", actor="tester")
            db.session.commit()


def _sql(app: Flask, statement: str) -> None:
    with app.app_context():
        db.session.execute(text(statement))
        db.session.commit()


def _verify(runner) -> tuple[int, dict]:
    result = runner.invoke(cli, ["audit", "verify", "--json"])
    return result.exit_code, json.loads(result.output)


def _seq_id(app: Flask, seq: int) -> int:
    with app.app_context():
        return db.session.execute(db.select(AuditEvent.id).filter_by(seq=seq)).scalar_one()


def test_rows_are_chained_in_commit_order(app, runner):
    _record_rows(app)
    with app.app_context():
        rows = db.session.execute(db.select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        assert [r.seq for r in rows] == list(range(1, 9))
        assert [r.id for r in rows] == sorted(r.id for r in rows)
        assert rows[0].prev_hash == "0" * 64
        for before, row in zip(rows, rows[1:], strict=False):
            assert row.prev_hash == before.row_hash
            assert row.row_hash == audit.row_hash(row)
        report = audit.verify()
        assert report.ok and report.rows == 8 and report.head_hash == rows[-1].row_hash
    code, out = _verify(runner)
    assert code == 0 and out["ok"] and out["rows"] == 8
    plain = runner.invoke(cli, ["audit", "verify"])
    assert plain.exit_code == 0 and "intact: 8 rows" in plain.output


def test_an_empty_log_verifies(runner):
    code, out = _verify(runner)
    assert code == 0 and out == {**out, "ok": True, "rows": 0}


def test_a_request_records_its_rows_at_commit(app, client, create_user):
    from tests.conftest import login

    _, username = create_user("receptionist")
    assert login(client, username).status_code == 302
    assert login(client, username, "wrong-password").status_code == 200  # 200: its audit row commits
    with app.app_context():
        actions = db.session.execute(db.select(AuditEvent.action).order_by(AuditEvent.seq)).scalars().all()
        assert "auth.login" in actions and "auth.login_failed" in actions
        assert audit.verify().ok


def test_rolled_back_rows_are_not_written(app):
    with app.app_context():
        audit.record("test.kept")
        db.session.commit()
        audit.record("test.rolled_back")
        db.session.rollback()
        audit.record("test.outer")
        with pytest.raises(RuntimeError):
            with db.session.begin_nested():
                audit.record("test.inside_failed_savepoint")
                raise RuntimeError("undo the savepoint")
        with db.session.begin_nested():
            audit.record("test.inside_released_savepoint")
        db.session.commit()
        audit.record("test.closed")
        db.session.close()
        db.session.commit()
        actions = db.session.execute(db.select(AuditEvent.action).order_by(AuditEvent.seq)).scalars().all()
        assert actions == ["test.kept", "test.outer", "test.inside_released_savepoint"]
        assert audit.verify().ok


def test_update_and_delete_are_refused_by_the_database(app):
    _record_rows(app, commits=1)
    for statement in ("UPDATE audit_events SET detail = 'edited' WHERE seq = 1",
                      "DELETE FROM audit_events WHERE seq = 2"):
        with app.app_context():
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
    with app.app_context():
        event = db.session.execute(db.select(AuditEvent).filter_by(seq=1)).scalar_one()
        event.detail = "edited through the ORM"
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 2
        assert audit.verify().ok


def test_verify_names_an_edited_row(app, runner, without_triggers):
    _record_rows(app)
    _sql(app, "UPDATE audit_events SET detail = 'n=0 edited' WHERE seq = 3")
    code, out = _verify(runner)
    assert code == 1 and not out["ok"]
    assert out["broken_seq"] == 3 and out["broken_id"] == _seq_id(app, 3)
    assert "edited" in out["reason"]
    plain = runner.invoke(cli, ["audit", "verify"])
    assert plain.exit_code == 1 and f"row id {_seq_id(app, 3)} (seq 3)" in plain.output


def test_verify_sees_an_edit_with_a_recomputed_hash(app, runner, without_triggers):
    _record_rows(app)
    with app.app_context():
        row = db.session.execute(db.select(AuditEvent).filter_by(seq=3)).scalar_one()
        row.actor = "someone-else"
        row.row_hash = audit.row_hash(row)  # the forger rehashes the row itself...
        db.session.commit()
    code, out = _verify(runner)
    assert code == 1 and out["broken_seq"] == 4  # ...but the next row still points at the old hash
    assert "prev_hash" in out["reason"]


@pytest.mark.parametrize("seq, broken", [(5, 6), (1, 2), (4, 6)])
def test_verify_names_the_row_after_a_deleted_one(app, runner, without_triggers, seq, broken):
    _record_rows(app)
    gone = f"seq IN ({seq}, 5)" if seq == 4 else f"seq = {seq}"
    _sql(app, f"DELETE FROM audit_events WHERE {gone}")
    code, out = _verify(runner)
    assert code == 1 and out["broken_seq"] == broken and out["broken_id"] == _seq_id(app, broken)
    assert "deleted" in out["reason"]


def test_verify_sees_a_changed_timestamp(app, runner, without_triggers):
    _record_rows(app, commits=2)
    with app.app_context():
        row = db.session.execute(db.select(AuditEvent).filter_by(seq=2)).scalar_one()
        from datetime import timedelta

        row.at = row.at - timedelta(microseconds=1)
        db.session.commit()
    code, out = _verify(runner)
    assert code == 1 and out["broken_seq"] == 2


def test_concurrent_writers_form_one_chain(app, runner):
    threads, commits, per_commit = 4, 25, 2
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer(n: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for c in range(commits):
                    for r in range(per_commit):
                        audit.record("test.concurrent", object_type="writer", object_id=n,
                                     detail=f"commit={c} row={r}", actor=f"writer{n}")
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not errors, errors
    total = threads * commits * per_commit
    with app.app_context():
        seqs = db.session.execute(db.select(AuditEvent.seq).order_by(AuditEvent.id)).scalars().all()
        assert seqs == list(range(1, total + 1))  # ids follow the chain: written under the lock
        # Each commit's rows sit together in the chain: one commit, one run of seq.
        pairs = db.session.execute(db.select(AuditEvent.object_id, AuditEvent.detail)
                                   .order_by(AuditEvent.seq)).all()
        for first, second in zip(pairs[::2], pairs[1::2], strict=False):
            assert first[0] == second[0] and first[1].split()[0] == second[1].split()[0]
    code, out = _verify(runner)
    assert code == 0 and out["rows"] == total


def test_the_migration_chains_rows_already_there(tmp_path, monkeypatch):
    """Rows written before 0006 get seq and hashes that verify."""
    from flask_migrate import upgrade

    from intake import create_app

    monkeypatch.setenv("INTAKE_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}"})
    with app.app_context():
        upgrade(revision="0005_registration_key")
        for n, when in enumerate(["2026-01-02 03:04:05.000000", "2026-01-02 03:04:05.123456",
                                  "2026-02-01 00:00:00.999999"]):
            db.session.execute(text(
                "INSERT INTO audit_events (at, actor, action, object_id, detail) "
                "VALUES (:at, 'admin', 'old.event', :n, :detail)"),
                {"at": when, "n": n, "detail": "älter" if n else None})
        db.session.commit()
        upgrade()
        report = audit.verify()
        assert report.ok and report.rows == 3
        audit.record("new.event")
        db.session.commit()
        assert audit.verify().ok and audit.verify().rows == 4
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("DELETE FROM audit_events"))
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def test_bulk_export_downloads_are_audited(app, client, create_patient):
    from intake.services import tokens

    create_patient()
    with app.app_context():
        _, plain = tokens.create_token("Back office")
        db.session.commit()
    headers = {"Authorization": f"Bearer {plain}"}
    kickoff = client.get("/fhir/$export?_type=Patient",
                         headers={**headers, "Prefer": "respond-async"})
    assert kickoff.status_code == 202
    status_url = kickoff.headers["Content-Location"].split("localhost", 1)[1]
    manifest = client.get(status_url, headers=headers).json
    file_url = manifest["output"][0]["url"].split("localhost", 1)[1]
    download = client.get(file_url, headers=headers)
    assert download.status_code == 200 and download.get_data()
    download.close()
    with app.app_context():
        actions = db.session.execute(db.select(AuditEvent.action).order_by(AuditEvent.seq)).scalars().all()
        assert {"fhir.export_start", "fhir.export_complete", "fhir.export_download"} <= set(actions)
        download = db.session.execute(db.select(AuditEvent)
                                      .filter_by(action="fhir.export_download")).scalar_one()
        assert download.actor.startswith("token:") and "type=Patient" in download.detail
        assert audit.verify().ok


# ---- anchors: the head kept outside the database -------------------------------

def _anchor_file(app: Flask) -> Path:
    return Path(app.instance_path) / "audit-anchors.jsonl"


def _anchor(runner, *args: str) -> dict:
    result = runner.invoke(cli, ["audit", "anchor", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_anchor_appends_the_head_and_logs_it(app, runner, caplog):
    assert runner.invoke(cli, ["audit", "anchor"]).output.startswith("The audit log is empty")
    assert not _anchor_file(app).exists()
    _record_rows(app)
    with caplog.at_level("INFO", logger="intake.audit"):
        first = _anchor(runner)
    _record_rows(app, commits=1)
    second = _anchor(runner)
    with app.app_context():
        head = audit.chain_head()
    lines = [json.loads(line) for line in _anchor_file(app).read_text().splitlines()]
    assert [(a["seq"], a["kind"]) for a in lines] == [(8, "head"), (10, "head")]
    assert lines[1]["row_hash"] == head[1] == second["row_hash"]
    assert first["anchored_at"].endswith("Z") and first["file"] == str(_anchor_file(app))
    logged = [r for r in caplog.records if r.name == "intake.audit"]
    assert len(logged) == 1 and logged[0].seq == 8 and logged[0].row_hash == first["row_hash"]
    assert "tester" not in logged[0].getMessage()  # ids and hashes only
    code, out = _verify(runner)
    assert code == 0 and out["anchors"] == 2 and out["anchored_seq"] == 10
    plain = runner.invoke(cli, ["audit", "verify"])
    assert plain.exit_code == 0 and "Anchors: 2" in plain.output and "seq 10" in plain.output


def test_anchor_file_is_configurable(make_app, tmp_path):
    elsewhere = tmp_path / "offsite" / "anchors.jsonl"
    app = make_app(INTAKE_AUDIT_ANCHOR_FILE=str(elsewhere))
    runner = app.test_cli_runner()
    _record_rows(app, commits=1)
    assert _anchor(runner)["file"] == str(elsewhere) and elsewhere.exists()
    assert not _anchor_file(app).exists()
    code, out = _verify(runner)
    assert code == 0 and out["anchor_file"] == str(elsewhere)


def test_without_anchors_verify_says_truncation_would_go_unnoticed(app, runner):
    _record_rows(app, commits=1)
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0 and "No anchor file" in result.output
    missing = runner.invoke(cli, ["audit", "verify", "--anchors", str(_anchor_file(app))])
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_a_truncated_tail_is_caught_by_an_anchor(app, runner, without_triggers):
    _record_rows(app)
    anchored = _anchor(runner)
    _sql(app, "DELETE FROM audit_events WHERE seq > 5")
    with app.app_context():
        assert audit.verify().ok  # what is left is a valid chain: only the anchor knows
    code, out = _verify(runner)
    assert code == 1 and not out["ok"] and out["head_seq"] == 5 and out["broken_seq"] == 6
    assert (f"rows up to seq 8 were anchored at {anchored['anchored_at']} but the chain now "
            f"ends at seq 5") in out["reason"]
    plain = runner.invoke(cli, ["audit", "verify"])
    assert plain.exit_code == 1 and "Audit chain BROKEN: rows up to seq 8" in plain.output
    # Deleting every row is the same story.
    _sql(app, "DELETE FROM audit_events")
    code, out = _verify(runner)
    assert code == 1 and "the chain now ends at seq 0" in out["reason"]


def test_a_truncated_and_rewritten_tail_is_caught(app, runner, without_triggers):
    """The attacker deletes the newest rows and writes new ones that chain
    properly: the anchored seq now has another hash."""
    _record_rows(app)
    _anchor(runner)
    _sql(app, "DELETE FROM audit_events WHERE seq > 6")
    _record_rows(app, commits=2)  # seq 7..10, correctly chained
    with app.app_context():
        assert audit.verify().ok
    code, out = _verify(runner)
    assert code == 1 and out["broken_seq"] == 8 and out["broken_id"] == _seq_id(app, 8)
    assert "seq 8 was anchored at" in out["reason"] and "rewritten" in out["reason"]


def _signed(app: Flask, **fields) -> str:
    """An anchor line signed with this instance's audit key (what only the
    key's holder can write)."""
    with app.app_context():
        return audit.Anchor(fields["seq"], fields["row_hash"], fields["anchored_at"],
                            fields.get("kind", "head")).as_line()


def test_a_forged_anchor_is_reported(app, runner):
    _record_rows(app)
    _anchor(runner)
    good = _anchor_file(app).read_text()
    forged = json.loads(good)
    forged["row_hash"] = "f" * 64
    _anchor_file(app).write_text(good + _signed(app, **forged))
    code, out = _verify(runner)
    assert code == 1 and "two different hashes" in out["reason"] and "lines 1 and 2" in out["reason"]

    _anchor_file(app).write_text(_signed(app, **{**forged, "seq": 5}))
    code, out = _verify(runner)
    assert code == 1 and out["broken_seq"] == 5 and "line 1 of the anchor file" in out["reason"]

    for junk in ("not json", json.dumps({**forged, "row_hash": "xyz"}),
                 json.dumps({**forged, "seq": "5"}), json.dumps({**forged, "kind": "other"})):
        _anchor_file(app).write_text(good + junk + "\n")
        code, out = _verify(runner)
        assert code == 1 and "line 2 is not an anchor" in out["reason"], junk


def test_unsigned_and_badly_signed_anchors_are_refused(app, runner):
    """Issue 19 item 2: the anchor file is writable by the attacker, the key is not."""
    _record_rows(app)
    _anchor(runner)
    good = _anchor_file(app).read_text()
    line = json.loads(good)
    unsigned = {k: v for k, v in line.items() if k != "sig"}
    for bad, said in ((json.dumps(unsigned), "not signed"),
                      (json.dumps({**line, "seq": 7}), "badly signed"),
                      (json.dumps({**line, "sig": "0" * 64}), "badly signed"),
                      (json.dumps({**line, "kind": "restore"}), "badly signed")):
        _anchor_file(app).write_text(good + bad + "\n")
        code, out = _verify(runner)
        assert code == 1 and said in out["reason"] and "line 2" in out["reason"], bad


def test_a_restore_anchor_retires_the_anchors_past_it(app, runner, without_triggers):
    """A restore winds the chain back on purpose: recorded in the anchor file
    (visible in verify), the anchors of the replaced chain no longer apply."""
    _record_rows(app)
    _anchor(runner)
    _sql(app, "DELETE FROM audit_events WHERE seq > 4")  # as restoring an older backup would
    assert _verify(runner)[0] == 1
    with app.app_context():
        audit.record("system.restore")
        db.session.commit()
    assert _anchor(runner, "--restored")["kind"] == "restore"
    _record_rows(app, commits=3)  # seq 6..11: 6, 7, 8 now differ from the retired anchor's chain
    _anchor(runner)
    code, out = _verify(runner)
    assert code == 0 and out["restores"] == 1 and out["anchored_seq"] == 11, out
    assert "1 restore(s) recorded" in runner.invoke(cli, ["audit", "verify"]).output
    # Restoring a backup whose history differs below the new head (a second
    # restore, to a branch the anchors above never saw) retires those too.
    with app.app_context():
        before_restore = audit.chain_head()
    _anchor_file(app).write_text(
        _signed(app, seq=3, row_hash="e" * 64, anchored_at="x")
        + _signed(app, seq=before_restore[0], row_hash=before_restore[1], anchored_at="y",
                  kind="restore"))
    assert _verify(runner)[0] == 0


def test_the_worker_anchors_periodically(app):
    from datetime import datetime

    from intake import tasks

    _record_rows(app, commits=1)
    tasks.anchor_audit_chain()  # huey runs it at once in tests
    lines = _anchor_file(app).read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["seq"] == 2
    assert tasks.anchor_due(datetime(2026, 3, 1, 10, 21))  # every minute by default
    app.config["INTAKE_AUDIT_ANCHOR_MINUTES"] = 10
    assert tasks.anchor_due(datetime(2026, 3, 1, 10, 20))
    assert not tasks.anchor_due(datetime(2026, 3, 1, 10, 25))
    app.config["INTAKE_AUDIT_ANCHOR_MINUTES"] = 90
    assert tasks.anchor_due(datetime(2026, 3, 1, 3, 0)) and not tasks.anchor_due(datetime(2026, 3, 1, 1, 0))
    app.config["INTAKE_AUDIT_ANCHOR_MINUTES"] = 0
    assert not tasks.anchor_due(datetime(2026, 3, 1, 0, 0))
