"""registration key: one chart per name + date of birth + mobile phone

Revision ID: 0005_registration_key
Revises: 0004_kiosk
Create Date: 2026-11-23 02:46:49.957295

Two desks registering the same person at the same moment each pass the
duplicate check (neither sees the other's uncommitted chart); only a unique
index makes the second insert fail. See patients.register_patient.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_registration_key'
down_revision = '0004_kiosk'
branch_labels = None
depends_on = None


def upgrade():
    # Existing duplicates would make the index fail half-way: say so plainly
    # (counts only, no PHI) so the office merges them first.
    clashes = op.get_bind().execute(sa.text(
        "SELECT COUNT(*) FROM (SELECT 1 FROM patients WHERE phone_mobile IS NOT NULL "
        "GROUP BY family_norm, given_norm, birth_date, phone_mobile HAVING COUNT(*) > 1) AS d"
    )).scalar()
    if clashes:
        raise RuntimeError(
            f"{clashes} group(s) of charts share name, date of birth and mobile phone; "
            "merge them before upgrading (they are the same person).")
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.create_index('uq_patients_identity',
                              ['family_norm', 'given_norm', 'birth_date', 'phone_mobile'],
                              unique=True)


def downgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index('uq_patients_identity')
