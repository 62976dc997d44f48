"""kiosk drafts: the reviewed values get a column of their own

Revision ID: 0010_kiosk_draft_reviewed
Revises: 0009_patient_given_family_index
Create Date: 2026-11-23 07:30:00.000000

Send deletes a draft only when it is still as its review page showed it, and
returns what it held, in one DELETE ... RETURNING (SQLite 3.35+). The
condition needs the reviewed values outside the draft's JSON. Drafts live for
minutes: one reviewed before this upgrade is simply validated again at Send,
as a changed draft is.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_kiosk_draft_reviewed'
down_revision = '0009_patient_given_family_index'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('kiosk_drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed', sa.JSON(none_as_null=True), nullable=True))


def downgrade():
    with op.batch_alter_table('kiosk_drafts', schema=None) as batch_op:
        batch_op.drop_column('reviewed')
