"""schedule: appointment types, provider templates and exceptions,
appointments with their history, series, 5-minute cells and the waitlist

Revision ID: 0013_schedule
Revises: 0011_kiosk_reviewed_submission
Create Date: 2026-12-05 07:13:26.672307

`appointment_cells` has one row per provider and 5-minute cell an active
booking holds; its primary key refuses a double booking on SQLite and
PostgreSQL alike.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_schedule'
down_revision = '0012_simplify'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('appointment_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('first_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('split_from_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['split_from_id'], ['appointment_series.id'],
                            name=op.f('fk_appointment_series_split_from_id_appointment_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_series'))
    )
    op.create_table('appointment_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('colour', sa.String(length=7), nullable=False),
    sa.Column('new_patients', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint('minutes > 0 AND minutes % 5 = 0', name=op.f('ck_appointment_types_minutes_on_grid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_types')),
    sa.UniqueConstraint('name', name=op.f('uq_appointment_types_name'))
    )
    op.create_table('schedule_exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('starts', sa.Time(), nullable=True),
    sa.Column('ends', sa.Time(), nullable=True),
    sa.Column('note', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'],
                            name=op.f('fk_schedule_exceptions_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_exceptions'))
    )
    with op.batch_alter_table('schedule_exceptions', schema=None) as batch_op:
        batch_op.create_index('ix_schedule_exceptions_day', ['day'], unique=False)

    op.create_table('schedule_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'],
                            name=op.f('fk_schedule_templates_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_templates')),
    sa.UniqueConstraint('provider_id', 'effective_from', name=op.f('uq_schedule_templates_provider_id_effective_from'))
    )
    with op.batch_alter_table('schedule_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_templates_provider_id'), ['provider_id'], unique=False)

    op.create_table('waitlist',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('weekdays', sa.String(length=7), nullable=False),
    sa.Column('part_of_day', sa.String(length=3), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_waitlist_patient_id_patients')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_waitlist_provider_id_providers')),
    sa.ForeignKeyConstraint(['type_id'], ['appointment_types.id'], name=op.f('fk_waitlist_type_id_appointment_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist'))
    )
    with op.batch_alter_table('waitlist', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_patient_id'), ['patient_id'], unique=False)

    op.create_table('appointments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('overbooked_reason', sa.String(length=200), nullable=True),
    sa.Column('cancel_reason', sa.String(length=200), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('series_index', sa.Integer(), nullable=True),
    sa.Column('reminder_outcome', sa.String(length=12), nullable=True),
    sa.Column('reminder_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminder_emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('minutes > 0 AND minutes % 5 = 0', name=op.f('ck_appointments_minutes_on_grid')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_appointments_patient_id_patients')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_appointments_provider_id_providers')),
    sa.ForeignKeyConstraint(['series_id'], ['appointment_series.id'],
                            name=op.f('fk_appointments_series_id_appointment_series')),
    sa.ForeignKeyConstraint(['type_id'], ['appointment_types.id'],
                            name=op.f('fk_appointments_type_id_appointment_types')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_appointments_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments')),
    sa.UniqueConstraint('visit_id', name=op.f('uq_appointments_visit_id'))
    )
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointments_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index('ix_appointments_provider_start', ['provider_id', 'start_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_series_id'), ['series_id'], unique=False)
        batch_op.create_index('ix_appointments_start', ['start_at'], unique=False)

    op.create_table('schedule_blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('starts', sa.Time(), nullable=False),
    sa.Column('ends', sa.Time(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.CheckConstraint('ends > starts', name=op.f('ck_schedule_blocks_ends_after_starts')),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_schedule_blocks_weekday_range')),
    sa.ForeignKeyConstraint(['template_id'], ['schedule_templates.id'],
                            name=op.f('fk_schedule_blocks_template_id_schedule_templates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_blocks'))
    )
    with op.batch_alter_table('schedule_blocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_blocks_template_id'), ['template_id'], unique=False)

    op.create_table('appointment_cells',
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('cell', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'],
                            name=op.f('fk_appointment_cells_appointment_id_appointments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_appointment_cells_provider_id_providers')),
    sa.PrimaryKeyConstraint('provider_id', 'cell', name=op.f('pk_appointment_cells'))
    )
    with op.batch_alter_table('appointment_cells', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_cells_appointment_id'), ['appointment_id'], unique=False)

    op.create_table('appointment_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'],
                            name=op.f('fk_appointment_changes_appointment_id_appointments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_appointment_changes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_changes'))
    )
    with op.batch_alter_table('appointment_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_changes_appointment_id'), ['appointment_id'], unique=False)

    op.create_table('schedule_block_types',
    sa.Column('block_id', sa.Integer(), nullable=False),
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['block_id'], ['schedule_blocks.id'],
                            name=op.f('fk_schedule_block_types_block_id_schedule_blocks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['type_id'], ['appointment_types.id'],
                            name=op.f('fk_schedule_block_types_type_id_appointment_types')),
    sa.PrimaryKeyConstraint('block_id', 'type_id', name=op.f('pk_schedule_block_types'))
    )


def downgrade():
    op.drop_table('schedule_block_types')
    with op.batch_alter_table('appointment_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointment_changes_appointment_id'))

    op.drop_table('appointment_changes')
    with op.batch_alter_table('appointment_cells', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointment_cells_appointment_id'))

    op.drop_table('appointment_cells')
    with op.batch_alter_table('schedule_blocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_blocks_template_id'))

    op.drop_table('schedule_blocks')
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index('ix_appointments_start')
        batch_op.drop_index(batch_op.f('ix_appointments_series_id'))
        batch_op.drop_index('ix_appointments_provider_start')
        batch_op.drop_index(batch_op.f('ix_appointments_patient_id'))

    op.drop_table('appointments')
    with op.batch_alter_table('waitlist', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waitlist_patient_id'))

    op.drop_table('waitlist')
    with op.batch_alter_table('schedule_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_templates_provider_id'))

    op.drop_table('schedule_templates')
    with op.batch_alter_table('schedule_exceptions', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_exceptions_day')

    op.drop_table('schedule_exceptions')
    op.drop_table('appointment_types')
    op.drop_table('appointment_series')
