"""Training recommendations: a concrete prescription per athlete-day, with return criteria.

:func:`recommend_matrix` is vectorised (codes and numbers only, for the batch);
:func:`recommendation_for` turns one day's code and numbers into the structured
recommendation shown to the athlete (code, text, days, volume cut, return criteria).

Precedence: an illness flag overrides everything (rest until symptom-free, or see a
doctor when it lasts or recurs); then the fatigue stage; a recent race or an injury flag
raises ``train_as_planned`` to at least ``swap_easy``.

=====  ===================  ==================================================================
code   name                 prescription (science.md §3)
=====  ===================  ==================================================================
  0    train_as_planned     train as planned; a good day for the key session
  1    swap_easy            swap today's intensity for easy or rest; re-check tomorrow
                            (Kiviniemi 2007)
  2    back_off             N days low intensity, volume down X % (science.md §3 stage 2:
                            cut volume 30-50 % for 3-7 days)
  3    lighter_weeks        ≥ 2 lighter weeks (NFOR suspected); check illness, sleep,
                            energy intake, iron
  4    active_recovery      ≥ 2 weeks of active recovery only (NFOR with severe wellness loss)
  5    stop_see_doctor      stop structured training; see a doctor (OTS suspected, illness
                            lasting > 7 days or recurring); Meeusen 2013
  6    rest                 rest: illness reported; return when symptom-free
=====  ===================  ==================================================================
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import numpy as np

from lydiard.domain.recovery.baselines import BaselineConfig, BoolArray, FloatArray, IntArray

__all__ = ["REC_CODES", "Reason", "Rec", "recommend_matrix", "recommendation_for"]


class Rec(IntEnum):
    """Recommendation codes."""

    TRAIN_AS_PLANNED = 0
    SWAP_EASY = 1
    BACK_OFF = 2
    LIGHTER_WEEKS = 3
    ACTIVE_RECOVERY = 4
    STOP_SEE_DOCTOR = 5
    REST = 6


class Reason(IntEnum):
    """What drove the recommendation (named in its text)."""

    STAGE = 0
    ILLNESS = 1
    INJURY = 2
    RACE = 3  #: the expected post-race crash
    TRAVEL = 4  #: travel / jet lag, not training fatigue
    LIFE_STRESS = 5  #: the stress item drives a low check-in with training unchanged
    RETURN = 6  #: graded return after a fatigue episode
    ILLNESS_RETURN = 7  #: graded return after illness
    MARKERS = 8  #: stage normal, but a marker is outside its range: no key session


#: Public recommendation names by code.
REC_CODES: dict[int, str] = {int(r): r.name.lower() for r in Rec}


def _since_last(flag: BoolArray) -> IntArray:
    """Days since the last day the flag was set (day ``d`` itself = 0; −1 = never)."""
    idx = np.arange(flag.shape[1])
    last = np.maximum.accumulate(np.where(flag, idx, -1), axis=1)
    out: IntArray = np.where(last >= 0, idx - last, -1)
    return out


def recommend_matrix(
    stage: Any,
    *,
    illness: BoolArray,
    injury: BoolArray,
    surface_run: IntArray,
    support_count: Any,
    hrv_below_run: IntArray,
    wellness_z_7d: FloatArray,
    illness_episodes_90d: IntArray,
    episode_day: IntArray,
    in_range: BoolArray,
    since_race: IntArray,
    race_window: IntArray,
    travel_recent: BoolArray,
    life_stress: BoolArray,
    since_episode_end: IntArray,
    last_episode_days: IntArray,
    config: BaselineConfig,
) -> dict[str, Any]:
    """Vectorised recommendation codes, days and volume cuts for (athletes × days).

    Deep fatigue gives lighter weeks scaled by severity (supporting markers) and by how
    long the episode has lasted (one more week per two weeks in it, up to four); after an
    episode or an illness the return is graded; a post-race window, recent travel and a
    check-in driven by life stress are named as the reason.

    Returns
    -------
    dict
        ``rec_code`` (int8, :class:`Rec`), ``rec_days`` (int16: days the prescription
        lasts, from today), ``rec_volume_pct`` (int16: volume reduction, %),
        ``rec_reason`` (int8, :class:`Reason`).
    """
    shape = np.shape(stage)
    code = np.zeros(shape, dtype=np.int8)
    days = np.zeros(shape, dtype=np.int16)
    vol = np.zeros(shape, dtype=np.int16)
    reason = np.zeros(shape, dtype=np.int8)

    s0 = stage == 0
    reason[s0 & ~in_range] = Reason.MARKERS

    s1 = stage == 1
    repeat = s1 & (surface_run >= config.surface_repeat_days)
    code[s1] = Rec.SWAP_EASY
    days[s1] = 1
    code[repeat] = Rec.BACK_OFF
    days[repeat] = 3
    vol[repeat] = 20

    s2 = stage == 2
    severe = (np.asarray(support_count) >= 2) | (hrv_below_run >= config.deep_alone_run_days)
    weeks = np.minimum(1 + severe.astype(np.int16) + np.maximum(episode_day - 1, 0) // 14, 4)
    code[s2] = Rec.BACK_OFF
    days[s2] = (7 * weeks)[s2]
    vol[s2] = np.where(severe[s2], 50, 30)

    s3 = stage == 3
    with np.errstate(invalid="ignore"):
        very_low = s3 & (wellness_z_7d <= config.wellness_red_z)
    code[s3] = Rec.LIGHTER_WEEKS
    days[s3] = 14
    vol[s3] = 40
    code[very_low] = Rec.ACTIVE_RECOVERY
    vol[very_low] = 60

    s4 = stage == 4
    code[s4] = Rec.STOP_SEE_DOCTOR
    days[s4] = 28
    vol[s4] = 100

    # graded return after an episode: a third of the episode's length, 3-7 days
    graded = np.clip(last_episode_days // 3, 3, 7)
    ret = (since_episode_end >= 0) & (since_episode_end < graded) & (stage <= 1)
    code[ret] = Rec.SWAP_EASY
    days[ret] = (graded - since_episode_end)[ret].astype(np.int16)
    vol[ret] = 20
    reason[ret] = Reason.RETURN

    # the expected post-race crash (the window: the athlete's own history or the load rule)
    in_race = (since_race >= 1) & (since_race <= race_window) & (stage <= 1)
    code[in_race] = Rec.SWAP_EASY
    days[in_race] = (race_window - since_race + 1)[in_race].astype(np.int16)
    vol[in_race] = 0
    reason[in_race] = Reason.RACE

    # travel: jet lag and travel days lower HRV and sleep; not read as training fatigue
    trav = travel_recent & (stage <= 1) & ~in_race
    code[trav] = np.where(stage[trav] == 1, Rec.SWAP_EASY, code[trav])
    days[trav] = np.maximum(days[trav], 1)
    reason[trav] = np.where(
        (stage[trav] == 1) | (code[trav] == Rec.TRAIN_AS_PLANNED), Reason.TRAVEL, reason[trav]
    )

    # life stress named when it drives the call (training unchanged, HRV not the driver)
    stress = life_stress & (stage >= 1) & (stage <= 3) & (reason == Reason.STAGE)
    reason[stress] = Reason.LIFE_STRESS

    inj = injury & (code == Rec.TRAIN_AS_PLANNED)
    code[inj] = Rec.SWAP_EASY
    days[inj] = 1
    reason[inj] = Reason.INJURY

    # illness overrides everything; then a graded return as long as the illness (≤ 7 d)
    since_ill = _since_last(illness)
    resting = (since_ill >= 0) & (since_ill < config.illness_symptom_free_days)
    ill_run = np.zeros(shape, dtype=np.int64)
    last_len = np.zeros(shape, dtype=np.int64)
    if shape[1]:
        ill_idx = np.arange(shape[1])
        last_well = np.maximum.accumulate(np.where(~illness, ill_idx, -1), axis=1)
        ill_run = np.where(illness, ill_idx - last_well, 0)
        last_ill = np.maximum.accumulate(np.where(illness, ill_idx, -1), axis=1)
        rows = np.arange(shape[0])[:, np.newaxis]
        last_len = np.where(last_ill >= 0, ill_run[rows, np.maximum(last_ill, 0)], 0)
    long_ill = resting & (
        (ill_run >= config.illness_long_days)
        | (illness_episodes_90d >= config.ots_illness_episodes)
    )
    ret_days = np.minimum(last_len, 7)
    ill_ret = (
        (since_ill >= config.illness_symptom_free_days)
        & (since_ill < config.illness_symptom_free_days + ret_days)
        & (code <= Rec.SWAP_EASY)
    )
    code[ill_ret] = Rec.SWAP_EASY
    days[ill_ret] = (config.illness_symptom_free_days + ret_days - since_ill)[ill_ret].astype(
        np.int16
    )
    vol[ill_ret] = 30
    reason[ill_ret] = Reason.ILLNESS_RETURN
    code[resting] = Rec.REST
    days[resting] = (config.illness_symptom_free_days - since_ill)[resting].astype(np.int16)
    vol[resting] = 100
    code[long_ill] = Rec.STOP_SEE_DOCTOR
    reason[resting] = Reason.ILLNESS
    # overtraining suspected on recurrent illness: the reason says so
    reason[s4 & ~resting & (illness_episodes_90d >= config.ots_illness_episodes)] = Reason.ILLNESS
    return {"rec_code": code, "rec_days": days, "rec_volume_pct": vol, "rec_reason": reason}


def _criteria(code: Rec, config: BaselineConfig) -> list[dict[str, Any]]:
    band = {
        "marker": "ln_rmssd_7d",
        "criterion": "7-day mean ln rMSSD back inside the personal normal band",
        "days": 2,
    }
    rhr = {
        "marker": "rhr_7d",
        "criterion": f"7-day resting HR below baseline + {config.rhr_high_bpm:g} bpm",
        "days": 3,
    }
    well = {
        "marker": "wellness_z",
        "criterion": f"wellness composite z above {config.wellness_low_z:g}",
        "days": 3,
    }
    if code is Rec.TRAIN_AS_PLANNED:
        return []
    if code is Rec.SWAP_EASY:
        return [
            {
                "marker": "ln_rmssd",
                "criterion": "tomorrow's ln rMSSD above baseline mean − 1 SD",
                "days": 1,
            },
            {"marker": "wellness_z", "criterion": "energy and soreness z above −1", "days": 1},
        ]
    if code is Rec.BACK_OFF:
        return [band, rhr, well]
    if code in (Rec.LIGHTER_WEEKS, Rec.ACTIVE_RECOVERY):
        return [
            {**band, "days": 7},
            {**rhr, "days": 7},
            {**well, "days": 7},
            {"marker": "performance", "criterion": "output at a given HR back to baseline",
             "days": 1},
        ]
    if code is Rec.REST:
        return [
            {
                "marker": "illness",
                "criterion": "symptom-free (no illness flag, no fever)",
                "days": config.illness_symptom_free_days,
            },
            {**rhr, "days": 2},
        ]
    return [
        {"marker": "medical", "criterion": "cleared by a physician", "days": 1},
        {**band, "days": 14},
        {**well, "days": 14},
    ]


def recommendation_for(
    code: int,
    *,
    days: int,
    volume_pct: int,
    reason: int = 0,
    config: BaselineConfig | None = None,
    facts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The structured recommendation for one day.

    ``facts`` (optional, from the day's kernel outputs) lets the text state what actually
    happened: ``episode_day`` (days in the fatigue episode), ``reduced_days`` (days of it on
    reduced load), ``race_history`` (``(n, shortest, longest)`` post-race crashes on record),
    ``illness_episodes_90d``.

    Returns
    -------
    dict
        ``code`` (name), ``text``, ``days``, ``volume_pct``, ``reason`` and
        ``return_criteria`` (a list of ``{marker, criterion, days}``: what must be back in
        range, and for how many consecutive days, before returning to normal training).
    """
    cfg = config if config is not None else BaselineConfig()
    f = facts or {}
    rec = Rec(code)
    why = Reason(reason)
    ep_days = int(f.get("episode_day", 0) or 0)
    red_days = int(f.get("reduced_days", 0) or 0)
    stress_note = (
        " Training is not the only load this week: your stress rating has been well below "
        "your usual for days; ease what you can outside training too."
        if why is Reason.LIFE_STRESS
        else ""
    )
    if rec is Rec.TRAIN_AS_PLANNED and why is Reason.MARKERS:
        text = (
            "Train as planned, but keep the key session for another day: not every marker "
            "is back inside your normal range yet."
        )
    elif rec is Rec.TRAIN_AS_PLANNED and why is Reason.TRAVEL:
        text = (
            "Travel: your markers are in your normal range. Train as planned, but let jet lag "
            "and short nights decide the intensity; travel days are not read as training fatigue."
        )
    elif rec is Rec.TRAIN_AS_PLANNED:
        text = "Train as planned: markers are in your normal range, a good day for the key session."
    elif rec is Rec.SWAP_EASY and why is Reason.RACE:
        hist = f.get("race_history")
        if hist and int(hist[0]) >= 2:
            own = (
                f"your last {min(int(hist[0]), 3)} races were each followed by "
                f"{int(hist[1])}-{int(hist[2])} days of low markers"
            )
        else:
            own = "one day per 20 AU raced until two races are on record"
        text = (
            f"Race recovery: low markers after a race are expected, not a warning. Keep "
            f"training easy for {days} more day(s) ({own})."
        )
    elif rec is Rec.SWAP_EASY and why is Reason.TRAVEL:
        text = (
            "Travel: jet lag and travel days lower HRV and sleep; this is not read as "
            "training fatigue. Keep today easy and re-check tomorrow."
        )
    elif rec is Rec.SWAP_EASY and why is Reason.RETURN:
        text = (
            f"Graded return: your markers are back in range. Build back over {days} more "
            "day(s): easy and moderate sessions, volume down a little, no key session yet."
        )
    elif rec is Rec.SWAP_EASY and why is Reason.ILLNESS_RETURN:
        text = (
            f"Graded return after illness: {days} more day(s) of easy training, volume down "
            f"{volume_pct} %, before any hard session."
        )
    elif rec is Rec.SWAP_EASY and why is Reason.INJURY:
        text = "Injury reported: swap today's session for pain-free easy work or rest."
    elif rec is Rec.SWAP_EASY:
        text = "Swap today's intensity for an easy session or rest, and re-check tomorrow."
    elif rec is Rec.BACK_OFF and days > 3:
        weeks = max(1, round(days / 7))
        text = (
            f"Lighter week{'s' if weeks > 1 else ''}: {days} days of low intensity only, volume "
            f"down {volume_pct} %, until your markers are back in range."
        )
    elif rec is Rec.BACK_OFF:
        text = (
            f"Back off for {days} days: low intensity only, volume down {volume_pct} %, "
            "until your markers are back in range."
        )
    elif rec is Rec.LIGHTER_WEEKS:
        text = (
            f"Overreaching suspected: your markers have stayed outside their range for "
            f"{ep_days} days, {red_days} of them on reduced load. Take lighter weeks "
            f"({days} days, volume down {volume_pct} %, no hard sessions). Check for illness, "
            "sleep, energy intake and iron; see a doctor if there is no improvement."
        )
    elif rec is Rec.ACTIVE_RECOVERY:
        text = (
            f"Overreaching suspected, with very low wellness: markers outside their range for "
            f"{ep_days} days, {red_days} of them on reduced load. Active recovery only for "
            f"{days} days (easy movement, volume down {volume_pct} %). Check for illness, "
            "sleep, energy intake and iron; see a doctor if there is no improvement."
        )
    elif rec is Rec.REST:
        text = (
            "Rest: you reported illness. Return when symptom-free for "
            f"{cfg.illness_symptom_free_days} days, starting easy."
        )
    elif why is Reason.ILLNESS:
        n_ep = int(f.get("illness_episodes_90d", 0) or 0)
        text = (
            "Stop structured training and see a doctor: the illness is lasting or recurring"
            + (f" ({n_ep} episodes in 90 days)" if n_ep >= cfg.ots_illness_episodes else "")
            + ". Check sleep, energy intake and iron."
        )
    else:
        text = (
            f"Stop structured training: your markers have stayed outside their range for "
            f"{ep_days} days, {red_days} of them on reduced load, without recovering. "
            "Check for illness, sleep, energy intake and iron, and see a doctor."
        )
    text += stress_note
    return {
        "code": REC_CODES[int(rec)],
        "text": text,
        "days": int(days),
        "volume_pct": int(volume_pct),
        "reason": why.name.lower(),
        "return_criteria": _criteria(rec, cfg),
    }
