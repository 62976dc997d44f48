"""billed claims, coverage order when ended, billing export files

Revision ID: 0017_claims
Revises: 0011_kiosk_reviewed_submission
Create Date: 2026-12-05 07:20:00.000000

A claim is frozen when billed (billed_claims), an ended coverage keeps the
rank it had (its order on the days it was in force), and a billing export
keeps its file so it can be downloaded again byte for byte.
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_claims'
down_revision = '0016_x12'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('billed_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('patient_control_number', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('billed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('billed_by_id', sa.Integer(), nullable=True),
    sa.Column('date_of_service', sa.Date(), nullable=False),
    sa.Column('place_of_service', sa.String(length=2), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.Column('self_pay', sa.Boolean(), nullable=False),
    sa.Column('payers', sa.JSON(), nullable=False),
    sa.Column('rendering_provider', sa.JSON(), nullable=True),
    sa.Column('diagnoses', sa.JSON(), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['billed_by_id'], ['users.id'], name=op.f('fk_billed_claims_billed_by_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_billed_claims_patient_id_patients')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_billed_claims_provider_id_providers')),
    sa.ForeignKeyConstraint(['replaces_id'], ['billed_claims.id'],
                            name=op.f('fk_billed_claims_replaces_id_billed_claims')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_billed_claims_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billed_claims')),
    sa.UniqueConstraint('visit_id', 'version', name=op.f('uq_billed_claims_visit_id_version'))
    )
    with op.batch_alter_table('billed_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billed_claims_patient_control_number'), ['patient_control_number'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_billed_claims_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billed_claims_visit_id'), ['visit_id'], unique=False)
    with op.batch_alter_table('coverages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_rank', sa.Integer(), nullable=True))
    with op.batch_alter_table('payers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE payers SET updated_at = CURRENT_TIMESTAMP")
    with op.batch_alter_table('billing_exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('bulk_exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('patients', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('not_applied', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('bulk_exports', schema=None) as batch_op:
        batch_op.drop_column('not_applied')
        batch_op.drop_column('patients')
    with op.batch_alter_table('billing_exports', schema=None) as batch_op:
        batch_op.drop_column('content')
    with op.batch_alter_table('payers', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
    with op.batch_alter_table('coverages', schema=None) as batch_op:
        batch_op.drop_column('last_rank')
    with op.batch_alter_table('billed_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billed_claims_visit_id'))
        batch_op.drop_index(batch_op.f('ix_billed_claims_patient_id'))
        batch_op.drop_index(batch_op.f('ix_billed_claims_patient_control_number'))
    op.drop_table('billed_claims')
