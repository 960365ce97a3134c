"""Race flags: the athlete marks a check-in day or an activity as a race.

* ``daily_observations.race``: the day's check-in says "I raced today".
* ``activities.race``: this recorded session was a race (set on the activity).

Both feed the race rule ``flagged`` of the session signals (``services.signals``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("daily_observations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("race", sa.Boolean(), nullable=True))
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("race", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_column("race")
    with op.batch_alter_table("daily_observations", schema=None) as batch_op:
        batch_op.drop_column("race")
