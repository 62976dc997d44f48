"""Issue 19 item 3: a tampered backup no longer restores. The attack:
unpack, add an admin to the database, recompute the manifest's hashes,
repack. Refused unsigned, with the old signature, and signed with a made-up
key; a backup restores elsewhere only when the key that signed it is given."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import shutil
import sqlite3
import tarfile
from pathlib import Path

from intake.cli import cli
from tests.test_backup import _backup, members, sqlite_only, untouched


def _repack(good: Path, target: Path, signature: bytes | None, tmp_path: Path) -> Path:
    inside = members(good)
    database = tmp_path / "unpacked.db"
    database.write_bytes(inside["intake.db"])
    with sqlite3.connect(database) as conn:
        conn.execute("INSERT INTO users (username, password_hash, role, active, created_at, updated_at) "
                     "VALUES ('mallory', 'x', 'admin', 1, '2026-12-05 00:00:00', '2026-12-05 00:00:00')")
    conn.close()
    inside["intake.db"] = database.read_bytes()
    manifest = json.loads(inside["manifest.json"])
    for entry in manifest["files"]:
        entry["bytes"] = len(inside[entry["path"]])
        entry["sha256"] = hashlib.sha256(inside[entry["path"]]).hexdigest()
    inside["manifest.json"] = json.dumps(manifest, indent=1, sort_keys=True).encode()
    inside.pop("manifest.sig")
    if signature is not None:
        inside["manifest.sig"] = signature
    with tarfile.open(target, "w") as tar:
        for name, data in inside.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return target


@sqlite_only
def test_a_repacked_backup_with_an_added_admin_is_refused(app, runner, backup_office, tmp_path):
    good = tmp_path / "good.tar"
    _backup(runner, good)
    check = untouched(app)
    old_signature = members(good)["manifest.sig"]
    cases = {
        "unsigned.tar": (None, "is not signed"),
        "old-signature.tar": (old_signature, "badly signed"),
        "made-up-key.tar": (hmac.new(b"m" * 32, b"anything", "sha256").hexdigest().encode(),
                            "badly signed"),
    }
    for name, (signature, said) in cases.items():
        tampered = _repack(good, tmp_path / name, signature, tmp_path)
        for args in ([], ["--yes"]):
            result = runner.invoke(cli, ["restore", str(tampered), *args])
            assert result.exit_code == 1 and said in result.output, (name, result.output)
    check()
    assert runner.invoke(cli, ["restore", str(good)]).exit_code == 1  # only asks for --yes
    assert "is a good backup" in runner.invoke(cli, ["restore", str(good)]).output


@sqlite_only
def test_a_backup_restores_elsewhere_only_with_its_key(app, make_app, runner, backup_office, tmp_path):
    good = tmp_path / "good.tar"
    _backup(runner, good)
    offsite = tmp_path / "usb" / "backup.key"  # the copy kept off the machine
    offsite.parent.mkdir()
    shutil.copy(Path(app.instance_path) / "backup.key", offsite)
    (Path(app.instance_path) / "backup.key").unlink()
    without = make_app().test_cli_runner().invoke(cli, ["restore", str(good)])
    assert without.exit_code == 1 and "backup key is missing" in without.output
    given = make_app(INTAKE_BACKUP_KEY_FILE=str(offsite)).test_cli_runner()
    result = given.invoke(cli, ["restore", str(good)])
    assert "is a good backup" in result.output, result.output
