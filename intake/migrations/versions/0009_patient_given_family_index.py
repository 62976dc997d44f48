"""patients: given-name index carries the family name

Revision ID: 0009_patient_given_family_index
Revises: 0008_fhir_saved_searches
Create Date: 2026-11-23 05:00:00.000000

Name search seeks the given-name index for a given-name prefix and must
return those charts in name order (family, given). With the family name in
the index, the filter on the other word and the sort key are read from the
index itself: the table is visited only for the charts that make the cut.
The composite serves everything the given-name-only index served.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009_patient_given_family_index'
down_revision = '0008_fhir_saved_searches'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.create_index('ix_patients_given_norm_family_norm',
                              ['given_norm', 'family_norm'], unique=False)
        batch_op.drop_index('ix_patients_given_norm')


def downgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.create_index('ix_patients_given_norm', ['given_norm'], unique=False)
        batch_op.drop_index('ix_patients_given_norm_family_norm')
