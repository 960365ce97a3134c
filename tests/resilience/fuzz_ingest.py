"""Mutators and the outcome check shared by the ingest fuzz test and ``benchmarks/fuzz_long.py``.

Every input fed to :func:`lydiard.read_activity` must end as an ``Activity`` or a
``LydiardError``, within a CPU-time limit, without a memory blow-up.
"""

from __future__ import annotations

import random
import re
import resource
import signal
import struct
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))

from fitbuilder import reseal, simple_activity
from workout_builders import gpx, line, tcx

#: CPU seconds one input may take.
CPU_LIMIT_S = 2.0
#: Wall-clock seconds after which a hung call is interrupted (generous: the machine may be busy).
WALL_LIMIT_S = 30
#: Largest growth of the process's peak resident memory one input may cause, in MiB.
RSS_GROWTH_LIMIT_MIB = 300.0

#: Small, varied corpus files (relative to the corpus folder), used when the corpus is present.
CORPUS_SEEDS: tuple[str, ...] = (
    "python-fitparse/tests/files/Activity.fit",
    "python-fitparse/tests/files/2015-10-13-08-43-15.fit",
    "sweatpy/sweat/examples/data/2020-06-01-16-52-40.fit",
    "GoldenCheetah/test/rides/Indoor_Cycling2smO2sensors.fit",
    "python-fitparse/tests/files/DeveloperData.fit",
    "python-fitparse/tests/files/compressed-speed-distance.fit",
    "gpxpy/test_files/around-visnjan-with-car.gpx",
    "GoldenCheetah/test/swims/argmac_Garmin_FR910XT_2015_01_31_10_17_02.tcx",
)


def generated_seeds() -> dict[str, bytes]:
    """Our own small files of each format (always available)."""
    pts = line(60, dt_s=1.0, hr_bpm=140.0, power_w=210.0, speed_mps=6.0)
    return {
        "gen.fit": simple_activity(n_records=40),
        "gen-be.fit": simple_activity(n_records=20, big_endian=True, header_size=12),
        "gen.tcx": tcx([pts[:30], pts[30:]], sport="Biking"),
        "gen.gpx": gpx([pts], version="1.1"),
        "gen10.gpx": gpx([pts[:20]], version="1.0"),
    }


def corpus_seeds(corpus: Path) -> dict[str, bytes]:
    return {rel: (corpus / rel).read_bytes() for rel in CORPUS_SEEDS if (corpus / rel).is_file()}


# ----------------------------------------------------------------------------- FIT structure

def fit_definition_offsets(data: bytes) -> list[int]:
    """Offsets of the definition messages of a FIT file (walking its records; stops at damage)."""
    if len(data) < 12:
        return []
    header_size = data[0]
    end = min(len(data) - 2, header_size + struct.unpack_from("<I", data, 4)[0])
    pos = header_size
    sizes: dict[int, int] = {}
    out: list[int] = []
    while pos < end:
        h = data[pos]
        if h & 0x80:  # compressed timestamp header: a data message of local type (h >> 5) & 3
            size = sizes.get((h >> 5) & 0x3)
            if size is None:
                break
            pos += 1 + size
            continue
        local = h & 0x0F
        if h & 0x40:
            if pos + 6 > end:
                break
            out.append(pos)
            n_fields = data[pos + 5]
            field_bytes = sum(data[pos + 6 + 3 * i + 1] for i in range(n_fields) if pos + 6 + 3 * i + 1 < len(data))
            nxt = pos + 6 + 3 * n_fields
            if h & 0x20:  # developer fields
                if nxt >= len(data):
                    break
                n_dev = data[nxt]
                field_bytes += sum(data[nxt + 1 + 3 * i + 1] for i in range(n_dev) if nxt + 1 + 3 * i + 1 < len(data))
                nxt += 1 + 3 * n_dev
            sizes[local] = field_bytes
            pos = nxt
        else:
            size = sizes.get(local)
            if size is None:
                break
            pos += 1 + size
    return out


# ----------------------------------------------------------------------------- mutations

_NUMBER = re.compile(rb">(-?\d+(?:\.\d+)?)<|\"(-?\d+(?:\.\d+)?)\"")
ABSURD_NUMBERS: tuple[bytes, ...] = (
    b"1e308", b"-1e308", b"NaN", b"inf", b"-0", b"99999999999999999999999999", b"0x10", b"",
    b"1" * 400, b"-2147483649", b"3.4e39",
)
ABSURD_TIMES: tuple[bytes, ...] = (
    b"0001-01-01T00:00:00Z", b"9999-12-31T23:59:59Z", b"2024-02-30T25:61:61Z", b"1970-01-01T00:00:00+99:00",
    b"not a time", b"2024-05-01T06:30:00.123456789123Z",
)
ABSURD_U32: tuple[int, ...] = (0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x10000000)


@dataclass(frozen=True, slots=True)
class Mutation:
    """One edit; ``describe`` is kept with reproducers."""

    describe: str
    apply: Callable[[bytes], bytes]


def mutate(data: bytes, rng: random.Random, *, n_edits: int) -> tuple[bytes, list[str]]:
    """Apply ``n_edits`` random edits suited to the format of ``data``; return the bytes and what was done."""
    done: list[str] = []
    is_fit = len(data) >= 12 and data[8:12] == b".FIT"
    for _ in range(n_edits):
        if not data:
            break
        choices = _GENERIC + (_FIT if is_fit else _XML)
        op = rng.choice(choices)
        data, what = op(data, rng)
        done.append(what)
    if is_fit and rng.random() < 0.5 and len(data) >= 14 and data[0] in (12, 14):
        # Fix the sizes and CRCs so the decoder looks past the checksums into the records.
        try:
            data = reseal(data)
            done.append("reseal")
        except (struct.error, IndexError):
            pass
    return data, done


def _truncate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    n = rng.randrange(len(data))
    return data[:n], f"truncate@{n}"


def _bitflip(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    i = rng.randrange(len(data))
    bit = 1 << rng.randrange(8)
    return data[:i] + bytes([data[i] ^ bit]) + data[i + 1:], f"flip@{i}^{bit}"


def _insert(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    i = rng.randrange(len(data) + 1)
    blob = bytes(rng.randrange(256) for _ in range(rng.choice((1, 2, 4, 16, 64))))
    return data[:i] + blob + data[i:], f"insert@{i}+{len(blob)}"


def _delete(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    i = rng.randrange(len(data))
    n = rng.choice((1, 2, 3, 7, 64, 512))
    return data[:i] + data[i + n:], f"delete@{i}-{n}"


def _duplicate_block(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    i = rng.randrange(len(data))
    n = min(len(data) - i, rng.choice((16, 256, 2048)))
    times = rng.choice((2, 10, 100))
    return data[:i] + data[i:i + n] * times + data[i + n:], f"repeat@{i}:{n}x{times}"


_GENERIC = (_truncate, _bitflip, _insert, _delete, _duplicate_block)


def _fit_header_size(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    v = rng.choice((0, 1, 11, 13, 15, 255))
    return bytes([v]) + data[1:], f"fit-header-size={v}"


def _fit_data_size(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    v = rng.choice((*ABSURD_U32, len(data) * 1000))
    v &= 0xFFFFFFFF
    return data[:4] + struct.pack("<I", v) + data[8:], f"fit-data-size={v}"


def _fit_definition(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    offsets = fit_definition_offsets(data)
    if not offsets:
        return _bitflip(data, rng)
    pos = rng.choice(offsets)
    buf = bytearray(data)
    n_fields = buf[pos + 5] if pos + 5 < len(buf) else 0
    kind = rng.choice(("arch", "n_fields", "field_size", "base_type", "global", "swap_fields", "field_num"))
    if kind == "arch" and pos + 2 < len(buf):
        buf[pos + 2] ^= 1
    elif kind == "n_fields" and pos + 5 < len(buf):
        buf[pos + 5] = rng.choice((0, 1, 255, n_fields + 1, max(0, n_fields - 1)))
    elif n_fields and kind in ("field_size", "base_type", "field_num"):
        f = pos + 6 + 3 * rng.randrange(n_fields)
        k = {"field_num": 0, "field_size": 1, "base_type": 2}[kind]
        if f + k < len(buf):
            buf[f + k] = rng.choice((0, 1, 3, 7, 255, rng.randrange(256)))
    elif kind == "global" and pos + 4 < len(buf):
        buf[pos + 3:pos + 5] = struct.pack("<H", rng.choice((0, 20, 78, 0xFFFF, rng.randrange(65536))))
    elif n_fields >= 2 and kind == "swap_fields":
        a, b = rng.sample(range(n_fields), 2)
        fa, fb = pos + 6 + 3 * a, pos + 6 + 3 * b
        if fb + 3 <= len(buf) and fa + 3 <= len(buf):
            buf[fa:fa + 3], buf[fb:fb + 3] = buf[fb:fb + 3], buf[fa:fa + 3]
    return bytes(buf), f"fit-def@{pos}:{kind}"


_FIT = (_fit_header_size, _fit_data_size, _fit_definition, _fit_definition, _fit_definition)


def _xml_number(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    matches = list(_NUMBER.finditer(data))
    if not matches:
        return _bitflip(data, rng)
    m = rng.choice(matches)
    g = 1 if m.group(1) is not None else 2
    v = rng.choice(ABSURD_NUMBERS)
    return data[:m.start(g)] + v + data[m.end(g):], f"xml-number@{m.start(g)}={v[:20]!r}"


def _xml_time(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    spans = [m.span(1) for m in re.finditer(rb">(\d{4}-\d\d-\d\dT[^<]+)<", data)]
    if not spans:
        return _bitflip(data, rng)
    a, b = rng.choice(spans)
    v = rng.choice(ABSURD_TIMES)
    return data[:a] + v + data[b:], f"xml-time@{a}={v!r}"


def _xml_tag(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    tags = [m.start() for m in re.finditer(rb"</?[A-Za-z]", data)]
    if not tags:
        return _bitflip(data, rng)
    i = rng.choice(tags)
    end = data.find(b">", i)
    if end < 0:
        return data[:i], f"xml-cut@{i}"
    kind = rng.choice(("drop", "dup", "deep"))
    if kind == "drop":
        return data[:i] + data[end + 1:], f"xml-drop-tag@{i}"
    if kind == "dup":
        return data[:end + 1] + data[i:end + 1] * 50 + data[end + 1:], f"xml-dup-tag@{i}"
    return data[:i] + b"<x>" * 5000 + data[i:], f"xml-deep@{i}"


def _xml_entity(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    i = data.find(b"?>")
    doctype = rng.choice((
        b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        b'<!DOCTYPE x SYSTEM "file:///etc/passwd">',
    ))
    pos = i + 2 if i >= 0 else 0
    return data[:pos] + doctype + data[pos:], "xml-doctype"


_XML = (_xml_number, _xml_number, _xml_time, _xml_tag, _xml_entity)


# ----------------------------------------------------------------------------- the check

class WallTimeout(Exception):
    """A call ran past the wall-clock watchdog (a hang)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool  #: an Activity or a LydiardError, in time and memory (and, when strict, without foreign warnings)
    kind: str  #: "activity", the error class name, or what went wrong
    cpu_s: float
    rss_growth_mib: float
    detail: str = ""
    #: warnings that leaked out of the readers ("Category: message (file:line)")
    foreign_warnings: tuple[str, ...] = ()


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass
class _Alarm:
    """SIGALRM watchdog that hands any earlier alarm (pytest-timeout's) back when done."""

    seconds: int

    def __enter__(self) -> None:
        def _raise(_sig: int, _frame: FrameType | None) -> None:
            raise WallTimeout(f"no answer after {self.seconds} s")

        self._old = signal.signal(signal.SIGALRM, _raise)
        self._t0 = time.monotonic()
        self._previous_s = signal.alarm(self.seconds)

    def __exit__(self, *exc: object) -> None:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self._old)
        if self._previous_s:
            left = self._previous_s - (time.monotonic() - self._t0)
            signal.alarm(max(1, int(left + 0.5)))


def check_one(data: bytes, *, name: str, strict_warnings: bool = True) -> Outcome:
    """Feed ``data`` to ``read_activity`` and judge the outcome.

    Warnings are recorded, not raised: the readers report cleaning in their results, never
    as Python warnings, so any warning (numpy, pandas) leaking out is a failure when
    ``strict_warnings`` (the test suite runs with ``filterwarnings = error``, where it would
    surface as an exception).
    """
    import lydiard
    from lydiard.domain.activity import Activity

    rss0 = _peak_rss_mib()
    t0 = time.thread_time()
    kind, detail, ok = "activity", "", True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with _Alarm(WALL_LIMIT_S):
                result = lydiard.read_activity(data, name=name)
            if not isinstance(result, Activity):
                ok, kind, detail = False, "not-an-activity", type(result).__name__
        except lydiard.LydiardError as exc:
            kind = type(exc).__name__
            detail = str(exc)[:200]
        except WallTimeout as exc:
            ok, kind, detail = False, "hang", str(exc)
        except Exception as exc:  # the property under test: nothing else may escape
            import traceback

            ok, kind = False, f"crash:{type(exc).__name__}"
            detail = "".join(traceback.format_exception(exc))[-4000:]
    cpu_s = time.thread_time() - t0
    growth = _peak_rss_mib() - rss0
    foreign = tuple(sorted({f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
                            for w in caught}))
    if ok and cpu_s > CPU_LIMIT_S:
        ok, detail = False, f"took {cpu_s:.2f} s of CPU (limit {CPU_LIMIT_S} s)"
    if ok and growth > RSS_GROWTH_LIMIT_MIB:
        ok, detail = False, f"peak memory grew by {growth:.0f} MiB (limit {RSS_GROWTH_LIMIT_MIB})"
    if ok and strict_warnings and foreign:
        ok, kind, detail = False, "warning", "\n".join(foreign)
    return Outcome(ok=ok, kind=kind, cpu_s=cpu_s, rss_growth_mib=growth, detail=detail,
                   foreign_warnings=foreign)


def cases(seeds: dict[str, bytes], rng: random.Random) -> Iterator[tuple[str, bytes, list[str]]]:
    """An endless stream of (seed name, mutated bytes, edits)."""
    names = sorted(seeds)
    while True:
        name = rng.choice(names)
        data, edits = mutate(seeds[name], rng, n_edits=rng.choice((1, 1, 2, 3, 5)))
        yield name, data, edits
