"""Fuzzing the readers: every mutated FIT/TCX/GPX ends as an Activity or a LydiardError, quickly.

Seeds are our own generated files (always) and a few small corpus files (when the
shared corpus is present). Mutations: truncation, bit flips, byte insertion/deletion,
repeated blocks, FIT header sizes and data sizes, FIT definition messages (architecture,
field count, field sizes, base types, swapped fields; the file is often resealed with
valid CRCs so the damage reaches the record decoder), absurd XML numbers and times,
dropped/duplicated/deeply nested tags, DTDs. Each call runs under a wall-clock watchdog
and must stay under a CPU-time and a peak-memory limit (see ``fuzz_ingest``).
Longer runs: ``python benchmarks/fuzz_long.py SECONDS``.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from fuzz_ingest import check_one, corpus_seeds, fit_definition_offsets, generated_seeds, mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

GENERATED = generated_seeds()
FUZZ = settings(max_examples=200, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _assert_ok(name: str, data: bytes, edits: list[str]) -> None:
    # Foreign (numpy/pandas) warnings are checked by test_no_foreign_warnings, not here.
    out = check_one(data, name=name, strict_warnings=False)
    assert out.ok, (f"{name} with edits {edits} -> {out.kind} ({out.cpu_s:.2f} s CPU, "
                    f"+{out.rss_growth_mib:.0f} MiB)\n{out.detail}")


def test_seeds_read_cleanly() -> None:
    for name, data in GENERATED.items():
        out = check_one(data, name=name)
        assert out.ok and out.kind == "activity", (name, out)


@FUZZ
@given(seed=st.sampled_from(sorted(GENERATED)), rnd=st.randoms(use_true_random=False),
       n_edits=st.integers(1, 4))
def test_mutated_generated_files(seed: str, rnd: random.Random, n_edits: int) -> None:
    data, edits = mutate(GENERATED[seed], rnd, n_edits=n_edits)
    _assert_ok(seed, data, edits)


@pytest.fixture(scope="module")
def corpus(corpus_dir: Path) -> dict[str, bytes]:
    seeds = corpus_seeds(corpus_dir)
    if not seeds:
        pytest.skip("none of the fuzz seed files is in the corpus")
    return seeds


@pytest.mark.corpus
def test_mutated_corpus_files(corpus: dict[str, bytes]) -> None:
    names = sorted(corpus)

    @FUZZ
    @given(seed=st.sampled_from(names), rnd=st.randoms(use_true_random=False), n_edits=st.integers(1, 4))
    def run(seed: str, rnd: random.Random, n_edits: int) -> None:
        data, edits = mutate(corpus[seed], rnd, n_edits=n_edits)
        _assert_ok(seed, data, edits)

    run()


def test_definition_walker_finds_every_definition() -> None:
    data = GENERATED["gen.fit"]
    offsets = fit_definition_offsets(data)
    assert len(offsets) == 4  # file_id, record, lap, session
    assert all(data[o] & 0x40 for o in offsets)


@pytest.mark.parametrize("label, edit", [
    ("data size 4 GiB", lambda b: b[:4] + struct.pack("<I", 0xFFFFFFFF) + b[8:]),
    ("data size 0", lambda b: b[:4] + struct.pack("<I", 0) + b[8:]),
    ("header size 255", lambda b: b"\xff" + b[1:]),
    ("only the header", lambda b: b[:14]),
    ("header and one byte", lambda b: b[:15]),
    ("two files glued", lambda b: b + b),
    ("arch byte of every definition flipped",
     lambda b: bytes(x ^ 1 if i - 2 in fit_definition_offsets(b) else x for i, x in enumerate(b))),
])
def test_handmade_fit_damage(label: str, edit: object) -> None:
    from fitbuilder import reseal

    assert callable(edit)
    base = GENERATED["gen.fit"]
    for data in (edit(base), _try_reseal(reseal, edit(base))):
        if data is not None:
            _assert_ok(f"gen.fit ({label})", data, [label])


def _try_reseal(reseal: object, data: bytes) -> bytes | None:
    assert callable(reseal)
    try:
        out = reseal(data)
    except (struct.error, IndexError):
        return None
    assert isinstance(out, bytes)
    return out


@pytest.mark.parametrize("seed", ["gen.tcx", "gen.gpx"])
@pytest.mark.parametrize("label, edit", [
    ("billion laughs", lambda b: b.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "aaaaaaaa">'
                                           b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>', 1)),
    ("100k nested elements", lambda b: b.replace(b"<", b"<x>" * 100_000 + b"<", 2)),
    ("every number 1e308", lambda b: b.replace(b">140<", b">1e308<").replace(b">210<", b">1e308<")),
    ("times in year 9999", lambda b: b.replace(b"2024-05-01T", b"9999-12-31T")),
    ("times in year 1", lambda b: b.replace(b"2024-05-01T", b"0001-01-01T")),
    ("utf-16 BOM on utf-8 body", lambda b: b"\xff\xfe" + b),
    ("NUL bytes", lambda b: b.replace(b"<", b"\x00<")),
])
def test_handmade_xml_damage(seed: str, label: str, edit: object) -> None:
    assert callable(edit)
    _assert_ok(f"{seed} ({label})", edit(GENERATED[seed]), [label])


#: Inputs found by fuzzing that make numpy/pandas warn (under ``filterwarnings = error`` they
#: raise). The readers return sane activities (the values are dropped by cleaning), so these
#: are hygiene bugs: the readers should bound values before arithmetic.
WARNING_REPRODUCERS: dict[str, tuple[str, object]] = {
    "hr 1e308 -> overflow in mean (ingest/_common.py _mean_or_none)":
        ("gen.gpx", lambda b: b.replace(b">140<", b">1e308<")),
    "longitude inf -> invalid value in sin (domain/cleaning.py haversine_m via ingest/gpx.py)":
        ("gen10.gpx", lambda b: b.replace(b'lat="46.0005" lon="7.0"', b'lat="46.0005" lon="inf"')),
    "sub-microsecond start time -> 'Discarding nonzero nanoseconds' (ingest/_common.py summarise)":
        ("gen10.gpx", lambda b: b.replace(b"<time>2024-05-01T06:30:00.000Z", b"<time>2024-05-01T06:30:00.123456789Z")),
}


@pytest.mark.parametrize("label", sorted(WARNING_REPRODUCERS))
def test_no_foreign_warnings(label: str) -> None:
    seed, edit = WARNING_REPRODUCERS[label]
    assert callable(edit)
    data = edit(GENERATED[seed])
    assert data != GENERATED[seed]
    out = check_one(data, name=seed, strict_warnings=True)
    assert out.ok, f"{label}: {out.detail}"
