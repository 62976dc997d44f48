"""837P: interchange control numbers, the practice's submitter settings, SBR05

Revision ID: 0016_x12
Revises: 0011_kiosk_reviewed_submission
Create Date: 2026-12-05 07:30:00.000000

x12_interchanges keeps every 837P file as sent; its id is the interchange
control number, AUTOINCREMENT on SQLite so a number is never handed out twice.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_x12'
down_revision = '0015_matching'
branch_labels = None
depends_on = None

PRACTICE_COLUMNS = (
    ('taxonomy', sa.String(length=10)),
    ('submitter_name', sa.String(length=60)),
    ('submitter_etin', sa.String(length=80)),
    ('billing_contact_name', sa.String(length=60)),
    ('billing_contact_phone', sa.String(length=20)),
    ('billing_contact_email', sa.String(length=80)),
    ('receiver_name', sa.String(length=60)),
    ('receiver_etin', sa.String(length=80)),
    ('x12_sender_id', sa.String(length=15)),
    ('x12_receiver_id', sa.String(length=15)),
)


def upgrade():
    op.create_table('x12_interchanges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('billing_export_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claim_count', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['billing_export_id'], ['billing_exports.id'],
                            name=op.f('fk_x12_interchanges_billing_export_id_billing_exports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_x12_interchanges')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('x12_interchanges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_x12_interchanges_billing_export_id'), ['billing_export_id'], unique=False)

    with op.batch_alter_table('practice', schema=None) as batch_op:
        for name, type_ in PRACTICE_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.add_column(sa.Column('x12_sender_qualifier', sa.String(length=2), server_default='ZZ', nullable=False))
        batch_op.add_column(sa.Column('x12_receiver_qualifier', sa.String(length=2),
                                      server_default='ZZ', nullable=False))
        batch_op.add_column(sa.Column('x12_test_mode', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('accepts_assignment', sa.Boolean(), server_default=sa.true(), nullable=False))

    with op.batch_alter_table('coverages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('medicare_secondary_type', sa.String(length=2), nullable=True))


def downgrade():
    with op.batch_alter_table('coverages', schema=None) as batch_op:
        batch_op.drop_column('medicare_secondary_type')
    with op.batch_alter_table('practice', schema=None) as batch_op:
        for name in ('accepts_assignment', 'x12_test_mode', 'x12_receiver_qualifier',
                     'x12_sender_qualifier', *reversed([n for n, _ in PRACTICE_COLUMNS])):
            batch_op.drop_column(name)
    with op.batch_alter_table('x12_interchanges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_x12_interchanges_billing_export_id'))
    op.drop_table('x12_interchanges')
