"""kiosk drafts: drop `reviewed`

Revision ID: 0012_simplify
Revises: 0011_kiosk_reviewed_submission
Create Date: 2026-12-05 07:30:00.000000

Send validates the draft and files it through the ORM like every other
write; the copy of the submission the review page kept for a faster Send is
no longer read. A draft lives for minutes: nothing in it is lost.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012_simplify'
down_revision = '0011_kiosk_reviewed_submission'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('kiosk_drafts', schema=None) as batch_op:
        batch_op.drop_column('reviewed')


def downgrade():
    with op.batch_alter_table('kiosk_drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed', sa.JSON(none_as_null=True), nullable=True))
