"""The stored Trends documents and the roster fingerprint: built with the metrics, shared by
every server process, never served once the athlete's data have changed, and behind the same
access checks as the data. Both backends."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from lydiard.errors import InvalidInputError, NotFoundError
from lydiard.services import checkin as checkin_svc
from lydiard.services import planning, trends
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.services.context import Context
from lydiard.services.demo import seed_cohort
from lydiard.services.metrics import local_today
from lydiard.storage import tables as t

SYSTEM = Actor.system()
TZ = "Europe/Oslo"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(user_svc, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def cohort(ctx: Context) -> tuple[Actor, list[str]]:
    info = seed_cohort(ctx, athletes_n=3, days=90, seed=5, detail_days=7, chunk_athletes=2)
    coach = user_svc.login(ctx, email=info.coach_email, password=info.coach_password, address="test").user
    return user_svc.actor_for(coach), list(info.athlete_ids)


def _stored(ctx: Context, athlete_id: str) -> str | None:
    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(t.athlete_trends.c.version)
                            .where(t.athlete_trends.c.athlete_id == athlete_id)).scalar()


def test_seeding_stores_current_documents_and_writes_outdate_them(ctx: Context, cohort: tuple[Actor, list[str]]) -> None:
    coach, ids = cohort
    for aid in ids:  # built by the bulk seeding: a view is a stored read
        assert _stored(ctx, aid) == trends.trends_version(ctx, coach, aid)
    assert trends.precompute_trends(ctx, ids) == 0, "nothing to build when every document is current"
    aid = ids[0]
    doc = trends.trends_document(ctx, coach, aid)
    body = json.loads(doc.body())
    assert body["version"] == doc.version and body["format"] == trends.DOCUMENT_FORMAT
    assert len(body["series"]["ctl"]) == len(body["days"]) == len(body["stages"])
    assert "layout" not in doc.body().decode() and "color" not in doc.body().decode(), "data only, no layout"

    # A check-in recomputes the metrics, which rebuilds the document; its data follow.
    checkin_svc.submit_checkin(ctx, coach, aid, day=local_today(ctx, TZ), sleep_h=2.75)
    after = trends.trends_document(ctx, coach, aid)
    assert after.version != doc.version and _stored(ctx, aid) == after.version
    assert json.loads(after.body())["series"]["sleep_h"][-1] == 2.75

    # A write that does not recompute (a planned session) goes through the same pipeline: the
    # stored document is rebuilt with the plan, never served stale.
    today = local_today(ctx, TZ)
    before_plan = _stored(ctx, aid)
    planning.create_session(ctx, SYSTEM, aid, day=today + timedelta(days=1), sport="run", session_type="easy",
                            duration_s=3600.0)
    assert _stored(ctx, aid) == trends.trends_version(ctx, coach, aid) != before_plan
    planned = trends.trends_document(ctx, coach, aid)
    future = json.loads(planned.body())["planned"]
    assert future["days"] and len(future["ctl"]) == len(future["days"]) and _stored(ctx, aid) == planned.version


def test_a_forged_stored_document_is_not_served_under_another_stamp(ctx: Context,
                                                                     cohort: tuple[Actor, list[str]]) -> None:
    coach, ids = cohort
    aid = ids[1]
    with ctx.engine.begin() as conn:  # an outdated row: built for an older stamp
        conn.execute(sa.update(t.athlete_trends).where(t.athlete_trends.c.athlete_id == aid)
                     .values(version="0" * 32, body_gzip=b"not a document"))
    doc = trends.trends_document(ctx, coach, aid)
    assert doc.version == trends.trends_version(ctx, coach, aid)
    assert json.loads(doc.body())["version"] == doc.version


def test_the_document_and_the_roster_stamp_respect_access(ctx: Context, cohort: tuple[Actor, list[str]]) -> None:
    coach, ids = cohort
    stranger = user_svc.create_user(ctx, SYSTEM, email="s@example.org", password="another long passphrase 7",
                                    display_name="S")
    other = user_svc.actor_for(stranger)
    with pytest.raises(NotFoundError):
        trends.trends_document(ctx, other, ids[0])
    mine, theirs = trends.roster_stamp(ctx, coach), trends.roster_stamp(ctx, other)
    assert mine is not None and theirs is not None and mine.key != theirs.key
    assert trends.roster_stamp(ctx, Actor.anonymous()) is None


def test_the_roster_stamp_follows_what_the_roster_shows(ctx: Context, cohort: tuple[Actor, list[str]]) -> None:
    coach, ids = cohort
    first = trends.roster_stamp(ctx, coach)
    assert first is not None and first == trends.roster_stamp(ctx, coach), "stable while nothing changes"
    checkin_svc.submit_checkin(ctx, coach, ids[2], day=local_today(ctx, TZ), energy=2)
    second = trends.roster_stamp(ctx, coach)
    assert second is not None and second.key != first.key, "a check-in changes the roster"
    with ctx.engine.begin() as conn:
        conn.execute(sa.update(t.athletes).where(t.athletes.c.id == ids[0]).values(name="Renamed"))
    third = trends.roster_stamp(ctx, coach)
    assert third is not None and third.key != second.key, "a rename changes the roster"
    with ctx.engine.begin() as conn:  # the coach no longer manages the athlete: it leaves the roster
        conn.execute(sa.update(t.athletes).where(t.athletes.c.id == ids[0]).values(managed_by_user_id=None))
    fourth = trends.roster_stamp(ctx, coach)
    assert fourth is not None and fourth.key != third.key


def test_failed_precompute_does_not_fail_the_write(ctx: Context, cohort: tuple[Actor, list[str]],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The Trends document is a cache: a check-in whose precompute fails is stored all the same,
    and the next view builds the document from the new data."""
    from lydiard.errors import StorageUnavailableError

    coach, ids = cohort
    aid = ids[0]

    def down(*_a: object, **_k: object) -> None:
        raise StorageUnavailableError("database unavailable for a moment")

    with monkeypatch.context() as m:
        m.setattr(trends, "_build_document", down)
        with ctx.engine.connect() as conn:
            tz = conn.execute(sa.select(t.athletes.c.tz).where(t.athletes.c.id == aid)).scalar_one()
        day = local_today(ctx, tz)
        checkin_svc.submit_checkin(ctx, SYSTEM, aid, day=day, energy=1, soreness=1, mood=2)
        assert checkin_svc.get_checkin(ctx, SYSTEM, aid, day=day).energy == 1
        before = _stored(ctx, aid)
    doc = trends.trends_document(ctx, coach, aid)
    assert doc.version != before
    assert _stored(ctx, aid) == doc.version


def test_the_roster_stamp_changes_with_the_utc_day_of_the_read_audit(ctx: Context,
                                                                     cohort: tuple[Actor, list[str]]) -> None:
    """Roster reads are audited once per UTC day: a roster kept under the stamp must be rebuilt (and
    its read recorded) on a new UTC day even when every athlete's local day is the same."""
    import dataclasses
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    coach, _ = cohort
    late = datetime(2026, 1, 14, 23, 30, tzinfo=UTC)  # Oslo: 00:30 on the 15th
    early = datetime(2026, 1, 15, 0, 30, tzinfo=UTC)  # Oslo: 01:30 on the 15th
    assert late.astimezone(ZoneInfo(TZ)).date() == early.astimezone(ZoneInfo(TZ)).date()
    a = trends.roster_stamp(dataclasses.replace(ctx, clock=lambda: late), coach)
    b = trends.roster_stamp(dataclasses.replace(ctx, clock=lambda: early), coach)
    assert a is not None and b is not None and a.key != b.key


def test_recent_series_is_the_documents_last_days(ctx: Context, cohort: tuple[Actor, list[str]]) -> None:
    """The data tables' read: the last days of the stored series, equal to the document's tail,
    without reading the document; the access rule holds."""
    coach, ids = cohort
    doc = json.loads(trends.trends_document(ctx, coach, ids[0]).body())
    recent = trends.recent_series(ctx, coach, ids[0], days=14)
    assert recent["days"] == doc["days"][-14:] and recent["stages"] == doc["stages"][-14:]
    assert recent["series"], "the seeded athlete has recent values"
    for key, values in recent["series"].items():
        assert values == doc["series"][key][-14:], key
    for key, values in doc["series"].items():  # left out only when it has no value in these days
        assert key in recent["series"] or all(v is None for v in values[-14:]), key
    assert recent["planned"] == {}
    with pytest.raises(InvalidInputError):
        trends.recent_series(ctx, coach, ids[0], days=0)
    stranger = user_svc.create_user(ctx, SYSTEM, email="nosy@example.org", password="another long passphrase 7",
                                    display_name="N")
    with pytest.raises(NotFoundError):
        trends.recent_series(ctx, user_svc.actor_for(stranger), ids[0], days=14)
