"""duplicate charts: blocking keys, match model, worklist, chart merges

Revision ID: 0015_matching
Revises: 0011_kiosk_reviewed_submission
Create Date: 2026-12-05 07:30:00.000000

patient_match_keys holds each chart's blocking keys (intake.matching.keys);
the upgrade fills them for the charts already there. patients.merged_into_id
marks a chart retired by a merge.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0015_matching'
down_revision = '0014_harden'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patients') as batch:
        batch.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_patients_merged_into_id_patients', 'patients',
                                 ['merged_into_id'], ['id'])
        batch.create_index('ix_patients_merged_into_id', ['merged_into_id'])
    op.create_table(
        'patient_match_keys',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('patient_id', sa.Integer(), sa.ForeignKey('patients.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('key', sa.String(64), nullable=False),
    )
    op.create_index('ix_patient_match_keys_key_patient', 'patient_match_keys', ['key', 'patient_id'])
    op.create_index('ix_patient_match_keys_patient_id', 'patient_match_keys', ['patient_id'])
    op.create_table(
        'match_models',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('parameters', sa.JSON(), nullable=False),
        sa.Column('fitted_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'duplicate_scans',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('status', sa.String(12), nullable=False),
        sa.Column('charts_done', sa.Integer(), nullable=False),
        sa.Column('charts_total', sa.Integer(), nullable=False),
        sa.Column('pairs_found', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        'duplicate_pairs',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('low_id', sa.Integer(), sa.ForeignKey('patients.id'), nullable=False),
        sa.Column('high_id', sa.Integer(), sa.ForeignKey('patients.id'), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('reasons', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(12), nullable=False),
        sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reviewed_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint('low_id', 'high_id', name='uq_duplicate_pairs_pair'),
    )
    op.create_index('ix_duplicate_pairs_low_id', 'duplicate_pairs', ['low_id'])
    op.create_index('ix_duplicate_pairs_high_id', 'duplicate_pairs', ['high_id'])
    op.create_index('ix_duplicate_pairs_status_score', 'duplicate_pairs', ['status', 'score'])
    op.create_table(
        'chart_merges',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('survivor_id', sa.Integer(), sa.ForeignKey('patients.id'), nullable=False),
        sa.Column('retired_id', sa.Integer(), sa.ForeignKey('patients.id'), nullable=False),
        sa.Column('before', sa.JSON(), nullable=False),
        sa.Column('moved', sa.JSON(), nullable=False),
        sa.Column('merged_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('merged_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('undone_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_chart_merges_survivor_id', 'chart_merges', ['survivor_id'])
    op.create_index('ix_chart_merges_retired_id', 'chart_merges', ['retired_id'])
    _fill_keys()


def _fill_keys():
    """Blocking keys for the charts already there, in batches."""
    from intake.matching import Record, chart_keys

    conn = op.get_bind()
    patients = sa.table('patients', *(sa.column(c) for c in (
        'id', 'given_norm', 'family_norm', 'birth_date', 'sex', 'phone_mobile', 'phone_home',
        'email', 'address_key', 'postal_code', 'given_name', 'family_name')))
    keys = sa.table('patient_match_keys', sa.column('patient_id'), sa.column('key'))
    last = 0
    while True:
        rows = conn.execute(sa.select(patients).where(patients.c.id > last)
                            .order_by(patients.c.id).limit(5000)).all()
        if not rows:
            break
        batch = [{"patient_id": r.id, "key": k} for r in rows for k in chart_keys(Record.from_chart(r))]
        if batch:
            conn.execute(keys.insert(), batch)
        last = rows[-1].id


def downgrade():
    op.drop_table('chart_merges')
    op.drop_table('duplicate_pairs')
    op.drop_table('duplicate_scans')
    op.drop_table('match_models')
    op.drop_table('patient_match_keys')
    with op.batch_alter_table('patients') as batch:
        batch.drop_index('ix_patients_merged_into_id')
        batch.drop_constraint('fk_patients_merged_into_id_patients', type_='foreignkey')
        batch.drop_column('merged_into_id')
