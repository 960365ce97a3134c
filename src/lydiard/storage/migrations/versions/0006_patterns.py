"""Patterns: the accumulated evidence of fatigue per day, and who is trending toward deep fatigue.

* ``daily_metrics.evidence_sum``: the stage engine's accumulated evidence of fatigue (SD
  units; deep fatigue is reached at its threshold ``BaselineConfig.cusum_h``).
* ``athlete_summaries.trend_score`` (0-1, NULL while calibrating or already in an episode)
  and ``days_to_deep`` (days to the threshold at the last week's rate of rise, NULL when not
  rising): what the roster shows, without reading the athlete's history.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("daily_metrics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence_sum", sa.Float(), nullable=True))
    with op.batch_alter_table("athlete_summaries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trend_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("days_to_deep", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("athlete_summaries", schema=None) as batch_op:
        batch_op.drop_column("days_to_deep")
        batch_op.drop_column("trend_score")
    with op.batch_alter_table("daily_metrics", schema=None) as batch_op:
        batch_op.drop_column("evidence_sum")
