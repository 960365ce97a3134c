"""Chart layout for the Trends, activity and plan pages (data from the services, layout here).

A chart is a *spec* (title, one-line caption, height, axes, series with colours, rows for the
row charts) plus *data* (the x values and the named series). ``static/charts.js`` draws a spec
over its data with the vendored uPlot; the page also renders a small table of the latest
values of each chart on the server, so the numbers read without JavaScript and by screen readers.

The services return data only: :func:`lydiard.services.trends.trends_series` for the Trends
stack (stored per athlete), ``ActivityDetail.streams`` for an activity and the planning
service's forecast for the plan page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

from lydiard.services.activities import ActivityDetail
from lydiard.services.readiness import STAGE_TITLES

Spec = dict[str, Any]

KM_PER_MI = 1.609344
FT_PER_M = 3.280839895
#: Slower than this (m/s, 16:40 min/km) a run's pace is not drawn (standing still, not a pace).
MIN_PACE_SPEED_MPS = 1.0

#: Stage colours (rows of the stage timeline), in order of severity.
STAGE_COLOURS: dict[str, str] = {
    "calibrating": "#9aa5ab",
    "normal": "#2e7d32",
    "surface_fatigue": "#e0a100",
    "deep_fatigue": "#d1495b",
    "overreaching_suspected": "#8e1b3a",
    "overtraining_suspected": "#4a0d20",
}
#: Stage row labels on the chart's axis: (desktop, phone); the full names are in the table.
STAGE_AXIS: dict[str, tuple[str, str]] = {
    "calibrating": ("Calibrating", "Calibr."), "normal": ("Normal", "Normal"),
    "surface_fatigue": ("Surface fatigue", "Surface"), "deep_fatigue": ("Deep fatigue", "Deep"),
    "overreaching_suspected": ("Overreaching?", "Overreach"), "overtraining_suspected": ("Overtraining?", "Overtrain"),
}
#: Check-in rows: full label (table), desktop axis label, phone axis label.
CHECKIN_LABELS: dict[str, tuple[str, str, str]] = {
    "energy": ("Energy", "Energy", "Energy"), "mood": ("Mood", "Mood", "Mood"),
    "motivation": ("Motivation", "Motivation", "Motiv."), "soreness": ("Soreness (5 = none)", "Soreness", "Sore"),
    "sleep_quality": ("Sleep quality", "Sleep quality", "Sleep q."), "stress": ("Stress (5 = relaxed)", "Stress", "Stress"),
}
#: Days in each Trends chart's table of latest values.
TABLE_DAYS = 14


def _line(src: str, label: str, colour: str, *, axis: str = "y", width: float = 2.0, dash: bool = False,
          style: str = "line", planned: bool = False, digits: int = 1) -> dict[str, Any]:
    return {"src": src, "label": label, "colour": colour, "axis": axis, "width": width, "dash": dash,
            "style": style, "planned": planned, "digits": digits}


def trends_specs() -> list[Spec]:
    """The Trends stack, top to bottom (every chart shares one date axis and one crosshair)."""
    return [
        {"key": "pmc", "title": "Fitness, fatigue and form", "height": 300, "x": "date",
         "caption": "Fitness (CTL) is your 42-day load, fatigue (ATL) your 7-day load; form (TSB) = fitness − "
                    "fatigue: below −30 is heavy, above +5 is fresh. Dotted: as planned. Bars: daily load.",
         "axes": [{"id": "y", "label": "CTL / ATL / TSB", "side": "left"},
                  {"id": "y2", "label": "load (AU)", "side": "right"}],
         "series": [
             _line("load_au", "Daily load", "#9fb4c2", axis="y2", style="bars", digits=0),
             _line("ctl", "Fitness (CTL)", "#1f6f8b"), _line("atl", "Fatigue (ATL)", "#d1495b", width=1.5),
             _line("tsb", "Form (TSB)", "#b26a00", width=1.5),
             _line("ctl", "Planned fitness", "#1f6f8b", dash=True, planned=True, width=1.5),
             _line("atl", "Planned fatigue", "#d1495b", dash=True, planned=True, width=1.5),
             _line("tsb", "Planned form", "#b26a00", dash=True, planned=True, width=1.5),
         ]},
        {"key": "hrv", "title": "HRV: ln rMSSD, 7-day mean and normal range", "height": 220, "x": "date",
         "caption": "Dots are morning readings, the line their 7-day mean; the green band is your normal range "
                    "(60-day mean ± 0.5 SD). A 7-day mean below the band for several days means strain.",
         "axes": [{"id": "y", "label": "ln rMSSD", "side": "left"}],
         "band": {"low": "ln_rmssd_low", "high": "ln_rmssd_high", "colour": "rgba(46,125,50,0.16)",
                  "label": "Normal range"},
         "series": [_line("ln_rmssd", "Morning ln rMSSD", "#7a8a94", style="points", digits=2),
                    _line("ln_rmssd_7d", "7-day mean", "#1f6f8b", width=2.5, digits=2)]},
        {"key": "rhr", "title": "Resting heart rate", "height": 200, "x": "date",
         "caption": "Dots are morning readings, the line the 7-day mean, dashed your baseline; "
                    "a 7-day mean well above the baseline means fatigue or illness.",
         "axes": [{"id": "y", "label": "bpm", "side": "left"}],
         "series": [_line("rhr_bpm", "Resting HR", "#7a8a94", style="points", digits=0),
                    _line("rhr_7d", "7-day mean", "#d1495b", digits=1),
                    _line("rhr_base", "Baseline", "#555555", width=1, dash=True, digits=1)]},
        {"key": "sleep", "title": "Sleep", "height": 180, "x": "date",
         "caption": "Hours slept each night; a run of short nights lowers readiness.",
         "axes": [{"id": "y", "label": "hours", "side": "left"}],
         "series": [_line("sleep_h", "Sleep (h)", "#6c63a8", style="bars", digits=1)]},
        {"key": "checkin", "title": "Check-ins", "height": 190, "x": "date", "kind": "rows",
         "caption": "One row per question, one cell per day: green = good (5), amber = middling (3), "
                    "red = poor (1); blank = not answered.",
         "rows": [{"src": k, "label": full, "mid": mid, "short": short}
                  for k, (full, mid, short) in CHECKIN_LABELS.items()],
         "scale": {"min": 1, "max": 5, "colours": ["#b3261e", "#e0a100", "#2e7d32"]}},
        {"key": "stages", "title": "Fatigue stage", "height": 190, "x": "date", "kind": "rows",
         "caption": "The fatigue stage Lydiard gave each day, one row per stage from calibrating (top) to "
                    "overtraining suspected (bottom).",
         "rows": [{"code": code, "label": title, "mid": STAGE_AXIS[code][0], "short": STAGE_AXIS[code][1],
                   "colour": STAGE_COLOURS[code]}
                  for code, title in STAGE_TITLES.items()]},
        {"key": "monotony", "title": "Monotony and strain", "height": 200, "x": "date",
         "caption": "Monotony = 7-day mean load ÷ its SD (above 2 means too little variation); "
                    "strain = weekly load × monotony (Foster 1998).",
         "axes": [{"id": "y", "label": "monotony", "side": "left"},
                  {"id": "y2", "label": "strain", "side": "right"}],
         "series": [_line("monotony", "Monotony", "#1f6f8b", digits=2),
                    _line("strain", "Strain", "#b26a00", axis="y2", digits=0)]},
    ]


def _fmt(v: Any, digits: int) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{float(v):.{digits}f}"


def trends_tables(doc: dict[str, Any], specs: Sequence[Spec], *, days: int = TABLE_DAYS) -> dict[str, Any]:
    """Per chart, the last ``days`` days as a table ``{"columns": [...], "rows": [[day, ...], ...]}``.

    A text alternative to each chart (shown without JavaScript too); a chart with no data gets
    no entry.
    """
    all_days: list[str] = list(doc.get("days") or [])
    series: dict[str, list[Any]] = doc.get("series") or {}
    stages: list[Any] = list(doc.get("stages") or [])
    n = len(all_days)
    idx = list(range(max(0, n - days), n))[::-1]
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.get("kind") == "rows" and spec["key"] == "stages":
            if not any(s is not None for s in stages):
                continue
            titles = {r["code"]: r["label"] for r in spec["rows"]}
            out[spec["key"]] = {"columns": ["Stage"],
                                "rows": [[all_days[i], titles.get(stages[i], "–")] for i in idx]}
            continue
        if spec.get("kind") == "rows":
            rows_spec = [r for r in spec["rows"] if r["src"] in series]
            if not rows_spec:
                continue
            out[spec["key"]] = {"columns": [r["label"] for r in rows_spec],
                                "rows": [[all_days[i], *(_fmt(series[r["src"]][i], 0) for r in rows_spec)]
                                         for i in idx]}
            continue
        cols = [s for s in spec["series"] if not s["planned"] and s["src"] in series]
        if not cols:
            continue
        out[spec["key"]] = {"columns": [s["label"] for s in cols],
                            "rows": [[all_days[i], *(_fmt(series[s["src"]][i], s["digits"]) for s in cols)]
                                     for i in idx]}
    return out


# ----------------------------------------------------------------------------- activities

def is_run(sport: str | None) -> bool:
    return (sport or "").lower() in {"run", "running", "trail_run", "treadmill"}


def _clean(values: Sequence[Any] | None) -> list[float | None]:
    out: list[float | None] = []
    for v in values or ():
        if v is None:
            out.append(None)
            continue
        f = float(v)
        out.append(f if math.isfinite(f) else None)
    return out


def stream_means(detail: ActivityDetail) -> dict[str, float]:
    """Mean and maximum heart rate and power from the streams (for files without a summary)."""
    out: dict[str, float] = {}
    for key, name in (("hr_bpm", "hr"), ("power_w", "power")):
        values = [v for v in _clean(detail.streams.get(key)) if v is not None and v > 0]
        if values:
            out[f"avg_{name}"] = sum(values) / len(values)
            out[f"max_{name}"] = max(values)
    return out


def activity_charts(detail: ActivityDetail, units: str) -> tuple[list[Spec], dict[str, Any]]:
    """The activity's streams stacked on one time axis (minutes): specs and data.

    Runs show pace (min/km or min/mi, faster up) instead of speed; other sports speed.
    """
    st = detail.streams
    t = _clean(st.get("elapsed_s"))
    if not t:
        return [], {}
    imperial = units == "imperial"
    data: dict[str, Any] = {"x": [None if v is None else round(v / 60.0, 3) for v in t], "series": {}}
    specs: list[Spec] = []
    run = is_run(detail.summary.sport)

    def add(key: str, title: str, unit: str, colour: str, values: list[float | None], *, digits: int,
            caption: str, fmt: str = "num", fill: bool = False, invert: bool = False) -> None:
        if not any(v is not None for v in values):
            return
        data["series"][key] = values
        specs.append({"key": key, "title": title, "height": 160, "x": "minutes", "caption": caption,
                      "invert": invert, "fill": fill,
                      "axes": [{"id": "y", "label": unit, "side": "left", "fmt": fmt}],
                      "series": [dict(_line(key, title, colour, digits=digits), fmt=fmt)]})

    hr = _clean(st.get("hr_bpm"))
    add("hr_bpm", "Heart rate", "bpm", "#d1495b", hr, digits=0,
        caption="Heart rate through the session; drift up at a steady pace means fatigue or heat.")
    speed = _clean(st.get("speed_mps"))
    per = 1000.0 * (KM_PER_MI if imperial else 1.0)
    if run:
        pace = [None if v is None or v < MIN_PACE_SPEED_MPS else round(per / v / 60.0, 4) for v in speed]
        add("pace", "Pace", "min/mi" if imperial else "min/km", "#1f6f8b", pace, digits=2, fmt="pace", invert=True,
            caption=f"Minutes per {'mile' if imperial else 'kilometre'} (faster is higher; standing still is a gap).")
    else:
        factor = 3.6 / (KM_PER_MI if imperial else 1.0)
        add("speed", "Speed", "mph" if imperial else "km/h", "#1f6f8b",
            [None if v is None else round(v * factor, 2) for v in speed], digits=1,
            caption="Speed through the session.")
    add("power_w", "Power", "W", "#6c63a8", _clean(st.get("power_w")), digits=0,
        caption="Power through the session (watts).")
    alt = _clean(st.get("altitude_m"))
    add("altitude", "Altitude", "ft" if imperial else "m", "#7a8a94",
        [None if v is None else round(v * (FT_PER_M if imperial else 1.0), 1) for v in alt], digits=0, fill=True,
        caption="Altitude above sea level.")
    return specs, data


def activity_table(specs: Sequence[Spec], data: dict[str, Any], *, step_min: float = 5.0) -> dict[str, Any]:
    """The streams every ``step_min`` minutes (the mean of each step): the charts' text alternative."""
    x: list[float | None] = data.get("x") or []
    if not specs or not x:
        return {}
    buckets: dict[int, list[int]] = {}
    for i, v in enumerate(x):
        if v is not None:
            buckets.setdefault(int(v // step_min), []).append(i)
    rows = []
    for b in sorted(buckets):
        row: list[str] = [f"{int(b * step_min)}–{int((b + 1) * step_min)}"]
        for spec in specs:
            values = [data["series"][spec["key"]][i] for i in buckets[b]]
            vals = [v for v in values if v is not None]
            mean = sum(vals) / len(vals) if vals else None
            row.append(fmt_pace_min(mean) if spec["series"][0].get("fmt") == "pace"
                       else _fmt(mean, spec["series"][0]["digits"]))
        rows.append(row)
    return {"columns": [f"{s['title']} ({s['axes'][0]['label']})" for s in specs], "rows": rows}


def fmt_pace_min(minutes: float | None) -> str:
    """Decimal minutes per km (or mile) as ``m:ss``."""
    if minutes is None or not math.isfinite(minutes):
        return "–"
    total = round(minutes * 60)
    return f"{total // 60}:{total % 60:02d}"


def track_svg(detail: ActivityDetail, *, size: float = 1000.0, max_points: int = 1500) -> dict[str, Any] | None:
    """The GPS track as an SVG polyline (no map tiles, no script): ``{"points", "width", "height"}``.

    Longitude is scaled by cos(mean latitude) so the shape is true; north is up. None without
    at least two positions.
    """
    lat, lon = _clean(detail.streams.get("lat_deg")), _clean(detail.streams.get("lon_deg"))
    pairs = [(a, b) for a, b in zip(lat, lon, strict=False) if a is not None and b is not None]
    if len(pairs) < 2:
        return None
    step = max(1, len(pairs) // max_points)
    pairs = pairs[::step]
    mid = sum(a for a, _ in pairs) / len(pairs)
    k = max(0.05, math.cos(math.radians(mid)))
    xs, ys = [b * k for _, b in pairs], [a for a, _ in pairs]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    span = max(x1 - x0, y1 - y0) or 1e-9
    scale = size / span
    width, height = max(1.0, (x1 - x0) * scale), max(1.0, (y1 - y0) * scale)
    points = " ".join(f"{(x - x0) * scale:.1f},{(y1 - y) * scale:.1f}" for x, y in zip(xs, ys, strict=True))
    return {"points": points, "width": round(width, 1), "height": round(height, 1)}


def zone_rows(detail: ActivityDetail) -> dict[str, list[tuple[str, float]]]:
    """Time in each zone, per zone system found in the session metrics: {"Heart rate": [("Z1", s)...]}."""
    details = (detail.metrics or {}).get("details") or {}
    out: dict[str, list[tuple[str, float]]] = {}
    for key, label in (("time_in_hr_zones_s", "Heart rate"), ("time_in_power_zones_s", "Power")):
        values = details.get(key)
        if isinstance(values, list | tuple) and values and any((v or 0) > 0 for v in values):
            out[label] = [(f"Z{i + 1}", float(v or 0.0)) for i, v in enumerate(values)]
    return out


# ----------------------------------------------------------------------------- plan forecast

def forecast_chart(series: dict[str, list[Any]], *, performance_unit: str | None,
                   marks: Sequence[tuple[date | None, str, str]] = ()) -> tuple[Spec, dict[str, Any]]:
    """The plan forecast: CTL/ATL/TSB as planned (solid) and adapted (dashed), goal and best-form days."""
    days = [d.isoformat() if isinstance(d, date) else str(d) for d in series["days"]]
    data: dict[str, Any] = {"days": days, "series": {}}
    lines = []
    for key, label, colour in (("ctl", "Fitness (CTL)", "#1f6f8b"), ("atl", "Fatigue (ATL)", "#d1495b"),
                               ("tsb", "Form (TSB)", "#b26a00")):
        if f"{key}_planned" in series:
            data["series"][f"{key}_planned"] = _clean(series[f"{key}_planned"])
            lines.append(_line(f"{key}_planned", f"{label}, as planned", colour))
        if f"{key}_adapted" in series:
            data["series"][f"{key}_adapted"] = _clean(series[f"{key}_adapted"])
            lines.append(_line(f"{key}_adapted", f"{label}, adapted", colour, dash=True, width=1.5))
    axes = [{"id": "y", "label": "CTL / ATL / TSB", "side": "left"}]
    if "performance_planned" in series:
        data["series"]["performance_planned"] = _clean(series["performance_planned"])
        lines.append(_line("performance_planned", f"Predicted performance ({performance_unit or ''})", "#6c63a8",
                           axis="y2", digits=2))
        axes.append({"id": "y2", "label": performance_unit or "", "side": "right"})
    spec: Spec = {"key": "forecast", "title": "Forecast: as planned vs adapted", "height": 280, "x": "date",
                  "caption": "Solid lines follow the plan as written, dashed lines the plan adapted to your "
                             "fatigue; vertical lines mark the goal day and the day of best form.",
                  "axes": axes, "series": lines,
                  "marks": [{"day": d.isoformat(), "label": label, "colour": colour}
                            for d, label, colour in marks if d is not None]}
    return spec, data


def forecast_table(spec: Spec, data: dict[str, Any], *, every_days: int = 7) -> dict[str, Any]:
    """The forecast chart's numbers every ``every_days`` days (and on its last day): its text alternative."""
    days: list[str] = data.get("days") or []
    if not days:
        return {}
    idx = sorted({*range(0, len(days), every_days), len(days) - 1})
    cols = [s for s in spec["series"] if s["src"] in data["series"]]
    return {"columns": [s["label"] for s in cols],
            "rows": [[days[i], *(_fmt(data["series"][s["src"]][i], s["digits"]) for s in cols)] for i in idx]}


__all__ = [
    "CHECKIN_LABELS",
    "STAGE_COLOURS",
    "activity_charts",
    "activity_table",
    "forecast_chart",
    "forecast_table",
    "is_run",
    "stream_means",
    "track_svg",
    "trends_specs",
    "trends_tables",
    "zone_rows",
]
