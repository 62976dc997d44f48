"""audit chain keyed: row hashes become HMAC-SHA256 under the audit key

Revision ID: 0014_harden
Revises: 0011_kiosk_reviewed_submission
Create Date: 2026-12-05 07:30:00.000000

Rows already there are chained again, in seq order, with the audit key
(intake/keys.py: INTAKE_AUDIT_KEY, INTAKE_AUDIT_KEY_FILE or instance/audit.key,
created owner-only if none). The plain SHA-256 anchors written before no
longer describe the chain and are unsigned: the anchor file is moved aside
(`.before-0014_harden`); the worker writes signed anchors from now on.
The append-only triggers are dropped for the rewrite and created again.

api_tokens get scopes that fit (400 characters) and an expiry; tokens made
before keep reading everything and starting bulk exports, without expiry.

staff_sessions gets what a sign-in is bound to and its last activity
(user_agent_hash, last_active_at): a copied cookie used from another browser
or network ends the session; background refreshes do not count as activity.
"""
import hashlib
import json
import logging
from datetime import timezone
from pathlib import Path

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014_harden'
down_revision = '0013_schedule'
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
FIELDS = ("action", "actor", "at", "detail", "object_id", "object_type", "patient_id",
          "prev_hash", "remote_addr", "seq", "user_id")
SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END",
)
POSTGRES_TRIGGER = (
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
)


def _canonical(row):
    """Frozen copy of intake.services.audit.canonical as of this revision."""
    fields = {name: row[name] for name in FIELDS}
    at = fields["at"]
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    fields["at"] = at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(fields, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def _rechain(hasher):
    audit = sa.table(
        "audit_events",
        sa.column("id", sa.Integer), sa.column("seq", sa.Integer),
        sa.column("at", sa.DateTime(timezone=True)), sa.column("user_id", sa.Integer),
        sa.column("actor", sa.String), sa.column("action", sa.String),
        sa.column("patient_id", sa.Integer), sa.column("object_type", sa.String),
        sa.column("object_id", sa.Integer), sa.column("remote_addr", sa.String),
        sa.column("detail", sa.String), sa.column("prev_hash", sa.String),
        sa.column("row_hash", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(audit).order_by(audit.c.seq)).mappings().all()
    if not rows:
        return False
    dialect = bind.dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
    prev, updates = GENESIS_HASH, []
    for row in rows:
        values = dict(row, prev_hash=prev)
        prev = hasher(_canonical(values))
        updates.append({"row_id": row["id"], "prev_hash": values["prev_hash"], "row_hash": prev})
    statement = (audit.update().where(audit.c.id == sa.bindparam("row_id"))
                 .values(prev_hash=sa.bindparam("prev_hash"), row_hash=sa.bindparam("row_hash")))
    for start in range(0, len(updates), 1000):
        bind.execute(statement, updates[start:start + 1000])
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGER:
        op.execute(statement)
    return True


def _move_anchors_aside():
    from flask import current_app

    configured = current_app.config.get("INTAKE_AUDIT_ANCHOR_FILE")
    path = Path(configured) if configured else Path(current_app.instance_path) / "audit-anchors.jsonl"
    if path.exists():
        aside = path.with_name(path.name + ".before-0014_harden")
        path.rename(aside)
        logging.getLogger("alembic").warning(
            "audit anchors written before the chain was keyed moved to %s", aside)


def upgrade():
    from intake import keys

    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_agent_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('last_active_at', sa.DateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('scope', existing_type=sa.String(length=40),
                              type_=sa.String(length=400))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    # Tokens made before scopes could start bulk exports: they keep that.
    op.execute("UPDATE api_tokens SET scope = 'system/*.read bulk' WHERE scope = 'system/*.read'")

    def keyed(data):
        return keys.sign("audit", "audit-row", data)

    if _rechain(keyed):
        _move_anchors_aside()


def downgrade():
    op.execute("UPDATE api_tokens SET scope = 'system/*.read'")
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.alter_column('scope', existing_type=sa.String(length=400),
                              type_=sa.String(length=40))
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_column('last_active_at')
        batch_op.drop_column('user_agent_hash')
    def plain(data):
        return hashlib.sha256(data).hexdigest()

    if _rechain(plain):
        _move_anchors_aside()
