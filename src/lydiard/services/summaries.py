"""Per-athlete summaries: the latest stage, how long it has lasted, and recent sparkline series.

The roster (200 athletes) and the Today page must not scan an athlete's history on every
request. Whoever writes ``daily_metrics`` rewrites the summaries in the same transaction:
:func:`refresh_summaries` re-reads the stored rows (``metrics.recompute_athlete``); the batch
writer (and the bulk seeding through it) builds the rows from the arrays it has just written
(:func:`summary_row` + :func:`store_summaries`, falling back to :func:`refresh_summaries`
when older stored days are involved), so a summary is never older than the metrics it
summarises. A store created before the
summaries existed gets them on first read (:func:`ensure_summaries`).
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from lydiard.domain.recovery import STAGE_NAMES
from lydiard.domain.recovery.patterns import trending_toward_deep
from lydiard.services.context import Context, new_id
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import athlete_summaries, daily_metrics

#: Days of recent series kept per athlete (the roster's sparkline window).
SPARK_DAYS = 42
#: ``daily_metrics`` columns kept for the sparklines (and ``evidence_sum`` for the trend toward deep fatigue).
SPARK_SERIES: tuple[str, ...] = ("ln_rmssd_7d", "ln_rmssd_low", "ln_rmssd_high", "wellness_z", "tsb", "evidence_sum")
_IDS_PER_QUERY = 500


@dataclass(frozen=True, slots=True)
class Summary:
    """One athlete's summary row."""

    athlete_id: str
    last_day: date
    stage: str
    stage_days: int  #: consecutive days in ``stage``, ending on ``last_day``
    recent: dict[str, Any]  #: ``first_day`` (ISO) and one list per :data:`SPARK_SERIES`
    updated_at: datetime
    version: str  #: new on every rewrite of the summary (the athlete's metrics changed)
    trend_score: float | None = None  #: 0-1 toward deep fatigue (None: calibrating, in an episode, no evidence)
    days_to_deep: int | None = None  #: days to deep fatigue at the last week's rise (None: not rising)

    def window(self, name: str, *, first: date, days: int) -> list[float | None]:
        """Values of series ``name`` from ``first`` for ``days`` days (None where not stored)."""
        start = date.fromisoformat(str(self.recent.get("first_day", self.last_day.isoformat())))
        values: list[float | None] = self.recent.get(name) or []
        k0 = (first - start).days
        lo, hi = max(0, k0), max(0, min(len(values), k0 + days))
        head = [None] * min(days, max(0, -k0))
        part = values[lo:hi] if hi > lo else []
        return head + part + [None] * (days - len(head) - len(part))


def _num(v: Any) -> float | None:
    """A stored sparkline value: rounded to 3 decimals (a 32-pixel-high line needs no more; parsing
    200 athletes' series on every roster view is then cheap), None for missing/NaN/inf."""
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) or math.isinf(f) else round(f, 3)


def _summary(row: Any, *, with_recent: bool = True) -> Summary:
    return Summary(athlete_id=row.athlete_id, last_day=row.last_day, stage=row.stage, stage_days=int(row.stage_days),
                   recent=dict(row.recent or {}) if with_recent else {}, updated_at=row.updated_at,
                   version=row.version, trend_score=row.trend_score, days_to_deep=row.days_to_deep)


def compute_summaries(conn: Connection, athlete_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Summary rows (without ``updated_at``) of the athletes that have daily metrics, from the stored rows."""
    out: list[dict[str, Any]] = []
    for i in range(0, len(athlete_ids), _IDS_PER_QUERY):
        out += _compute(conn, list(athlete_ids[i:i + _IDS_PER_QUERY]))
    return out


def _compute(conn: Connection, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    dm = daily_metrics
    latest = (select(dm.c.athlete_id.label("aid"), func.max(dm.c.day).label("last_day"))
              .where(dm.c.athlete_id.in_(ids)).group_by(dm.c.athlete_id).subquery())
    head_q = (select(dm.c.athlete_id, dm.c.day, dm.c.stage)
              .join(latest, and_(dm.c.athlete_id == latest.c.aid, dm.c.day == latest.c.last_day)))
    head = {r.athlete_id: r for r in conn.execute(head_q).all()}
    if not head:
        return []
    cur = head_q.subquery()
    # The last day of another stage before the current run, then the rows after it (the run).
    before = (select(dm.c.athlete_id.label("aid"), func.max(dm.c.day).label("before_day"))
              .join(cur, dm.c.athlete_id == cur.c.athlete_id).where(dm.c.stage != cur.c.stage)
              .group_by(dm.c.athlete_id).subquery())
    runs: dict[str, int] = {str(r[0]): int(r[1]) for r in conn.execute(
        select(dm.c.athlete_id, func.count())
        .select_from(dm.outerjoin(before, dm.c.athlete_id == before.c.aid))
        .where(dm.c.athlete_id.in_(list(head)), or_(before.c.before_day.is_(None), dm.c.day > before.c.before_day))
        .group_by(dm.c.athlete_id)
    )}
    earliest = min(r.day for r in head.values()) - timedelta(days=SPARK_DAYS - 1)
    recent_rows = conn.execute(
        select(dm.c.athlete_id, dm.c.day, *(dm.c[c] for c in SPARK_SERIES))
        .where(dm.c.athlete_id.in_(list(head)), dm.c.day >= earliest)
    ).all()
    series: dict[str, dict[str, list[Any]]] = {aid: {c: [None] * SPARK_DAYS for c in SPARK_SERIES} for aid in head}
    for r in recent_rows:
        k = (r.day - head[r.athlete_id].day).days + SPARK_DAYS - 1
        if 0 <= k < SPARK_DAYS:
            for c in SPARK_SERIES:
                series[r.athlete_id][c][k] = getattr(r, c)
    return [summary_row(aid, last_day=h.day, stage=h.stage, stage_days=int(runs.get(aid, 1)), series=series[aid])
            for aid, h in head.items()]


def refresh_summaries(conn: Connection, athlete_ids: Sequence[str], *, now: datetime) -> int:
    """Rewrite the summaries of ``athlete_ids`` from their stored daily metrics (in the caller's transaction).

    Call after writing ``daily_metrics``, inside the same transaction. Athletes without
    daily metrics end up without a summary. Returns the number of summaries written.
    """
    ids = list(dict.fromkeys(athlete_ids))
    if not ids:
        return 0
    return store_summaries(conn, ids, compute_summaries(conn, ids), now=now)


def store_summaries(conn: Connection, athlete_ids: Sequence[str], rows: Sequence[dict[str, Any]], *,
                    now: datetime) -> int:
    """Replace the summaries of ``athlete_ids`` by ``rows`` (summary rows as :func:`compute_summaries` returns).

    For writers that already hold the values (the batch writer builds them from the arrays it
    has just written, :func:`summary_row`); athletes of ``athlete_ids`` without a row end up
    without a summary. Returns the number of summaries written.
    """
    ids = list(dict.fromkeys(athlete_ids))
    for i in range(0, len(ids), _IDS_PER_QUERY):
        conn.execute(delete(athlete_summaries).where(athlete_summaries.c.athlete_id.in_(ids[i:i + _IDS_PER_QUERY])))
    if rows:
        conn.execute(insert(athlete_summaries), [{**r, "updated_at": now, "version": new_id()} for r in rows])
    return len(rows)


def summary_row(athlete_id: str, *, last_day: date, stage: str, stage_days: int,
                series: Mapping[str, Sequence[float | None]]) -> dict[str, Any]:
    """A summary row (as :func:`compute_summaries` returns it) from values the caller holds in memory.

    ``series``: the last :data:`SPARK_DAYS` stored values (ending on ``last_day``) of each of
    :data:`SPARK_SERIES`, as stored (NULL as None or NaN); they are rounded as the stored path does.
    """
    first = last_day - timedelta(days=SPARK_DAYS - 1)
    recent: dict[str, Any] = {"first_day": first.isoformat()}
    for c in SPARK_SERIES:
        values = series[c]
        if len(values) != SPARK_DAYS:
            raise ValueError(f"series {c!r} has {len(values)} values, not {SPARK_DAYS}")
        recent[c] = [_num(v) for v in values]
    score, eta = trend_toward_deep(stage, recent["evidence_sum"])
    return {"athlete_id": athlete_id, "last_day": last_day, "stage": stage, "stage_days": int(stage_days),
            "recent": recent, "trend_score": score, "days_to_deep": eta}


_STAGE_CODES = {name: code for code, name in STAGE_NAMES.items()}


def trend_toward_deep(stage: str, evidence_sum: Sequence[float | None]) -> tuple[float | None, int | None]:
    """The roster's trend toward deep fatigue from the last stage and the recent accumulated evidence.

    :func:`lydiard.domain.recovery.patterns.trending_toward_deep` on one athlete (the last day's
    stage; ``evidence_sum`` ending on that day, missing days as 0). Returns the score (0-1; None
    while calibrating, already in deep fatigue or worse, or without any evidence stored) and the
    days to the threshold at the last week's rate of rise (None when not rising).
    """
    code = _STAGE_CODES.get(stage)
    values = [math.nan if v is None else float(v) for v in evidence_sum]
    if code is None or not values or not any(math.isfinite(v) for v in values):
        return None, None
    st = np.full((1, len(values)), code, dtype=np.int8)
    out = trending_toward_deep(st, np.asarray([values], dtype=np.float64))
    score = float(out["score"][0])
    eta = int(out["days_to_threshold"][0])
    return (None if math.isnan(score) else round(score, 3)), (eta if eta >= 0 else None)


#: Parsed ``recent`` series per engine and athlete, with the summary ``version`` they belong to: a
#: roster view re-parses only the summaries rewritten since the last view (200 JSON documents per
#: view otherwise). Entries are replaced when the version changes, so they are never stale.
_recent_memo: weakref.WeakKeyDictionary[Engine, dict[str, tuple[Any, dict[str, Any]]]] = weakref.WeakKeyDictionary()
_memo_lock = threading.Lock()
_MEMO_MAX = 100_000


def read_summaries(conn: Connection, athlete_ids: Sequence[str], *, with_recent: bool = True) -> dict[str, Summary]:
    """The stored summaries of ``athlete_ids`` (no access check: callers have checked).

    ``with_recent=False`` leaves the recent series out (``recent == {}``): nothing to parse.
    """
    out: dict[str, Summary] = {}
    ids = list(athlete_ids)
    t = athlete_summaries
    cols = [c for c in t.c if c.name != "recent"]
    for i in range(0, len(ids), _IDS_PER_QUERY):
        rows = conn.execute(select(*cols).where(t.c.athlete_id.in_(ids[i:i + _IDS_PER_QUERY]))).all()
        out.update((r.athlete_id, _summary(r, with_recent=False)) for r in rows)
    if not with_recent or not out:
        return out
    with _memo_lock:
        memo = _recent_memo.setdefault(conn.engine, {})
        known = {a: memo[a] for a in out if a in memo}
    stale = [a for a, sm in out.items() if a not in known or known[a][0] != sm.version]
    fresh: dict[str, tuple[Any, dict[str, Any]]] = {}
    for i in range(0, len(stale), _IDS_PER_QUERY):
        for r in conn.execute(select(t.c.athlete_id, t.c.version, t.c.recent)
                              .where(t.c.athlete_id.in_(stale[i:i + _IDS_PER_QUERY]))):
            fresh[r.athlete_id] = (r.version, dict(r.recent or {}))
    if fresh:
        with _memo_lock:
            memo = _recent_memo.setdefault(conn.engine, {})
            if len(memo) + len(fresh) > _MEMO_MAX:
                memo.clear()
            memo.update(fresh)
    known.update(fresh)
    for a, sm in list(out.items()):
        entry = known.get(a)
        if entry is not None and entry[0] == sm.version:
            out[a] = replace(sm, recent=entry[1])
        else:  # rewritten between the two reads: read it again next time, show it without series now
            out[a] = sm
    return out


def ensure_summaries(ctx: Context, conn: Connection, athlete_ids: Sequence[str], *,
                     with_recent: bool = True) -> dict[str, Summary]:
    """The summaries of ``athlete_ids``, computing (and storing) the missing ones of athletes with metrics.

    Only a store upgraded from before the summaries existed has athletes with metrics but no
    summary; athletes without metrics cost one grouped query and nothing is written.
    """
    found = read_summaries(conn, athlete_ids, with_recent=with_recent)
    missing = [a for a in athlete_ids if a not in found]
    if not missing:
        return found
    rows = compute_summaries(conn, missing)
    if not rows:
        return found
    now = ctx.clock()
    rows = [{**r, "updated_at": now, "version": new_id()} for r in rows]
    try:
        with translate_db_errors(), ctx.engine.begin() as wconn:
            wconn.execute(delete(athlete_summaries).where(athlete_summaries.c.athlete_id.in_([r["athlete_id"] for r in rows])))
            wconn.execute(insert(athlete_summaries), rows)
    except IntegrityError:
        pass  # another request stored them first (PostgreSQL): they are equal
    for r in rows:
        found[r["athlete_id"]] = Summary(athlete_id=r["athlete_id"], last_day=r["last_day"], stage=r["stage"],
                                         stage_days=r["stage_days"], recent=r["recent"] if with_recent else {},
                                         updated_at=now, version=r["version"], trend_score=r["trend_score"],
                                         days_to_deep=r["days_to_deep"])
    return found


__all__ = ["SPARK_DAYS", "SPARK_SERIES", "Summary", "compute_summaries", "ensure_summaries", "read_summaries",
           "refresh_summaries", "store_summaries", "summary_row", "trend_toward_deep"]
