"""After a write: one way from a change of an athlete's data to everything derived from it.

Every writer calls this module once it has changed an athlete's data: an import, a
check-in, a threshold set or deleted, profile and baseline settings, plan edits and
decisions, and the batch recompute (through :func:`after_batch`). Whatever the change
requires runs here, in one direction, in the writer's transaction:

1. re-score the stored sessions from the first affected day (thresholds changed);
2. recompute the daily metrics from that day on, and the summaries the roster reads;
3. propose today's plan adaptation from the new assessment;

and after the commit:

4. refresh the Trends document (what the charts read; a cache, rebuilt on the next view if
   this fails).

Access is checked once, at the entry (:func:`writing` or :func:`after_change`); the
stages below take the connection and never check again, and none of them calls back up
into a writer.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection

from lydiard.errors import LydiardError
from lydiard.services.access import Actor, check_athlete, check_owner
from lydiard.services.athlete_store import AthleteInfo, load_athlete
from lydiard.services.context import Context
from lydiard.services.metrics import RecomputeResult, local_today, lock_athlete, recompute_on
from lydiard.services.plan_proposals import propose_on
from lydiard.services.plan_views import PlanChangeView
from lydiard.services.reprocess import rescore_on
from lydiard.services.trends import precompute_trends
from lydiard.storage.engine import translate_db_errors

__all__ = ["Change", "Outcome", "Write", "after_batch", "after_change", "writing"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Change:
    """What a write changed, so that the pipeline runs what it requires (and no more).

    ``since``: the first local day whose derived data may change (None: the whole history).
    ``rescore``: the sessions' scores depend on what changed (thresholds). ``recompute``:
    the daily metrics do (sessions, observations, thresholds, time zone, baselines).
    ``propose``: today's plan adaptation may change (new metrics, new planned sessions).
    The Trends document is refreshed after every change.
    """

    since: date | None = None
    rescore: bool = False
    recompute: bool = True
    propose: bool = True

    @classmethod
    def data(cls, since: date | None) -> Change:
        """Sessions or daily observations from ``since`` on (an import, a check-in)."""
        return cls(since=since)

    @classmethod
    def thresholds(cls, since: date | None) -> Change:
        """A threshold valid from ``since``: re-score, then recompute."""
        return cls(since=since, rescore=True)

    @classmethod
    def plan(cls) -> Change:
        """Planned sessions or a plan decision: no metric changes; the charts show the plan."""
        return cls(recompute=False, propose=False)

    def merge(self, other: Change) -> Change:
        """Both changes: the earlier first day and every stage either requires."""
        touching = [c for c in (self, other) if c.recompute or c.rescore]
        since = (None if not touching or any(c.since is None for c in touching)
                 else min(c.since for c in touching if c.since is not None))
        return Change(since=since, rescore=self.rescore or other.rescore,
                      recompute=self.recompute or other.recompute, propose=self.propose or other.propose)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the pipeline did: sessions re-scored, the metrics written, the plan change proposed."""

    athlete_id: str
    sessions_rescored: int = 0
    recompute: RecomputeResult | None = None
    proposal: PlanChangeView | None = None

    @property
    def days_written(self) -> int:
        return self.recompute.days_written if self.recompute is not None else 0


@dataclass(slots=True)
class Write:
    """A writer's handle inside :func:`writing`: its connection, the athlete as read at the
    entry, and the change it reports with :meth:`changed`."""

    conn: Connection
    ctx: Context
    athlete: AthleteInfo
    change: Change | None = None
    outcome: Outcome | None = field(default=None)

    @property
    def today(self) -> date:
        """The athlete's local calendar day now."""
        return local_today(self.ctx, self.athlete.tz)

    def changed(self, change: Change) -> None:
        """Report what this write changed (several reports are merged)."""
        self.change = change if self.change is None else self.change.merge(change)


@contextlib.contextmanager
def writing(ctx: Context, actor: Actor, athlete_id: str, *, owner_only: bool = False) -> Iterator[Write]:
    """One write of an athlete's data and everything derived from it, in one transaction.

    Checks that ``actor`` may write the athlete (once; with ``owner_only``, that ``actor`` *is*
    the athlete: a linked coach may not write the athlete's own reports), takes the athlete's lock, reads the
    athlete, and yields a :class:`Write`; the writer stores its change on ``w.conn`` and
    reports it with ``w.changed(...)``. On leaving, the pipeline's stages run on the same
    connection before the commit (the write and its consequences commit together), then the
    Trends document is refreshed. ``w.outcome`` says what was done.
    """
    with translate_db_errors(), ctx.engine.begin() as conn:
        if owner_only:
            check_owner(conn, actor, athlete_id)
        else:
            check_athlete(conn, actor, athlete_id, write=True)
        lock_athlete(conn, athlete_id)
        w = Write(conn=conn, ctx=ctx, athlete=load_athlete(conn, athlete_id))
        yield w
        if w.change is not None:
            w.outcome = _derive(conn, ctx, actor, athlete_id, w.change)
    if w.change is not None:
        refresh_charts(ctx, [athlete_id])


def after_change(ctx: Context, actor: Actor, athlete_id: str, change: Change) -> Outcome:
    """Run the pipeline for a change already stored (e.g. an import's files, each committed
    on its own): the access check, then the stages of :func:`writing`."""
    with writing(ctx, actor, athlete_id) as w:
        w.changed(change)
    assert w.outcome is not None
    return w.outcome


def after_batch(ctx: Context, athlete_ids: Sequence[str]) -> int:
    """What follows the batch recompute's daily metrics for ``athlete_ids`` (system work, no
    access check): today's plan adaptation of each athlete, then the Trends documents, as
    :func:`writing` does after a per-athlete recompute. Returns the number of changes proposed."""
    proposed = 0
    system = Actor.system()
    for aid in dict.fromkeys(athlete_ids):
        with translate_db_errors(), ctx.engine.begin() as conn:
            lock_athlete(conn, aid)
            outcome = _derive(conn, ctx, system, aid, Change(recompute=False))
        proposed += outcome.proposal is not None
    refresh_charts(ctx, athlete_ids)
    return proposed


def _derive(conn: Connection, ctx: Context, actor: Actor, athlete_id: str, change: Change) -> Outcome:
    """The stages, in order, on ``conn`` (access checked and the athlete's lock held by the caller)."""
    athlete = load_athlete(conn, athlete_id)  # as the write left it (time zone, thresholds...)
    rescored = rescore_on(conn, athlete, since=change.since, now=ctx.clock()) if change.rescore else 0
    result = (recompute_on(conn, ctx, athlete, since=change.since)
              if change.recompute or change.rescore else None)
    proposal = propose_on(conn, ctx, actor, athlete) if change.propose else None
    return Outcome(athlete_id=athlete_id, sessions_rescored=rescored, recompute=result, proposal=proposal)


def refresh_charts(ctx: Context, athlete_ids: Sequence[str]) -> None:
    """Rebuild the outdated Trends documents of ``athlete_ids`` (after the commit: they read it back).

    A cache: when building one fails, the data are stored all the same and the next view
    of Trends builds it, so the write that led here does not fail.
    """
    try:
        precompute_trends(ctx, athlete_ids)
    except LydiardError as exc:
        log.warning("trends documents of %s not precomputed (built on next view): %s", list(athlete_ids), exc)
