"""The audit trail: every read and write of a chart, with who, when and where.

Append-only and hash-chained. `record()` does not insert: it queues the row on
the session, and at commit (`before_commit`) the queued rows are numbered and
chained onto the last committed row under a lock, and inserted (one Core
INSERT, before the commit's own flush):

- SQLite: every transaction already holds the write lock from BEGIN
  IMMEDIATE (intake/database.py), so no two commits can read the same chain head.
- PostgreSQL: `pg_advisory_xact_lock(AUDIT_CHAIN_LOCK)` is taken at commit
  and held until that transaction ends; the next writer reads the head after
  it (READ COMMITTED takes a fresh snapshot per statement).

Chaining at commit rather than in `record()` keeps the lock for the length of
one commit, not a whole request, and makes row ids follow chain order. The
unique `seq` is the backstop: a second row at the same place fails to insert
instead of forking the chain. A rollback (including of a savepoint the row
was recorded in) drops the queued rows with everything else.

Anchors: whoever deletes the newest rows leaves a chain that still verifies.
`anchor()` appends the head (seq, row_hash) to a JSON-lines file kept outside
the database (INTAKE_AUDIT_ANCHOR_FILE; the worker does it every few
minutes), and `verify()` checks every anchor against the chain: a row that
was anchored must still be there with the same hash. A restore that winds
the chain back writes a "restore" anchor, which retires the anchors before it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, SessionTransaction

from intake.extensions import db
from intake.models import AuditEvent
from intake.models.audit import GENESIS_HASH
from intake.models.base import utcnow

# pg_advisory_xact_lock key: b"intakeau" as a big-endian signed 64-bit int.
AUDIT_CHAIN_LOCK = int.from_bytes(b"intakeau", "big", signed=True)
_PENDING = "audit_pending"
ANCHOR_FILE_NAME = "audit-anchors.jsonl"
ANCHOR_KINDS = ("head", "restore")
_HEX64 = re.compile(r"[0-9a-f]{64}")

log = logging.getLogger("intake.audit")

# The fields a row's hash covers, in the serialisation's (sorted) order.
HASHED_FIELDS = ("action", "actor", "at", "detail", "object_id", "object_type", "patient_id",
                 "prev_hash", "remote_addr", "seq", "user_id")


class Actor(NamedTuple):
    """Who acts: a staff member (with their user id), an API token, a kiosk
    device, the CLI or the worker; and from where."""

    user_id: int | None
    name: str
    remote_addr: str | None


def act_as(name: str, user_id: int | None = None) -> None:
    """Decided once, at the edge, for the rest of the request or command:
    the staff sign-in (security), the API token (its decorator), the kiosk
    device (its blueprint), the CLI command, the worker's task."""
    g.audit_actor = Actor(user_id, name[:80], request.remote_addr if has_request_context() else None)


def current_actor() -> Actor:
    found = g.get("audit_actor") if has_app_context() else None
    if found is not None:
        return found
    if has_request_context():
        return Actor(None, "anonymous", request.remote_addr)
    return Actor(None, "system", None)


def current_user_id() -> int | None:
    """The signed-in staff member, for who-did-it columns."""
    return current_actor().user_id


def record(
    action: str,
    *,
    patient_id: int | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
    detail: str | None = None,
    user_id: int | None = None,
    actor: str | None = None,
) -> None:
    """Queue an audit row on the current transaction; it is chained and
    inserted when the transaction commits, and dropped if it rolls back.
    `detail` must not carry PHI: field names and counts, never values."""
    uid, name, addr = current_actor()
    row = {
        "at": utcnow(),
        "user_id": user_id if user_id is not None else uid,
        "actor": (actor or name)[:80],
        "action": action,
        "patient_id": patient_id,
        "object_type": object_type,
        "object_id": object_id,
        "remote_addr": addr,
        "detail": detail[:500] if detail else None,
    }
    session = db.session()
    if not session.in_transaction():
        session.begin()
    scope = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((row, scope))


# ---- the chain ---------------------------------------------------------------

def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite hands back naive UTC outside the ORM type
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(row: Mapping[str, Any] | AuditEvent) -> bytes:
    """The bytes a row's hash covers: its fields and prev_hash as compact JSON
    with sorted keys (UTF-8, timestamps as UTC with microseconds)."""
    get = row.get if isinstance(row, Mapping) else lambda name: getattr(row, name)
    fields = {name: get(name) for name in HASHED_FIELDS}
    fields["at"] = _timestamp(fields["at"])
    return json.dumps(fields, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def row_hash(row: Mapping[str, Any] | AuditEvent) -> str:
    return hashlib.sha256(canonical(row)).hexdigest()


_HEAD = select(AuditEvent.seq, AuditEvent.row_hash).order_by(AuditEvent.seq.desc()).limit(1)


def _chain_pending(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint is released: wait for the real commit
        return
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    # Core statements on the transaction's connection: the rows are plain
    # inserts, and the ORM's unit of work cost more than the rest of a commit.
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHAIN_LOCK})
    head = connection.execute(_HEAD).first()
    seq, prev = tuple(head) if head else (0, GENESIS_HASH)
    rows = []
    for row, _scope in pending:
        seq += 1
        row = {**row, "seq": seq, "prev_hash": prev}
        row["row_hash"] = prev = row_hash(row)
        rows.append(row)
    connection.execute(AuditEvent.__table__.insert(), rows)  # in chain order


def _within(scope: SessionTransaction | None, transaction: SessionTransaction) -> bool:
    while scope is not None:
        if scope is transaction:
            return True
        scope = scope.parent
    return False


def _drop_rolled_back(session: Session, transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [(row, scope) for row, scope in pending
                                  if not _within(scope, transaction)]


def _drop_at_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # closed or rolled back without commit
        session.info.pop(_PENDING, None)


event.listen(Session, "before_commit", _chain_pending)
event.listen(Session, "after_soft_rollback", _drop_rolled_back)
event.listen(Session, "after_transaction_end", _drop_at_end)


# ---- anchors: the head, written down outside the database -------------------

class AnchorFileError(Exception):
    """The anchor file cannot be read or holds a line that is not an anchor."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    row_hash: str
    anchored_at: str
    kind: str = "head"  # "restore": the chain was deliberately wound back to here
    line: int = 0  # where it is in the file (not written)

    def as_line(self) -> str:
        return json.dumps({"seq": self.seq, "row_hash": self.row_hash,
                           "anchored_at": self.anchored_at, "kind": self.kind},
                          sort_keys=True, separators=(",", ":")) + "\n"


def anchor_path() -> Path:
    """INTAKE_AUDIT_ANCHOR_FILE, or audit-anchors.jsonl in the instance folder."""
    configured = current_app.config.get("INTAKE_AUDIT_ANCHOR_FILE")
    return Path(configured) if configured else Path(current_app.instance_path) / ANCHOR_FILE_NAME


def chain_head() -> tuple[int, str] | None:
    """The newest committed row's (seq, row_hash), or None for an empty log."""
    row = db.session.execute(_HEAD).first()
    return (row.seq, row.row_hash) if row else None


def anchor(path: Path | None = None, *, kind: str = "head") -> Anchor | None:
    """Append the chain's head to the anchor file (one JSON line, fsynced) and
    log it; None when the log is empty. Writes no audit row: anchoring an
    unchanged chain must not move its head."""
    if kind not in ANCHOR_KINDS:
        raise ValueError(kind)
    head = chain_head()
    if head is None:
        return None
    path = Path(path) if path else anchor_path()
    made = Anchor(head[0], head[1], _timestamp(datetime.now(timezone.utc)), kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, made.as_line().encode())  # one short O_APPEND write: lines never interleave
        os.fsync(fd)
    finally:
        os.close(fd)
    log.info("audit chain anchored",
             extra={"seq": made.seq, "row_hash": made.row_hash, "kind": kind})
    return made


def read_anchors(path: Path) -> list[Anchor]:
    """Every anchor in the file, in file order (AnchorFileError on a bad line)."""
    try:
        text_lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AnchorFileError(f"{path} cannot be read ({type(exc).__name__})") from None
    anchors = []
    for number, line in enumerate(text_lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            made = Anchor(data["seq"], data["row_hash"], data["anchored_at"],
                          data.get("kind", "head"), number)
        except (ValueError, KeyError, TypeError):
            made = None
        if (made is None or not isinstance(made.seq, int) or isinstance(made.seq, bool)
                or made.seq < 1 or not isinstance(made.row_hash, str)
                or not _HEX64.fullmatch(made.row_hash) or not isinstance(made.anchored_at, str)
                or made.kind not in ANCHOR_KINDS):
            raise AnchorFileError(f"{path} line {number} is not an anchor")
        anchors.append(made)
    return anchors


def _in_force(anchors: list[Anchor]) -> tuple[dict[int, Anchor], str | None]:
    """The anchors that still bind the chain, by seq: a restore anchor retires
    every anchor before it (they described the chain the restore replaced;
    its own hash pins every row up to it). Also the first contradiction
    inside the file."""
    expected: dict[int, Anchor] = {}
    for a in anchors:
        if a.kind == "restore":
            expected.clear()
        prior = expected.get(a.seq)
        if prior is not None and prior.row_hash != a.row_hash:
            return expected, (f"the anchor file gives seq {a.seq} two different hashes "
                              f"(lines {prior.line} and {a.line}): one of them was altered")
        expected[a.seq] = a
    return expected, None


@dataclass
class ChainReport:
    ok: bool
    rows: int
    head_seq: int | None = None
    head_hash: str | None = None
    broken_id: int | None = None
    broken_seq: int | None = None
    reason: str | None = None
    anchor_file: str | None = None
    anchors: int = 0  # lines read from the anchor file
    anchored_seq: int | None = None  # the newest anchor checked
    anchored_at: str | None = None
    restores: int = 0  # restore anchors (the chain was wound back on purpose)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify(batch: int = 2000, anchor_file: Path | None = None) -> ChainReport:
    """Walk the chain in `seq` order and report the first row that does not
    hold: its contents edited (row_hash), a row before it deleted, edited with
    a recomputed hash, or inserted (prev_hash, seq gap). Reads in batches.

    With `anchor_file`, every anchored row must still be there with the hash
    it was anchored with: a different hash means the chain was rewritten (or
    the file altered), an anchor past the end that the newest rows were
    deleted."""
    table = AuditEvent.__table__
    report = ChainReport(True, 0)
    expected: dict[int, Anchor] = {}
    if anchor_file is not None:
        report.anchor_file = str(anchor_file)
        try:
            anchors = read_anchors(anchor_file)
        except AnchorFileError as exc:
            report.ok, report.reason = False, str(exc)
            return report
        report.anchors = len(anchors)
        report.restores = sum(a.kind == "restore" for a in anchors)
        expected, conflict = _in_force(anchors)
        if expected:
            newest = expected[max(expected)]
            report.anchored_seq, report.anchored_at = newest.seq, newest.anchored_at
        if conflict:
            report.ok, report.reason = False, conflict
            return report

    def broken(row: Mapping[str, Any] | None, seq: int | None, reason: str) -> ChainReport:
        report.ok, report.reason, report.broken_seq = False, reason, seq
        report.broken_id = row["id"] if row is not None else None
        return report

    prev, expected_seq = GENESIS_HASH, 1
    after = 0
    while True:
        chunk = db.session.execute(select(*table.c).where(table.c.seq > after)
                                   .order_by(table.c.seq).limit(batch)).mappings().all()
        if not chunk:
            break
        for row in chunk:
            report.rows += 1
            if row["seq"] != expected_seq:
                missing = f"seq {expected_seq}" if row["seq"] == expected_seq + 1 else \
                    f"seq {expected_seq} to {row['seq'] - 1}"
                return broken(row, row["seq"],
                              f"the row(s) before it are missing ({missing}): deleted")
            if row["prev_hash"] != prev:
                return broken(row, row["seq"], "prev_hash does not match the previous row: "
                                               "a row before it was edited or replaced")
            if row["row_hash"] != row_hash(row):
                return broken(row, row["seq"],
                              "row_hash does not match its contents: this row was edited")
            pinned = expected.get(row["seq"])
            if pinned is not None and pinned.row_hash != row["row_hash"]:
                return broken(row, row["seq"], (
                    f"seq {row['seq']} was anchored at {pinned.anchored_at} with hash "
                    f"{pinned.row_hash[:16]}… but now has {row['row_hash'][:16]}…: the log was "
                    f"rewritten from here on, or line {pinned.line} of the anchor file was altered"))
            prev, expected_seq = row["row_hash"], row["seq"] + 1
            report.head_seq, report.head_hash = row["seq"], row["row_hash"]
        after = chunk[-1]["seq"]
    end = report.head_seq or 0
    if expected and max(expected) > end:
        newest = expected[max(expected)]
        return broken(None, end + 1, (
            f"rows up to seq {newest.seq} were anchored at {newest.anchored_at} but the chain now "
            f"ends at seq {end}: the newest {newest.seq - end} row(s) were deleted (or line "
            f"{newest.line} of the anchor file was altered)"))
    return report


def recent(page: int = 1, per_page: int = 50, action: str | None = None,
           mrn: str | None = None):
    """A page of the log, newest first; filter by action prefix or by MRN."""
    from intake.models import Patient

    query = db.select(AuditEvent).order_by(AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    if mrn:
        query = query.join(Patient, Patient.id == AuditEvent.patient_id).where(Patient.mrn == mrn)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
