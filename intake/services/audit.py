"""The audit trail: every read and write of a chart, with who, when and where.

Append-only and hash-chained. `record()` does not insert: it queues the row on
the session, and at commit (`before_commit`) the queued rows are numbered and
chained onto the last committed row under a lock, and inserted (one Core
INSERT, before the commit's own flush):

- SQLite: every transaction already holds the write lock from BEGIN
  IMMEDIATE (intake/db.py), so no two commits can read the same chain head.
- PostgreSQL: `pg_advisory_xact_lock(AUDIT_CHAIN_LOCK)` is taken at commit
  and held until that transaction ends; the next writer reads the head after
  it (READ COMMITTED takes a fresh snapshot per statement).

Chaining at commit rather than in `record()` keeps the lock for the length of
one commit, not a whole request, and makes row ids follow chain order. The
unique `seq` is the backstop: a second row at the same place fails to insert
instead of forking the chain. A rollback (including of a savepoint the row
was recorded in) drops the queued rows with everything else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from flask import g, has_app_context, has_request_context, request
from flask_login import current_user
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, SessionTransaction

from intake.extensions import db
from intake.models import AuditEvent
from intake.models.audit import GENESIS_HASH
from intake.models.base import utcnow

# pg_advisory_xact_lock key: b"intakeau" as a big-endian signed 64-bit int.
AUDIT_CHAIN_LOCK = int.from_bytes(b"intakeau", "big", signed=True)
_PENDING = "audit_pending"

# The fields a row's hash covers, in the serialisation's (sorted) order.
HASHED_FIELDS = ("action", "actor", "at", "detail", "object_id", "object_type", "patient_id",
                 "prev_hash", "remote_addr", "seq", "user_id")


def _actor() -> tuple[int | None, str, str | None]:
    if has_request_context() and current_user.is_authenticated:
        return current_user.id, current_user.username, request.remote_addr
    if has_request_context() and g.get("api_token") is not None:
        return None, f"token:{g.api_token.id}:{g.api_token.name}"[:80], request.remote_addr
    if has_request_context():
        return None, "anonymous", request.remote_addr
    if has_app_context() and g.get("audit_actor"):
        return None, g.audit_actor, None
    return None, "system", None


def current_user_id() -> int | None:
    """The signed-in staff member, for who-did-it columns."""
    return _actor()[0]


def record(
    action: str,
    *,
    patient_id: int | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
    detail: str | None = None,
    user_id: int | None = None,
    actor: str | None = None,
) -> AuditEvent:
    """Queue an audit row on the current transaction; it is chained and
    inserted when the transaction commits, and dropped if it rolls back.
    `detail` must not carry PHI: field names and counts, never values."""
    uid, name, addr = _actor()
    event_row = AuditEvent(
        at=utcnow(),
        user_id=user_id if user_id is not None else uid,
        actor=(actor or name)[:80],
        action=action,
        patient_id=patient_id,
        object_type=object_type,
        object_id=object_id,
        remote_addr=addr,
        detail=detail[:500] if detail else None,
    )
    session = db.session()
    if not session.in_transaction():
        session.begin()
    scope = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((event_row, scope))
    return event_row


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
_COLUMNS = (*HASHED_FIELDS, "row_hash")


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
    seq, prev = (head.seq, head.row_hash) if head else (0, GENESIS_HASH)
    rows = []
    for row, _scope in pending:
        seq += 1
        row.seq, row.prev_hash = seq, prev
        row.row_hash = prev = row_hash(row)
        rows.append({name: getattr(row, name) for name in _COLUMNS})
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


@dataclass
class ChainReport:
    ok: bool
    rows: int
    head_seq: int | None = None
    head_hash: str | None = None
    broken_id: int | None = None
    broken_seq: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify(batch: int = 2000) -> ChainReport:
    """Walk the chain in `seq` order and report the first row that does not
    hold: its contents edited (row_hash), a row before it deleted, edited with
    a recomputed hash, or inserted (prev_hash, seq gap). Reads in batches."""
    table = AuditEvent.__table__
    prev, expected_seq, rows = GENESIS_HASH, 1, 0
    head: Any = None
    after = 0
    while True:
        chunk = db.session.execute(select(*table.c).where(table.c.seq > after)
                                   .order_by(table.c.seq).limit(batch)).mappings().all()
        if not chunk:
            break
        for row in chunk:
            rows += 1
            broken = None
            if row["seq"] != expected_seq:
                missing = f"seq {expected_seq}" if row["seq"] == expected_seq + 1 else \
                    f"seq {expected_seq} to {row['seq'] - 1}"
                broken = f"the row(s) before it are missing ({missing}): deleted"
            elif row["prev_hash"] != prev:
                broken = "prev_hash does not match the previous row: a row before it was edited or replaced"
            elif row["row_hash"] != row_hash(row):
                broken = "row_hash does not match its contents: this row was edited"
            if broken:
                return ChainReport(False, rows, head["seq"] if head else None,
                                   head["row_hash"] if head else None,
                                   row["id"], row["seq"], broken)
            prev, expected_seq, head = row["row_hash"], row["seq"] + 1, row
        after = chunk[-1]["seq"]
    return ChainReport(True, rows, head["seq"] if head else None, head["row_hash"] if head else None)


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
