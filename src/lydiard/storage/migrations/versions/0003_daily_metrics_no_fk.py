"""Drop the foreign key from ``daily_metrics`` to ``athletes``.

The batch recompute writes ``daily_metrics`` with a binary ``COPY`` (millions of rows);
the per-row foreign-key check cost as much as the write itself. The writers lock the
athlete row instead, and deleting an athlete deletes its ``daily_metrics`` rows
explicitly (``services.privacy``), after locking the athlete row. No data step: rows
already there all belong to existing athletes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 12:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("daily_metrics", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_daily_metrics_athlete_id_athletes"), type_="foreignkey")


def downgrade() -> None:
    # Rows of athletes deleted since the upgrade (none if privacy deleted them) would block the key.
    op.execute("DELETE FROM daily_metrics WHERE athlete_id NOT IN (SELECT id FROM athletes)")
    with op.batch_alter_table("daily_metrics", schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_daily_metrics_athlete_id_athletes"), "athletes", ["athlete_id"], ["id"], ondelete="CASCADE"
        )
