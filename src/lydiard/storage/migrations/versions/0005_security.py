"""Security: atomic login counters, hand-over offers, token expiry, session details.

* ``login_counters`` replaces ``login_attempts`` (one row per key, bumped atomically before
  a password is checked, so a burst of parallel attempts cannot pass the limit).
* ``handover_offers``: a coach's offer of a managed athlete to an account, pending until the
  receiving user accepts.
* ``api_tokens.expires_at`` (NULL for older tokens: their creation plus the default lifetime).
* ``login_sessions.user_agent`` and ``address``, shown in the list of one's sessions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_counters",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_counters")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_key_at")
    op.drop_table("login_attempts")
    op.create_table(
        "handover_offers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("athlete_id", sa.String(length=32), nullable=False),
        sa.Column("coach_user_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["athlete_id"], ["athletes.id"],
                                name=op.f("fk_handover_offers_athlete_id_athletes"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["coach_user_id"], ["users.id"],
                                name=op.f("fk_handover_offers_coach_user_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_handover_offers_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_offers")),
    )
    with op.batch_alter_table("handover_offers", schema=None) as batch_op:
        batch_op.create_index("ix_handover_offers_user_id", ["user_id"], unique=False)
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_agent", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_column("address")
        batch_op.drop_column("user_agent")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("handover_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_handover_offers_user_id")
    op.drop_table("handover_offers")
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_key_at", ["key", "at"], unique=False)
    op.drop_table("login_counters")
