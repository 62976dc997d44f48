"""audit chain: audit_events append-only and hash-chained

Revision ID: 0006_audit_chain
Revises: 0005_registration_key
Create Date: 2026-11-23 02:47:19.475966

Each row gets `seq` (its place in the chain), `prev_hash` and `row_hash`
(SHA-256 over its fields and prev_hash; intake.services.audit.canonical).
Rows already there are chained here in id order. Triggers refuse UPDATE and
DELETE on audit_events on both SQLite and PostgreSQL.

Note for later migrations: a batch_alter_table on audit_events rebuilds the
table on SQLite and drops these triggers; create them again after it.
"""
import hashlib
import json
from datetime import timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_audit_chain'
down_revision = '0005_registration_key'
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
    "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', "
    "MESSAGE = 'audit_events is append-only: ' || TG_OP || ' refused'; "
    "END $$",
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
)


def _hash(row):
    """Frozen copy of intake.services.audit.canonical as of this revision."""
    fields = {name: row[name] for name in FIELDS}
    at = fields["at"]
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    fields["at"] = at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    data = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _chain_existing_rows():
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
    prev, seq, updates = GENESIS_HASH, 0, []
    for row in bind.execute(sa.select(audit).order_by(audit.c.id)).mappings().all():
        seq += 1
        values = dict(row, seq=seq, prev_hash=prev)
        prev = _hash(values)
        updates.append({"row_id": row["id"], "seq": seq, "prev_hash": values["prev_hash"],
                        "row_hash": prev})
    statement = (audit.update().where(audit.c.id == sa.bindparam("row_id"))
                 .values(seq=sa.bindparam("seq"), prev_hash=sa.bindparam("prev_hash"),
                         row_hash=sa.bindparam("row_hash")))
    for start in range(0, len(updates), 1000):
        bind.execute(statement, updates[start:start + 1000])


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('row_hash', sa.String(length=64), nullable=True))

    _chain_existing_rows()

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('row_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_seq'), ['seq'])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in POSTGRES_TRIGGER:
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_events_seq'), type_='unique')
        batch_op.drop_column('row_hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
