"""Plotly figure specifications (plain dicts, serialised as JSON) for the Trends and activity pages.

Figures are built as data, never as inline script: ``app.js`` passes each one to
``Plotly.newPlot``. Building dicts directly (not ``plotly.graph_objects``) keeps a page-data
request in the low milliseconds. The Trends figures are built by the trends service
(:func:`lydiard.services.trends.trends_figures`), which stores them precomputed per athlete;
the trace helpers are shared with it.
"""

from __future__ import annotations

import math
from typing import Any

from lydiard.services.activities import ActivityDetail
from lydiard.services.trends import has_values, line_trace

Figure = dict[str, Any]

KM_PER_MI = 1.609344
FT_PER_M = 3.280839895


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
            if not values or not has_values(values):
                continue
            y = [None if v is None else round(v * factor, 2) for v in values]
            trace = line_trace(name, minutes, y, line={"color": colour, "width": 1.2})
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


__all__ = ["activity_figures", "zone_rows"]
