"""Markers in plain words: names, values with units, normal ranges and return criteria.

The one place that turns the engine's evidence keys (``ln_rmssd_7d``, ``acwr_ewma``,
``energy_z``…) into what an athlete reads, so the Today page, the plan change's "why"
and any other view say the same thing. Pure functions, no I/O.

Units: HRV is stored as ln rMSSD (natural log of rMSSD in ms) and shown as rMSSD in ms
(``exp``; the band maps monotonically); check-in markers are z-scores against the athlete's
own baseline (Saw 2016; AthleteMonitoring z bands) and are shown in words, not numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["MarkerWords", "criterion_text", "describe", "label", "z_words"]


@dataclass(frozen=True, slots=True)
class _Spec:
    label: str
    kind: str  #: hrv (ln ms) | pct | pct_change | bpm | h | z | au | ratio
    group: str  #: body | feel | performance | load


SPECS: dict[str, _Spec] = {
    "ln_rmssd_7d": _Spec("HRV, 7-day average", "hrv", "body"),
    "ln_rmssd": _Spec("HRV this morning", "hrv", "body"),
    "hrv": _Spec("HRV", "hrv", "body"),
    "cv_ln_rmssd_7d": _Spec("HRV day-to-day swings", "pct", "body"),
    "rhr_7d": _Spec("Resting heart rate, 7-day", "bpm", "body"),
    "rhr": _Spec("Resting heart rate", "bpm", "body"),
    "rhr_bpm": _Spec("Resting heart rate", "bpm", "body"),
    "sleep_h_7d": _Spec("Sleep, 7-day average", "h", "body"),
    "sleep_h": _Spec("Sleep", "h", "body"),
    "wellness_z": _Spec("How you feel (check-in)", "z", "feel"),
    "energy_z": _Spec("Energy", "z", "feel"),
    "mood_z": _Spec("Mood", "z", "feel"),
    "motivation_z": _Spec("Motivation", "z", "feel"),
    "soreness_z": _Spec("Muscle soreness", "z", "feel"),
    "sleep_quality_z": _Spec("Sleep quality", "z", "feel"),
    "stress_z": _Spec("Stress", "z", "feel"),
    "ef_change_pct": _Spec("Efficiency (output per heartbeat)", "pct_change", "performance"),
    "perf_at_hr_change_pct": _Spec("Pace or power at a given heart rate", "pct_change", "performance"),
    "srpe_per_external_change_pct": _Spec("Effort felt per unit of work", "pct_change", "performance"),
    "decoupling_pct": _Spec("Heart-rate drift in long sessions", "pct", "performance"),
    "tsb": _Spec("Form (TSB)", "au", "load"),
    "acwr_ewma": _Spec("Load spike (7-day vs 28-day load)", "ratio", "load"),
    "acwr": _Spec("Load spike (7-day vs 28-day load)", "ratio", "load"),
}
#: Names of criteria markers that are not evidence keys.
OTHER_LABELS: dict[str, str] = {
    "illness": "Illness", "medical": "Medical check", "performance": "Performance", "wellness": "How you feel",
    "load": "Training load",
}


def label(key: str) -> str:
    """The plain name of a marker (never the internal key)."""
    spec = SPECS.get(key)
    if spec is not None:
        return spec.label
    return OTHER_LABELS.get(key, key.replace("_z", "").replace("_", " ").capitalize())


def group(key: str) -> str:
    spec = SPECS.get(key)
    return spec.group if spec is not None else "body"


def _finite(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def z_words(z: float) -> str:
    """A check-in z-score (0 = your usual, 1 = one SD better) in words."""
    if z >= 1.0:
        return "better than usual"
    if z >= 0.5:
        return "a bit better than usual"
    if z > -0.5:
        return "as usual"
    if z > -1.0:
        return "a bit worse than usual"
    if z > -2.0:
        return "worse than usual"
    return "much worse than usual"


def _show(kind: str, v: float) -> str:
    """A value in the display unit (without the unit)."""
    if kind == "hrv":
        return f"{math.exp(v):.0f}"
    if kind in ("bpm", "au", "pct_change"):
        return f"{v:+.0f}" if kind == "pct_change" else f"{v:.0f}"
    if kind in ("pct", "h"):
        return f"{v:.1f}"
    if kind == "ratio":
        return f"{v:.2f}"
    return f"{v:.1f}"


_UNITS = {"hrv": " ms", "bpm": " bpm", "h": " h", "pct": " %", "pct_change": " %", "au": "", "ratio": ""}


@dataclass(frozen=True, slots=True)
class MarkerWords:
    """One marker as text: ``value`` ("61 ms"), ``normal`` ("normal 57–64 ms", "normal above 53 ms")
    and ``status`` ("in range", "below normal", "above normal", "no reading")."""

    label: str
    value: str
    normal: str
    status: str
    out: bool


def describe(key: str, value: Any, low: Any, high: Any) -> MarkerWords:
    """The marker ``key`` with its ``value`` and normal range (either bound may be missing)."""
    spec = SPECS.get(key, _Spec(label(key), "plain", "body"))
    v, lo, hi = _finite(value), _finite(low), _finite(high)
    unit = _UNITS.get(spec.kind, "")
    below = v is not None and lo is not None and v < lo
    above = v is not None and hi is not None and v > hi
    status = "no reading" if v is None else ("below normal" if below else "above normal" if above else "in range")
    if spec.kind == "z":
        value_text = "no answer" if v is None else z_words(v)
        if lo is not None and hi is None:
            normal = "normal: not clearly worse than usual"
        elif hi is not None and lo is None:
            normal = "normal: not clearly better than usual"
        else:
            normal = "normal: near your usual"
        if below:
            status = "out of range"
        return MarkerWords(spec.label, value_text, normal, status, below or above)
    value_text = "no reading" if v is None else _show(spec.kind, v) + unit
    if lo is not None and hi is not None:
        normal = f"normal {_show(spec.kind, lo)}–{_show(spec.kind, hi)}{unit}"
    elif lo is not None:
        normal = f"normal above {_show(spec.kind, lo)}{unit}"
    elif hi is not None:
        normal = f"normal below {_show(spec.kind, hi)}{unit}"
    else:
        normal = ""
    return MarkerWords(spec.label, value_text, normal, status, below or above)


def criterion_text(criterion: dict[str, Any], evidence: dict[str, Any] | None = None) -> str:
    """A return criterion (``{marker, criterion, days}``) in plain words, with the athlete's own
    numbers from ``evidence`` where it has them (no z-scores, no internal names)."""
    marker = str(criterion.get("marker") or "")
    ev = (evidence or {}).get(marker)
    ev = ev if isinstance(ev, dict) else {}
    lo, hi = _finite(ev.get("low")), _finite(ev.get("high"))
    days = criterion.get("days")
    n = int(days) if isinstance(days, int | float) and not isinstance(days, bool) and days > 0 else 0
    if marker == "ln_rmssd_7d":
        rng = f" ({math.exp(lo):.0f}–{math.exp(hi):.0f} ms)" if lo is not None and hi is not None else ""
        text = f"your 7-day HRV average is back inside your normal range{rng}"
    elif marker == "ln_rmssd":
        text = (f"your morning HRV is above {math.exp(lo):.0f} ms" if lo is not None
                else "your morning HRV is back near your usual")
    elif marker == "rhr_7d":
        text = (f"your 7-day resting heart rate is below {hi:.0f} bpm" if hi is not None
                else "your 7-day resting heart rate is back near your usual")
    elif marker == "wellness_z":
        crit = str(criterion.get("criterion") or "")
        text = ("your energy and soreness are back near your usual" if "energy" in crit
                else "your check-in answers are back near your usual")
    elif marker == "illness":
        text = "you are symptom-free (no illness, no fever)"
    elif marker == "performance":
        text = "your pace or power at a given heart rate is back to normal"
    elif marker == "medical":
        return "a doctor has cleared you to train"
    else:
        text = f"{label(marker).lower()}: {criterion.get('criterion', '')}".strip(": ")
    if n == 1:
        return text[0].upper() + text[1:] + " (1 day)"
    if n > 1:
        return text[0].upper() + text[1:] + f", {n} days in a row"
    return text[0].upper() + text[1:]
