"""metric answer lines: a team's own CSAT satisfied line and NPS promoter and detractor lines (care-domain §7's
4–5, 9–10 and 0–6 are defaults, as every number of the domain), beside its other metric thresholds. NULL until
the team sets one: the default is then the code's (bot.care.metric_periods.MetricSettings).

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

COLUMNS = ('csat_satisfied_min', 'nps_promoter_min', 'nps_detractor_max')


def upgrade() -> None:
    with op.batch_alter_table('team_insight', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('team_insight', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
