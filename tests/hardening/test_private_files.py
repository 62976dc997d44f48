"""Issue 19 item 4: patient files are owner-only whatever the umask: the
database and its WAL, uploads, export files, backups, keys and anchors
(0600 files, 0700 folders); a start-up check tightens and warns about
anything other local users could read."""

from __future__ import annotations

import io
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from intake.cli import cli
from intake.extensions import db
from tests.conftest import PG_URL


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _exposed(root: Path) -> list[str]:
    out = []
    for folder, _dirs, files in os.walk(root):
        for path in [Path(folder)] + [Path(folder) / f for f in files]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            if mode & 0o077 and not path.is_symlink():
                out.append(f"{path.relative_to(root)} {oct(mode)}")
    return out


def test_everything_under_instance_is_owner_only(loose_umask, make_app, tmp_path, caplog,
                                                create_patient, create_coverage):
    (tmp_path / "uploads").mkdir(mode=0o755)
    (tmp_path / "uploads" / "old.jpg").write_bytes(b"x")
    os.chmod(tmp_path / "uploads" / "old.jpg", 0o644)
    os.chmod(tmp_path, 0o755)
    with caplog.at_level(logging.WARNING, logger="intake.private"):
        app = make_app()
    said = " ".join(r.getMessage() for r in caplog.records if r.name == "intake.private")
    assert "old.jpg was readable by other local users (0o644); now owner-only" in said
    assert _exposed(tmp_path) == []

    # Work that creates files: chart + card picture, a bulk export, a backup, anchors.
    from intake.services import tokens
    from tests.conftest import login

    pid = create_patient()
    cid = create_coverage(pid)
    client = app.test_client()
    with app.app_context():
        from intake.services import users
        users.create_user("umaskdesk", "vivid-harbor-lantern-93", "receptionist")
        db.session.commit()
    login(client, "umaskdesk", "vivid-harbor-lantern-93")
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (20, 90, 160)).save(buf, "JPEG")
    posted = client.post(f"/staff/patients/{pid}/coverages/{cid}/cards",
                         data={"side": "front", "image": (io.BytesIO(buf.getvalue()), "c.jpg")},
                         content_type="multipart/form-data")
    assert posted.status_code == 302
    with app.app_context():
        _, plain = tokens.create_token("Back office")
        db.session.commit()
    kickoff = client.get("/fhir/$export", headers={"Authorization": f"Bearer {plain}",
                                                   "Prefer": "respond-async"})
    assert kickoff.status_code == 202
    runner = app.test_cli_runner()
    assert runner.invoke(cli, ["audit", "anchor"]).exit_code == 0
    if not PG_URL:
        assert runner.invoke(cli, ["backup"]).exit_code == 0
    names = {p.name for p in tmp_path.rglob("*")}
    assert {"audit.key", "audit-anchors.jsonl", "uploads"} <= names
    assert PG_URL or {"intake.db", "backup.key"} <= names
    assert _exposed(tmp_path) == []


def test_the_start_up_check_names_what_it_cannot_fix(tmp_path, monkeypatch, caplog):
    from intake import private

    loose = tmp_path / "instance" / "intake.db"
    loose.parent.mkdir()
    loose.write_bytes(b"x")
    os.chmod(loose, 0o644)

    def refuse(path, mode):
        raise PermissionError(path)

    monkeypatch.setattr(os, "chmod", refuse)
    with caplog.at_level(logging.WARNING, logger="intake.private"):
        problems = private.warn_if_exposed(loose.parent)
    assert any("intake.db is readable by other local users (0o644) and is not ours to change"
               in p for p in problems)
    assert "chmod 600" in caplog.text
