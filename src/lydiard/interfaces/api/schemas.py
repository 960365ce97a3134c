"""Request and response models of the JSON API (never the tables)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(Out, Generic[T]):
    """One page of a list; ``next`` is the URL of the following page, if any."""

    items: list[T]
    total: int
    limit: int
    offset: int
    next: str | None = None


# ----------------------------------------------------------------------------- auth

class LoginIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class UserOut(Out):
    id: str
    email: str
    display_name: str
    is_admin: bool
    is_active: bool
    units: str
    created_at: datetime


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str = Field(description="Send as X-CSRF-Token with unsafe requests made with the session cookie")


class AccountPatch(BaseModel):
    display_name: str | None = Field(default=None, max_length=200)
    units: Literal["metric", "imperial"] | None = None


class PasswordChangeIn(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class AccountDeleteIn(BaseModel):
    password: str = Field(max_length=1024, description="The account's password, to confirm")


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scope: Literal["read", "write"] = "read"
    password: str = Field(max_length=1024, description="The account's current password, to confirm")
    expires_in_days: int | None = Field(default=None, ge=1, description="Lifetime in days (default and maximum: "
                                        "the server's token_default_days and token_max_days, 90 and 365 unless set)")


class TokenOut(Out):
    id: str
    name: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime


class SessionOut(Out):
    id: str
    created_at: datetime
    last_seen_at: datetime
    user_agent: str | None
    address: str | None
    current: bool = Field(description="The session making this request")


class NewTokenOut(BaseModel):
    token: str = Field(description="Shown once: store it now, it cannot be read again")
    info: TokenOut


class UserCreateIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    display_name: str = Field(min_length=1, max_length=200)
    is_admin: bool = False


class UserPatch(BaseModel):
    is_active: bool


# ----------------------------------------------------------------------------- athletes

class AthleteOut(Out):
    id: str
    name: str
    sex: str | None
    birth_year: int | None
    tz: str
    user_id: str | None
    managed_by_user_id: str | None
    hrv_guided: bool
    #: baseline windows and the kind of HRV readings used (only what the athlete changed)
    baseline_config: dict[str, Any] | None = None


class AthleteCreateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    sex: Literal["m", "f"] | None = None
    birth_year: int | None = None
    tz: str = Field(default="UTC", max_length=64)
    own_profile: bool = Field(default=False, description="True: my own athlete profile; False: an athlete I manage")


class AthletePatch(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    sex: Literal["m", "f"] | None = None
    birth_year: int | None = None
    tz: str | None = Field(default=None, max_length=64)
    hrv_guided: bool | None = None
    #: baseline settings (``window_days``, ``hrv_baseline_days``, ``rhr_baseline_days``,
    #: ``sleep_baseline_days``, ``wellness_baseline_days`` in days; ``hrv_kind``): replaces
    #: the stored ones, validated by the service; the days are recomputed
    baseline_config: dict[str, Any] | None = None


class ThresholdOut(Out):
    kind: str
    value: float
    valid_from: date
    estimated: bool


class ThresholdIn(BaseModel):
    value: float
    valid_from: date


# ----------------------------------------------------------------------------- check-in, day, daily


class CheckinIn(BaseModel):
    """Items 1-5 (5 = best: fresh, great mood, eager, no soreness, slept great, relaxed); readiness 0-10."""

    energy: float | None = None
    mood: float | None = None
    motivation: float | None = None
    soreness: float | None = None
    sleep_quality: float | None = None
    stress: float | None = None
    sleep_h: float | None = None
    readiness: float | None = None
    illness: bool | None = None
    injury: bool | None = None
    travel: bool | None = None
    race: bool | None = None  #: the athlete raced this day (the race rule "flagged")
    note: str | None = None
    rmssd_ms: float | None = None  #: a morning HRV reading typed in by hand (rMSSD, ms)
    rhr_bpm: float | None = None  #: resting heart rate typed in by hand (bpm)


class CheckinOut(Out):
    day: date
    energy: float | None
    mood: float | None
    motivation: float | None
    soreness: float | None
    sleep_quality: float | None
    stress: float | None
    sleep_h: float | None
    readiness: float | None
    illness: bool | None
    injury: bool | None
    travel: bool | None
    race: bool | None = None
    note: str | None
    rmssd_ms: float | None = None
    rhr_bpm: float | None = None
    updated_at: datetime | None


class DayOut(Out):
    athlete_id: str
    day: date
    stage: str
    stage_title: str
    stage_days: int
    headline: str
    confidence: float
    risk_score: float | None
    data_feel_agree: bool | None
    recommendation: dict[str, Any]
    evidence: dict[str, Any]
    numbers: dict[str, float | None]


class DailyOut(BaseModel):
    athlete_id: str
    start: date | None
    end: date | None
    days: list[dict[str, Any]]
    next: str | None = None


# ----------------------------------------------------------------------------- activities, imports

class ActivityOut(Out):
    id: str
    athlete_id: str
    sport: str
    sub_sport: str | None
    name: str | None
    started_at: datetime
    day: date
    duration_s: float
    moving_time_s: float
    distance_m: float | None
    avg_hr_bpm: float | None
    max_hr_bpm: float | None
    avg_power_w: float | None
    rpe: float | None
    source_format: str
    device: str | None
    load_au: float | None
    race: bool | None = None  #: marked as a race by the athlete (the race rule "flagged")


class ActivityPatch(BaseModel):
    """What may be changed on a recorded session."""

    model_config = ConfigDict(extra="forbid")

    race: bool | None  #: true = this session was a race, false = it was not, null = not said


class ActivityDetailOut(BaseModel):
    summary: ActivityOut
    laps: list[dict[str, Any]]
    metrics: dict[str, Any] | None
    streams: dict[str, list[float | None]]
    stream_step: int
    cleaning: dict[str, Any] | None


class ImportItemOut(Out):
    source: str
    item: str
    outcome: str
    reason: str | None
    activity_id: str | None


class ImportOut(BaseModel):
    run_id: str
    items: list[ImportItemOut]
    counts: dict[str, int]


# ----------------------------------------------------------------------------- coaching, privacy

class InviteIn(BaseModel):
    athlete_email: str = Field(max_length=320)


class HandOverIn(BaseModel):
    user_email: str = Field(max_length=320)


class HandOverOfferOut(Out):
    id: str
    athlete_id: str
    athlete_name: str
    coach_user_id: str
    coach_name: str
    status: str
    created_at: datetime
    decided_at: datetime | None


class CoachLinkOut(Out):
    id: str
    role: str
    status: str
    coach_user_id: str
    coach_name: str
    athlete_id: str
    athlete_name: str | None
    athlete_email: str | None
    invited_at: datetime
    decided_at: datetime | None


class RosterEntryOut(Out):
    athlete_id: str
    name: str
    stage: str | None
    stage_title: str | None
    stage_days: int
    missing_checkins_7d: int
    proposed_changes: int
    last_day: date | None
    need_score: float
    trend_score: float | None = None  #: 0-1 toward deep fatigue (None: calibrating, already in it, no data)
    days_to_deep: int | None = None  #: days to deep fatigue at the last week's rise (None: not rising)
    trending: bool = False  #: heading for deep fatigue before reaching it (trend_score ≥ the roster's flag)


class PatternOut(Out):
    pattern: str  #: after_race, after_heavy_block, high_life_stress
    episodes: int
    of_total: int
    days: list[date]  #: first day of each episode in this context
    text: str


class PatternsOut(Out):
    """Recurring fatigue episodes (deep fatigue or worse) and what preceded them."""

    athlete_id: str
    first_day: date | None
    last_day: date | None
    episodes: list[date]
    patterns: list[PatternOut]
    summary: str


class AuditEntryOut(Out):
    at: datetime
    actor_user_id: str | None
    actor_name: str | None
    action: str
    detail: dict[str, Any] | None


class Message(BaseModel):
    detail: str
