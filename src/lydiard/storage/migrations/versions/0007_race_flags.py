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
    # Plain ADD COLUMN (SQLite supports it natively): a batch "move and copy" of ``activities``
    # would drop the old table, and SQLite's ON DELETE CASCADE would empty ``laps`` and the streams.
    op.add_column("daily_observations", sa.Column("race", sa.Boolean(), nullable=True))
    op.add_column("activities", sa.Column("race", sa.Boolean(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35), for the same reason: no table is recreated.
    op.drop_column("activities", "race")
    op.drop_column("daily_observations", "race")
