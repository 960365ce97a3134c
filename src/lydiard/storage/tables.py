"""The relational schema (SQLAlchemy Core), portable between SQLite and PostgreSQL.

Conventions: units in column names; instants are ``*_at`` (timezone-aware UTC);
calendar days are the athlete's local ``day``. IDs of users, athletes, activities
and plan objects are random, unguessable strings (``new_id``), but access is
always checked in the service layer: unguessable IDs are not a security control.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

ID = String(32)
UTC = DateTime(timezone=True)

users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("units", String(10), nullable=False, default="metric"),
    Column("created_at", UTC, nullable=False),
)

athletes = Table(
    "athletes",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, ForeignKey("users.id", ondelete="SET NULL"), nullable=True, unique=True),
    Column("managed_by_user_id", ID, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("name", String(200), nullable=False),
    Column("sex", String(1), nullable=True),  # "m" | "f"
    Column("birth_year", SmallInteger, nullable=True),
    Column("tz", String(64), nullable=False, default="UTC"),
    Column("hrv_guided", Boolean, nullable=False, default=False),
    Column("baseline_config", JSON, nullable=True),
    Column("created_at", UTC, nullable=False),
)

thresholds = Table(
    "thresholds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("athlete_id", ID, ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),  # hr_rest_bpm, hr_max_bpm, lthr_bpm, ftp_w, threshold_speed_mps
    Column("value", Float, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("estimated", Boolean, nullable=False, default=False),
    Column("created_at", UTC, nullable=False),
    UniqueConstraint("athlete_id", "kind", "valid_from", name="uq_thresholds_athlete_kind_day"),
)

coach_links = Table(
    "coach_links",
    metadata,
    Column("id", ID, primary_key=True),
    Column("coach_user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("athlete_id", ID, ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),  # invited | active | revoked | declined
    Column("invited_at", UTC, nullable=False),
    Column("decided_at", UTC, nullable=True),
    UniqueConstraint("coach_user_id", "athlete_id", name="uq_coach_links_pair"),
)

stored_files = Table(
    "stored_files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("athlete_id", ID, ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("original_name", String(500), nullable=False),
    Column("created_at", UTC, nullable=False),
    UniqueConstraint("athlete_id", "sha256", name="uq_stored_files_athlete_sha"),
)

activities = Table(
    "activities",
    metadata,
    Column("id", ID, primary_key=True),
    Column("athlete_id", ID, ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
    Column("file_sha256", String(64), nullable=True),
    Column("source_format", String(16), nullable=False),
    Column("sport", String(16), nullable=False),
    Column("sub_sport", String(32), nullable=True),
    Column("name", String(300), nullable=True),
    Column("gear", String(200), nullable=True),
    Column("device", String(200), nullable=True),
    Column("started_at", UTC, nullable=False),
    Column("day", Date, nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("moving_time_s", Float, nullable=False),
    Column("distance_m", Float, nullable=True),
    Column("avg_hr_bpm", Float, nullable=True),
    Column("max_hr_bpm", Float, nullable=True),
    Column("avg_power_w", Float, nullable=True),
    Column("rpe", Float, nullable=True),
    Column("n_samples", Integer, nullable=False, default=0),
    Column("cleaning", JSON, nullable=True),
    Column("race", Boolean, nullable=True),  # the athlete marked this session as a race (rule "flagged")
    Column("created_at", UTC, nullable=False),
    UniqueConstraint("athlete_id", "file_sha256", name="uq_activities_athlete_file"),
    UniqueConstraint("athlete_id", "started_at", "sport", name="uq_activities_athlete_start"),
    Index("ix_activities_athlete_day", "athlete_id", "day"),
)

# Samples are stored columnar: one row per block of up to ``SAMPLES_PER_BLOCK`` consecutive
# samples of an activity, one column per channel (unit in the name), each a zlib-compressed
# little-endian float64 array (NULL when the device did not record that channel). Measured
# reason (benchmarks/import_corpus.py): one SQL row per sample made SQLite storage ~20x
# slower than parsing, far from the import target; blocks keep the channels typed, named
# with units and recomputable, and are read back as a DataFrame by storage.streams.
sample_blocks = Table(
    "sample_blocks",
    metadata,
    Column("activity_id", ID, ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    Column("block", Integer, primary_key=True, autoincrement=False),
    Column("n_samples", Integer, nullable=False),
    Column("elapsed_s", LargeBinary, nullable=False),  # seconds since activities.started_at
    Column("hr_bpm", LargeBinary),
    Column("power_w", LargeBinary),
    Column("speed_mps", LargeBinary),
    Column("cadence_rpm", LargeBinary),
    Column("distance_m", LargeBinary),
    Column("altitude_m", LargeBinary),
    Column("lat_deg", LargeBinary),
    Column("lon_deg", LargeBinary),
    Column("temperature_c", LargeBinary),
)

laps = Table(
    "laps",
    metadata,
    Column("activity_id", ID, ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    Column("lap_index", Integer, primary_key=True, autoincrement=False),
    Column("started_at", UTC, nullable=True),
    Column("duration_s", Float),
    Column("distance_m", Float),
    Column("avg_hr_bpm", Float),
    Column("max_hr_bpm", Float),
    Column("avg_power_w", Float),
)

rr_intervals = Table(
    "rr_intervals",
    metadata,
    Column("activity_id", ID, ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    Column("chunk", Integer, primary_key=True, autoincrement=False),
    Column("rr_ms_f32", LargeBinary, nullable=False),  # little-endian float32 array of RR intervals, ms
)

session_metrics = Table(
    "session_metrics",
    metadata,
    Column("activity_id", ID, ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    Column("load_au", Float, nullable=False),
    Column("load_source", String(16), nullable=False),
    Column("trimp_banister", Float),
    Column("hr_tss", Float),
    Column("np_w", Float),
    Column("intensity_factor", Float),
    Column("power_tss", Float),
    Column("running_tss", Float),
    Column("srpe_au", Float),
    Column("efficiency_factor", Float),
    Column("decoupling_pct", Float),
    Column("elevation_gain_m", Float),
    Column("details", JSON, nullable=True),  # zones, mean-maximal curves, Edwards/Lucia TRIMP...
    Column("thresholds_used", JSON, nullable=True),
    Column("computed_at", UTC, nullable=False),
)

session_logs = Table(
    "session_logs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("athlete_id", ID, ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
    Column("day", Date, nullable=False),
    Column("started_at", UTC, nullable=True),
    Column("source", String(32), nullable=False),
    Column("sport", String(16), nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("rpe", Float, nullable=True),
    Column("name", String(300), nullable=True),
    Column("avg_hr_bpm", Float, nullable=True),
    Column("distance_m", Float, nullable=True),
    Column("external_id", String(100), nullable=False),
    Column("activity_id", ID, ForeignKey("activities.id", ondelete="SET NULL"), nullable=True),
    Column("created_at", UTC, nullable=False),
    UniqueConstraint("athlete_id", "source", "external_id", name="uq_session_logs_ext"),
    Index("ix_session_logs_athlete_day", "athlete_id", "day"),
)

daily_observations = Table(
    "daily_observations",
    metadata,
    Column("athlete_id", ID, ForeignKey("athletes.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("source", String(32), primary_key=True),
    Column("rmssd_ms", Float),
    Column("hrv_kind", String(10)),
    Column("rr_corrected_fraction", Float),
    Column("rhr_bpm", Float),
    Column("sleep_h", Float),
    Column("sleep_quality", Float),
    Column("energy", Float),
    Column("mood", Float),
    Column("motivation", Float),
    Column("soreness", Float),
    Column("stress", Float),
    Column("readiness", Float),
    Column("illness", Boolean),
    Column("injury", Boolean),
    Column("travel", Boolean),
    Column("race", Boolean),  # the athlete raced this day (check-in): the race rule "flagged"
    Column("note", Text),
    Column("updated_at", UTC, nullable=False),
    # The Trends data version reads MAX(updated_at) per athlete: an index makes it O(log n).
    Index("ix_daily_observations_athlete_updated", "athlete_id", "updated_at"),
)

# No foreign key to ``athletes``: the batch recompute bulk-writes millions of rows and a
# per-row check doubled its cost. Writers lock the athlete row instead (the batch ``FOR
# SHARE`` once per athlete, the per-athlete path ``lock_athlete``), and deleting an athlete
# (``services.privacy``) locks it before deleting its rows here explicitly (migration 0003).
daily_metrics = Table(
    "daily_metrics",
    metadata,
    Column("athlete_id", ID, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("load_au", Float, nullable=False),
    Column("ctl", Float, nullable=False),
    Column("atl", Float, nullable=False),
    Column("tsb", Float, nullable=False),
    Column("ramp", Float),
    Column("acwr", Float),
    Column("monotony", Float),
    Column("strain", Float),
    Column("stage", String(32), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("risk_score", Float),
    Column("data_feel_agree", Boolean),
    Column("ln_rmssd_7d", Float),
    Column("ln_rmssd_low", Float),
    Column("ln_rmssd_high", Float),
    Column("rhr_7d", Float),
    Column("rhr_base", Float),
    Column("wellness_z", Float),
    Column("evidence_sum", Float),  # accumulated evidence of fatigue (SD units; threshold cusum_h)
    Column("recommendation_code", String(32)),
    Column("detail", JSON),  # evidence + recommendation text/params (only for recent days)
    Column("computed_at", UTC, nullable=False),
)

# One row per athlete with daily metrics, rewritten in the transaction that writes them
# (``services.summaries.refresh_summaries``): the latest stage and its run length, and the
# last ``SPARK_DAYS`` days of the roster's sparkline series. The roster and Today read it
# instead of scanning an athlete's history on every request.
athlete_summaries = Table(
    "athlete_summaries",
    metadata,
    Column("athlete_id", ID, ForeignKey("athletes.id", ondelete="CASCADE"), primary_key=True),
    Column("last_day", Date, nullable=False),  # the latest daily_metrics day
    Column("stage", String(32), nullable=False),  # its stage
    Column("stage_days", Integer, nullable=False),  # consecutive days in that stage, ending on last_day
    Column("recent", JSON, nullable=False),  # {"first_day": iso, <series>: [values...]} ending on last_day
    Column("updated_at", UTC, nullable=False),  # when the athlete's daily metrics were last written
    Column("version", String(32), nullable=False),  # random, new on every rewrite (a clock may stand still)
    Column("trend_score", Float),  # 0-1 toward deep fatigue (patterns.trending_toward_deep); NULL: none
    Column("days_to_deep", Integer),  # days to the threshold at the last week's rise; NULL: not rising
)

# The Trends page's chart data per athlete, serialised and gzip-compressed, labelled with the
# data stamp it was built from (``services.trends.trends_version``): built when the daily
# metrics are recomputed and on the first view after any other change, shared by every server
# process. A row whose ``version`` differs from the athlete's current stamp is never served.
athlete_trends = Table(
    "athlete_trends",
    metadata,
    Column("athlete_id", ID, ForeignKey("athletes.id", ondelete="CASCADE"), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("body_gzip", LargeBinary, nullable=False),  # gzip of the JSON document the page fetches
    Column("built_at", UTC, nullable=False),
)

planned_sessions = Table(
    "planned_sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("athlete_id", ID, ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
    Column("day", Date, nullable=False),
    Column("sport", String(16), nullable=False),
    Column("session_type", String(20), nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("intensity_target", String(100), nullable=True),
    Column("expected_load_au", Float, nullable=False),
    Column("notes", Text, nullable=True),
    Column("origin", String(16), nullable=False),  # generator | manual | import | adapted
    Column("goal", JSON, nullable=True),
    Column("created_at", UTC, nullable=False),
    Column("updated_at", UTC, nullable=False),
    Index("ix_planned_sessions_athlete_day", "athlete_id", "day"),
)

plan_changes = Table(
    "plan_changes",
    metadata,
    Column("id", ID, primary_key=True),
    Column("athlete_id", ID, ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
    Column("for_day", Date, nullable=False),
    Column("status", String(16), nullable=False),  # proposed | approved | rejected | accepted | overridden | superseded
    Column("stage", String(32), nullable=False),
    Column("reason", JSON, nullable=False),
    Column("diff", JSON, nullable=False),
    Column("decided_by_user_id", ID, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("decided_at", UTC, nullable=True),
    Column("decision_note", Text, nullable=True),
    Column("created_at", UTC, nullable=False),
    Index("ix_plan_changes_athlete_status", "athlete_id", "status"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTC, nullable=False),
    Column("actor_user_id", ID, nullable=True),
    Column("athlete_id", ID, ForeignKey("athletes.id", ondelete="CASCADE"), nullable=True),
    Column("action", String(64), nullable=False),
    Column("detail", JSON, nullable=True),
    Index("ix_audit_log_athlete_at", "athlete_id", "at"),
)

login_sessions = Table(
    "login_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTC, nullable=False),
    Column("last_seen_at", UTC, nullable=False),
    Column("user_agent", String(200), nullable=True),  # shown in the list of one's sessions
    Column("address", String(100), nullable=True),  # the client address at login
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("scope", String(10), nullable=False),  # read | write
    Column("created_at", UTC, nullable=False),
    Column("last_used_at", UTC, nullable=True),
    Column("revoked_at", UTC, nullable=True),
    Column("expires_at", UTC, nullable=True),  # NULL (tokens older than expiry): created_at + the default
)

#: Login throttling: one counter per key ("acct:<email>|<address>" or "addr:<address>"), bumped
#: atomically (INSERT ... ON CONFLICT DO UPDATE ... RETURNING) before a password is checked.
login_counters = Table(
    "login_counters",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("window_start", UTC, nullable=False),
    Column("attempts", Integer, nullable=False),
)

#: A coach offers a managed athlete (no login) to an account; nothing changes until that user accepts.
handover_offers = Table(
    "handover_offers",
    metadata,
    Column("id", ID, primary_key=True),
    Column("athlete_id", ID, ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
    Column("coach_user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),  # offered | accepted | declined | withdrawn
    Column("created_at", UTC, nullable=False),
    Column("decided_at", UTC, nullable=True),
    Index("ix_handover_offers_user_id", "user_id"),
)

import_items = Table(
    "import_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", ID, nullable=False),
    Column("athlete_id", ID, ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(500), nullable=False),
    Column("item", String(500), nullable=False),
    Column("outcome", String(16), nullable=False),  # imported | duplicate | failed | skipped
    Column("reason", Text, nullable=True),
    Column("activity_id", ID, nullable=True),
    Column("at", UTC, nullable=False),
    Index("ix_import_items_run", "run_id"),
)

#: Tables holding one athlete's data (for export and deletion), in delete order.
ATHLETE_TABLES: tuple[Table, ...] = (
    import_items, audit_log, plan_changes, planned_sessions, daily_metrics, daily_observations,
    session_logs, stored_files, thresholds, coach_links, handover_offers,
)
