"""The Trends page's chart data per athlete, precomputed (``athlete_trends``).

One row per athlete: the gzip-compressed JSON the Trends page fetches, labelled with the
data stamp it was built from. No data step: the services build a missing or outdated row
the next time the athlete's metrics are recomputed or the page is viewed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "athlete_trends",
        sa.Column("athlete_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("body_gzip", sa.LargeBinary(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["athlete_id"],
            ["athletes.id"],
            name=op.f("fk_athlete_trends_athlete_id_athletes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("athlete_id", name=op.f("pk_athlete_trends")),
    )


def downgrade() -> None:
    op.drop_table("athlete_trends")
