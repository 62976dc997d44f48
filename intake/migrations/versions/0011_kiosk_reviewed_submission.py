"""kiosk drafts: `reviewed` holds the whole submission the review page showed

Revision ID: 0011_kiosk_reviewed_submission
Revises: 0010_kiosk_draft_reviewed
Create Date: 2026-11-30 18:00:00.000000

Send now files the submission the review page built and showed, as it is,
instead of building it again from the draft. A review kept before this
upgrade holds only the validated values, so it is forgotten: such a draft is
validated again at Send, as a changed draft is. Drafts live for minutes.
No schema change.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011_kiosk_reviewed_submission'
down_revision = '0010_kiosk_draft_reviewed'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE kiosk_drafts SET reviewed = NULL")


def downgrade():
    # The older code reads its own shape only: forget these reviews too.
    op.execute("UPDATE kiosk_drafts SET reviewed = NULL")
