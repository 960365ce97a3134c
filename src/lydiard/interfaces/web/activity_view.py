"""Words for an activity page: a title by sport and local time, the device by name, the load
source and efficiency factor in plain units, and pace per lap."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from lydiard.services.activities import ActivitySummary

#: How the session's load was computed, in plain words (``load_source`` of the session metrics).
LOAD_SOURCE_WORDS: dict[str, str] = {
    "power_tss": "power and your FTP",
    "running_tss": "pace and your threshold pace",
    "hr_tss": "heart rate and your heart-rate thresholds",
    "srpe": "your effort rating (RPE) and the duration",
    "duration_default": "duration only (set heart-rate or power thresholds, or rate the effort, for a better estimate)",
    "none": "nothing (no load computed)",
}
SPORT_WORDS: dict[str, str] = {
    "run": "Run", "ride": "Ride", "bike": "Ride", "cycling": "Ride", "swim": "Swim", "walk": "Walk",
    "hike": "Hike", "row": "Row", "strength": "Strength session", "ski": "Ski", "other": "Workout",
}
_FILE_LIKE = re.compile(r"(\.(fit|gpx|tcx|csv|zip|gz)$)|^[\w-]*\d{6,}[\w-]*$", re.I)

#: Garmin product ids (FIT profile `garmin_product`) by name, regional variants left out.
GARMIN_PRODUCTS: dict[int, str] = {
    717: "Forerunner 405", 782: "Forerunner 50", 988: "Forerunner 60", 1018: "Forerunner 310xt",
    1036: "Edge 500", 1124: "Forerunner 110", 1169: "Edge 800", 1325: "Edge 200", 1328: "Forerunner 910xt",
    1345: "Forerunner 610", 1436: "Forerunner 70", 1482: "Forerunner 10", 1551: "Fenix", 1561: "Edge 510",
    1567: "Edge 810", 1623: "Forerunner 620", 1632: "Forerunner 220", 1765: "Forerunner 920xt",
    1836: "Edge 1000", 1903: "Forerunner 15", 1967: "Fenix 2", 1988: "Epix", 2050: "Fenix 3",
    2067: "Edge 520", 2147: "Edge 25", 2148: "Forerunner 25", 2153: "Forerunner 225", 2156: "Forerunner 630",
    2157: "Forerunner 230", 2158: "Forerunner 735xt", 2238: "Edge 20", 2413: "Fenix 3 hr",
    2431: "Forerunner 235", 2432: "Fenix 3 chronos", 2503: "Forerunner 35", 2544: "Fenix 5s",
    2604: "Fenix 5x", 2691: "Forerunner 935", 2697: "Fenix 5", 2700: "Vivoactive 3", 2886: "Forerunner 645",
    2888: "Forerunner 645m", 2891: "Forerunner 30", 2900: "Fenix 5s plus", 2988: "Vivoactive 3m w",
    3066: "Vivoactive 3m l", 3076: "Forerunner 245", 3077: "Forerunner 245 music", 3110: "Fenix 5 plus",
    3111: "Fenix 5x plus", 3113: "Forerunner 945", 3224: "Vivoactive 4 small", 3225: "Vivoactive 4 large",
    3226: "Venu", 3282: "Forerunner 45", 3287: "Fenix 6S sport", 3288: "Fenix 6S", 3289: "Fenix 6 sport",
    3290: "Fenix 6", 3291: "Fenix 6x", 3466: "Instinct solar", 3589: "Forerunner 745", 3596: "Venusq music",
    3599: "Venusq music v2", 3600: "Venusq", 3638: "Enduro", 3652: "Forerunner 945 lte", 3703: "Venu2",
    3704: "Venu2s", 3851: "Venu2 plus", 3869: "Forerunner 55", 3888: "Instinct 2", 3889: "Instinct 2s",
    3905: "Fenix 7s", 3906: "Fenix 7", 3907: "Fenix 7x", 3943: "Epix gen2", 3990: "Forerunner 255 music",
    3991: "Forerunner 255 small music", 3992: "Forerunner 255", 3993: "Forerunner 255 small",
    4024: "Forerunner 955", 4115: "Venusq2", 4116: "Venusq2music", 4155: "Instinct crossover",
    4257: "Forerunner 265 large", 4258: "Forerunner 265 small", 4260: "Venu3", 4261: "Venu3s",
    4312: "Epix gen2 pro 42", 4313: "Epix gen2 pro 47", 4314: "Epix gen2 pro 51", 4315: "Forerunner 965",
    4341: "Enduro2", 4374: "Fenix 7s pro solar", 4375: "Fenix 7 pro solar", 4376: "Fenix 7x pro solar",
    4394: "Instinct 2x", 4426: "Vivoactive 5", 4432: "Forerunner 165", 4433: "Forerunner 165 music",
    4532: "Fenix 8 solar", 4533: "Fenix 8 solar large", 4534: "Fenix 8 small", 4536: "Fenix 8",
    4565: "Forerunner 970", 4570: "Forerunner 570 large", 4574: "Forerunner 570 small", 4575: "Enduro3",
    4583: "InstinctE 40mm", 4584: "InstinctE 45mm", 4585: "Instinct3 solar 45mm",
    4586: "Instinct3 amoled 45mm", 4587: "Instinct3 amoled 50mm", 4603: "Venu x1", 4625: "Vivoactive 6",
    4631: "Fenix 8 pro", 4643: "Venu4", 4644: "Venu4s", 4666: "Fenixe", 4678: "Instinct crossover amoled",
    4759: "Instinct3 solar 50mm", 4814: "Forerunner 170 music", 4815: "Forerunner 170",
    4916: "Forerunner 70 2026", 4952: "Fenix 9 pro 43mm", 4953: "Fenix 9 pro 47mm", 4954: "Fenix 9 pro 51mm",
    4955: "Fenix 9 pro solar 47mm", 4956: "Fenix 9 pro solar 51mm", 5133: "Fenix 9 43mm", 5134: "Fenix 9",
    5169: "Enduro4",
}


def _part_of_day(hour: int) -> str:
    if 5 <= hour < 12:
        return "Morning"
    if 12 <= hour < 17:
        return "Afternoon"
    if 17 <= hour < 22:
        return "Evening"
    return "Night"


def local_start(a: ActivitySummary, tz: str | None) -> datetime:
    """The activity's start in the athlete's time zone."""
    try:
        return a.started_at.astimezone(ZoneInfo(tz or "UTC"))
    except (KeyError, ValueError):  # pragma: no cover - an unknown zone is refused when stored
        return a.started_at


def activity_title(a: ActivitySummary, tz: str | None) -> str:
    """"Morning run" (or the activity's own name when it is not a file name)."""
    if a.name and not _FILE_LIKE.search(a.name.strip()):
        return a.name.strip()
    sport = SPORT_WORDS.get((a.sport or "").lower(), (a.sport or "workout").replace("_", " ").capitalize())
    return f"{_part_of_day(local_start(a, tz).hour)} {sport[0].lower() + sport[1:]}"


def activity_when(a: ActivitySummary, tz: str | None) -> str:
    """"Tue 03 Mar 2026, 07:12" in the athlete's time zone."""
    return local_start(a, tz).strftime("%a %d %b %Y, %H:%M")


def device_name(device: str | None) -> str | None:
    """"garmin 3113" → "Garmin Forerunner 945"; other devices as stored, capitalised."""
    if not device:
        return None
    parts = device.split(" ", 1)
    maker = parts[0].capitalize() if parts[0].islower() else parts[0]
    if len(parts) == 1:
        return maker
    product = parts[1]
    if parts[0].lower() == "garmin" and product.isdigit():
        product = GARMIN_PRODUCTS.get(int(product), f"device {product}")
    return f"{maker} {product}"


def load_source_text(metrics: dict[str, Any]) -> str | None:
    """How the session's load was computed, in plain words (None when unknown)."""
    source = metrics.get("load_source")
    if not source:
        return None
    return LOAD_SOURCE_WORDS.get(str(source), str(source).replace("_", " "))


def load_rows(metrics: dict[str, Any], sport: str | None) -> list[tuple[str, str]]:
    """The "Load and efficiency" tiles as (label, text), in plain words and units."""
    run = (sport or "").lower() in {"run", "running", "trail_run", "treadmill"}

    def num(key: str, digits: int) -> str | None:
        v = metrics.get(key)
        return None if v is None else f"{float(v):.{digits}f}"

    out: list[tuple[str, str]] = []
    for label, key, digits in (("Load (AU)", "load_au", 0),):
        text = num(key, digits)
        if text is not None:
            out.append((label, text))
    for label, key, digits in (("TRIMP (Banister)", "trimp_banister", 0), ("hrTSS", "hr_tss", 0),
                               ("Power TSS", "power_tss", 0), ("Running TSS", "running_tss", 0),
                               ("sRPE (AU)", "srpe_au", 0), ("Normalized power (W)", "np_w", 0),
                               ("Intensity factor", "intensity_factor", 2)):
        text = num(key, digits)
        if text is not None:
            out.append((label, text))
    ef = metrics.get("efficiency_factor")
    if ef is not None:
        if run:  # speed (m/s) per bpm → metres per minute per beat per minute
            out.append(("Efficiency (m/min per bpm)", f"{float(ef) * 60.0:.2f}"))
        else:
            out.append(("Efficiency (W per bpm)", f"{float(ef):.2f}"))
    for label, key, digits in (("Aerobic decoupling (%)", "decoupling_pct", 1),
                               ("Elevation gain (m)", "elevation_gain_m", 0)):
        text = num(key, digits)
        if text is not None:
            out.append((label, text))
    return out


__all__ = [
    "GARMIN_PRODUCTS",
    "LOAD_SOURCE_WORDS",
    "activity_title",
    "activity_when",
    "device_name",
    "load_rows",
    "load_source_text",
    "local_start",
]
