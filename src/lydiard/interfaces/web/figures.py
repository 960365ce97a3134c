"""Plotly figure specifications (plain dicts, serialised as JSON) for the Trends and activity pages.

Figures are built here as data, never as inline script: ``app.js`` passes each one to
``Plotly.newPlot``. Building dicts directly (not ``plotly.graph_objects``) keeps a page-data
request in the low milliseconds.
"""

from __future__ import annotations

import math
from typing import Any

from lydiard.services.activities import ActivityDetail
from lydiard.services.readiness import STAGE_TITLES
from lydiard.services.trends import TrendsData

Figure = dict[str, Any]

KM_PER_MI = 1.609344
FT_PER_M = 3.280839895

#: Stage colours (also used for the legend of the stage timeline).
STAGE_COLOURS: dict[str, str] = {
    "calibrating": "#9aa5ab",
    "normal": "#2e7d32",
    "surface_fatigue": "#e0a100",
    "deep_fatigue": "#d1495b",
    "overreaching_suspected": "#8e1b3a",
    "overtraining_suspected": "#4a0d20",
}
CHECKIN_LABELS: dict[str, str] = {
    "energy": "Energy", "mood": "Mood", "motivation": "Motivation", "soreness": "Soreness (5 = none)",
    "sleep_quality": "Sleep quality", "stress": "Stress (5 = relaxed)",
}

RANGE_SELECTOR: dict[str, Any] = {
    "buttons": [
        {"count": 1, "label": "1m", "step": "month", "stepmode": "backward"},
        {"count": 3, "label": "3m", "step": "month", "stepmode": "backward"},
        {"count": 6, "label": "6m", "step": "month", "stepmode": "backward"},
        {"count": 1, "label": "1y", "step": "year", "stepmode": "backward"},
        {"step": "all", "label": "all"},
    ],
}


def _xaxis(days: list[str], *, slider: bool = False, window_d: int = 180) -> dict[str, Any]:
    axis: dict[str, Any] = {"type": "date", "rangeselector": RANGE_SELECTOR}
    if days:
        start = days[max(0, len(days) - window_d)]
        axis["range"] = [start, days[-1]]
    if slider:
        axis["rangeslider"] = {"visible": True, "thickness": 0.08}
    return axis


def _has(values: list[float | None]) -> bool:
    return any(v is not None for v in values)


def _line(name: str, x: list[Any], y: list[Any], **extra: Any) -> dict[str, Any]:
    trace: dict[str, Any] = {"type": "scatter", "mode": "lines", "name": name, "x": x, "y": y,
                             "connectgaps": False}
    trace.update(extra)
    return trace


def trends_figures(data: TrendsData) -> dict[str, Figure]:
    """Every Trends chart that has data, keyed by the ``data-figure`` name of its container."""
    x = data.days
    s = data.series
    figs: dict[str, Figure] = {}
    if not x:
        return figs

    pmc = [
        {"type": "bar", "name": "Daily load", "x": x, "y": s["load_au"], "marker": {"color": "#c9d6df"},
         "yaxis": "y2", "hovertemplate": "%{y:.0f} AU"},
        _line("Fitness (CTL)", x, s["ctl"], line={"color": "#1f6f8b", "width": 2}),
        _line("Fatigue (ATL)", x, s["atl"], line={"color": "#d1495b", "width": 1.5}),
        _line("Form (TSB)", x, s["tsb"], line={"color": "#e0a100", "width": 1.5}),
    ]
    plan = data.planned
    if plan.get("days"):
        for key, name, colour in (("ctl", "Planned fitness", "#1f6f8b"), ("atl", "Planned fatigue", "#d1495b"),
                                  ("tsb", "Planned form", "#e0a100")):
            if key in plan:
                pmc.append(_line(name, plan["days"], plan[key], line={"color": colour, "dash": "dot", "width": 1.5}))
    figs["pmc"] = {"data": pmc, "layout": {
        "xaxis": _xaxis(x + list(plan.get("days") or []), slider=True),
        "yaxis": {"title": {"text": "CTL / ATL / TSB"}, "zeroline": True},
        "yaxis2": {"overlaying": "y", "side": "right", "showgrid": False, "title": {"text": "load (AU)"}},
        "barmode": "overlay", "legend": {"orientation": "h", "y": -0.45},
    }}

    ln = s["ln_rmssd"]
    if _has(ln) or _has(s["ln_rmssd_7d"]):
        figs["hrv"] = {"data": [
            _line("Normal range (low)", x, s["ln_rmssd_low"], line={"width": 0}, showlegend=False,
                  hoverinfo="skip"),
            _line("Normal range", x, s["ln_rmssd_high"], line={"width": 0}, fill="tonexty",
                  fillcolor="rgba(46,125,50,0.15)", hoverinfo="skip"),
            {"type": "scatter", "mode": "markers", "name": "ln rMSSD (morning)", "x": x, "y": ln,
             "marker": {"size": 4, "color": "#7a8a94"}},
            _line("7-day mean", x, s["ln_rmssd_7d"], line={"color": "#1f6f8b", "width": 2.5}),
        ], "layout": {"xaxis": _xaxis(x), "yaxis": {"title": {"text": "ln rMSSD"}}}}

    if _has(s["rhr_bpm"]):
        figs["rhr"] = {"data": [
            {"type": "scatter", "mode": "markers", "name": "Resting HR", "x": x, "y": s["rhr_bpm"],
             "marker": {"size": 4, "color": "#7a8a94"}},
            _line("7-day mean", x, s["rhr_7d"], line={"color": "#d1495b", "width": 2}),
            _line("Baseline", x, s["rhr_base"], line={"color": "#555", "dash": "dash", "width": 1}),
        ], "layout": {"xaxis": _xaxis(x), "yaxis": {"title": {"text": "bpm"}}}}

    if _has(s["sleep_h"]):
        figs["sleep"] = {"data": [
            {"type": "bar", "name": "Sleep", "x": x, "y": s["sleep_h"], "marker": {"color": "#6c63a8"},
             "hovertemplate": "%{y:.1f} h"},
        ], "layout": {"xaxis": _xaxis(x), "yaxis": {"title": {"text": "hours"}}}}

    items = [k for k in CHECKIN_LABELS if _has(s.get(k, []))]
    if items:
        figs["checkin"] = {"data": [{
            "type": "heatmap", "x": x, "y": [CHECKIN_LABELS[k] for k in items], "z": [s[k] for k in items],
            "zmin": 1, "zmax": 5, "colorscale": [[0, "#b3261e"], [0.5, "#f3e3a0"], [1, "#2e7d32"]],
            "hoverongaps": False, "colorbar": {"title": {"text": "1-5"}, "thickness": 10},
            "hovertemplate": "%{y}: %{z}<extra>%{x}</extra>",
        }], "layout": {"xaxis": _xaxis(x), "yaxis": {"automargin": True}, "hovermode": "closest",
                       "margin": {"l": 140}}}

    stage_traces = []
    for code, title in STAGE_TITLES.items():
        xs = [d for d, st in zip(x, data.stages, strict=True) if st == code]
        if xs:
            stage_traces.append({"type": "scatter", "mode": "markers", "name": title, "x": xs,
                                 "y": [title] * len(xs),
                                 "marker": {"symbol": "square", "size": 9, "color": STAGE_COLOURS.get(code, "#888")}})
    if stage_traces:
        figs["stages"] = {"data": stage_traces, "layout": {
            "xaxis": _xaxis(x), "hovermode": "closest", "showlegend": False,
            "yaxis": {"type": "category", "categoryorder": "array", "automargin": True,
                      "categoryarray": [t for t in STAGE_TITLES.values()]},
            "margin": {"l": 160}}}

    if _has(s["monotony"]):
        figs["monotony"] = {"data": [
            _line("Monotony", x, s["monotony"], line={"color": "#1f6f8b"}),
            _line("Strain", x, s["strain"], line={"color": "#b26a00"}, yaxis="y2"),
        ], "layout": {"xaxis": _xaxis(x), "yaxis": {"title": {"text": "monotony"}},
                      "yaxis2": {"overlaying": "y", "side": "right", "showgrid": False,
                                 "title": {"text": "strain"}}}}
    return figs


# ----------------------------------------------------------------------------- activities

def activity_figures(detail: ActivityDetail, units: str) -> dict[str, Figure]:
    """Stream charts (HR, power, speed, altitude), zones and the GPS track of one activity."""
    st = detail.streams
    figs: dict[str, Figure] = {}
    t = st.get("elapsed_s")
    if t:
        minutes = [None if v is None else round(v / 60.0, 3) for v in t]
        imperial = units == "imperial"
        speed_factor = 3.6 / (KM_PER_MI if imperial else 1.0)
        specs: list[tuple[str, str, str, float, str]] = [
            ("hr_bpm", "Heart rate", "bpm", 1.0, "#d1495b"),
            ("power_w", "Power", "W", 1.0, "#6c63a8"),
            ("speed_mps", "Speed", "mph" if imperial else "km/h", speed_factor, "#1f6f8b"),
            ("altitude_m", "Altitude", "ft" if imperial else "m", FT_PER_M if imperial else 1.0, "#7a8a94"),
        ]
        for key, name, unit, factor, colour in specs:
            values = st.get(key)
            if not values or not _has(values):
                continue
            y = [None if v is None else round(v * factor, 2) for v in values]
            trace = _line(name, minutes, y, line={"color": colour, "width": 1.2})
            if key == "altitude_m":
                trace["fill"] = "tozeroy"
            figs[key] = {"data": [trace], "layout": {
                "title": {"text": f"{name} ({unit})", "font": {"size": 13}}, "showlegend": False,
                "xaxis": {"title": {"text": "minutes"}, "rangeslider": {"visible": False}},
                "yaxis": {"title": {"text": unit}}, "margin": {"t": 32}}}
        lat, lon = st.get("lat_deg"), st.get("lon_deg")
        if lat and lon and sum(1 for a, b in zip(lat, lon, strict=True) if a is not None and b is not None) >= 2:
            pairs = [(a, b) for a, b in zip(lat, lon, strict=True) if a is not None and b is not None]
            mid = sum(a for a, _ in pairs) / len(pairs)
            figs["track"] = {"data": [{
                "type": "scatter", "mode": "lines", "name": "Track", "x": [b for _, b in pairs],
                "y": [a for a, _ in pairs], "line": {"color": "#d1495b", "width": 2},
                "hovertemplate": "%{y:.5f}°, %{x:.5f}°<extra></extra>",
            }], "layout": {
                "title": {"text": "Track (no map tiles)", "font": {"size": 13}}, "showlegend": False,
                "hovermode": "closest",
                "xaxis": {"title": {"text": "longitude °"}, "showgrid": True},
                "yaxis": {"title": {"text": "latitude °"}, "scaleanchor": "x",
                          "scaleratio": 1.0 / max(0.05, math.cos(math.radians(mid)))},
                "margin": {"t": 32}}}
    zones = zone_rows(detail)
    if zones:
        traces = []
        for kind, rows in zones.items():
            traces.append({"type": "bar", "orientation": "h", "name": kind, "y": [r[0] for r in rows],
                           "x": [round(r[1] / 60.0, 1) for r in rows], "hovertemplate": "%{x} min"})
        figs["zones"] = {"data": traces, "layout": {
            "title": {"text": "Time in zones (minutes)", "font": {"size": 13}}, "barmode": "group",
            "hovermode": "closest", "yaxis": {"autorange": "reversed"}, "margin": {"t": 32}}}
    return figs


def zone_rows(detail: ActivityDetail) -> dict[str, list[tuple[str, float]]]:
    """Time in each zone, per zone system found in the session metrics: {"Heart rate": [("Z1", s)...]}."""
    details = (detail.metrics or {}).get("details") or {}
    out: dict[str, list[tuple[str, float]]] = {}
    for key, label in (("time_in_hr_zones_s", "Heart rate"), ("time_in_power_zones_s", "Power")):
        values = details.get(key)
        if isinstance(values, list | tuple) and values and any((v or 0) > 0 for v in values):
            out[label] = [(f"Z{i + 1}", float(v or 0.0)) for i, v in enumerate(values)]
    return out
