"""FIT decoder: bytes of a FIT file (or of several chained FIT files) -> :class:`Activity`.

Design (fast and bounded):

1. One pass in Python over the message *headers* only. Definitions are rare and parsed
   in full; a data message has a fixed size per definition, so the loop only records its
   offset in a list belonging to its definition and jumps over it.
2. Each field Lydiard needs is then read for all messages of a definition at once, by
   one numpy gather from a byte-strided view of the file in the definition's byte order.
3. Timestamps (absolute fields and 5-bit compressed-timestamp headers) are resolved with
   a vectorised segmented cumulative sum in file order.

CRCs (header and file, per chained file) are checked with a vectorised CRC-16 (FIT's
CRC is CRC-16/ARC: init 0, reflected polynomial 0xA001, no final xor).

Every allocation is bounded by the length of the input: a message is at least one byte,
and every gather reads bytes inside the file. Damage raises a subclass of
:class:`lydiard.errors.CorruptFileError` naming the source and the byte offset; with
``on_error=ErrorPolicy.WARN`` the messages decoded before the damage are returned and
the problem is reported in ``Activity.warnings``; with ``ErrorPolicy.CRC_WARN`` (what the
importer uses) only a mismatched *file* CRC of an otherwise intact file is forgiven.

Developer fields are skipped (their bytes are counted from the definition); developer
power or heart rate is not used even when the native field is absent. Values are
returned as decoded: invalid sentinels become NaN, nothing is cleaned.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import itertools
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lydiard.domain.activity import (
    Activity,
    ActivitySummary,
    empty_laps,
)
from lydiard.domain.columns import LAP_COLUMNS, SAMPLE_COLUMNS, Col, LapCol
from lydiard.domain.frames import fast_frame
from lydiard.errors import (
    ChecksumError,
    CorruptFileError,
    EmptyFileError,
    TruncatedFileError,
    UnsupportedFormatError,
)
from lydiard.ingest import _fit_profile as prof
from lydiard.units import SEMICIRCLE_TO_DEG

__all__ = ["ErrorPolicy", "FitDecoded", "decode_fit", "read_fit"]

_SIGNATURE: Final = b".FIT"
_MIN_HEADER_B: Final = 12
_CRC_B: Final = 2
_NAT: Final = np.iinfo(np.int64).min
_NS_PER_S: Final = 1_000_000_000
#: Speed above which a sample counts as moving, for summaries computed from records.
_MOVING_SPEED_MPS: Final = 0.5
#: Longest gap between samples still counted as moving (pauses are not moving time).
_MAX_MOVING_GAP_S: Final = 30.0


class ErrorPolicy(enum.Enum):
    """What to do with a damaged file."""

    RAISE = "raise"  #: raise a CorruptFileError subclass (the default)
    WARN = "warn"  #: return what decoded before the damage, with ``Activity.warnings`` set
    #: As RAISE, except for a file CRC that does not match in a file that is otherwise
    #: intact (valid header and header CRC, every message decodes up to exactly the
    #: declared data size, CRC bytes present): decoded, with the mismatch in
    #: ``Activity.warnings``. Garmin's SDK and fitdecode return such files' messages too;
    #: a damaged value inside them is caught by the range checks of the cleaning step.
    CRC_WARN = "crc_warn"


# --------------------------------------------------------------------------------------
# CRC-16 (FIT): vectorised over 64-byte chunks, then the chunk CRCs are combined.
# --------------------------------------------------------------------------------------

_CRC_CHUNK_B: Final = 64


def _crc_byte_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE: Final = _crc_byte_table()


def _crc_word_table() -> NDArray[np.uint16]:
    """Register after feeding one little-endian 16-bit word xored into it."""
    table = np.asarray(_CRC_TABLE, dtype=np.uint32)
    x = np.arange(65536, dtype=np.uint32)
    once = (x >> 8) ^ table[x & 0xFF]
    out: NDArray[np.uint16] = ((once >> 8) ^ table[once & 0xFF]).astype(np.uint16)
    return out


_CRC_WORD_TABLE: Final = _crc_word_table()


def _gf2_apply(matrix: list[int], vector: int) -> int:
    out = 0
    bit = 0
    while vector:
        if vector & 1:
            out ^= matrix[bit]
        vector >>= 1
        bit += 1
    return out


def _gf2_compose(outer: list[int], inner: list[int]) -> list[int]:
    return [_gf2_apply(outer, column) for column in inner]


@functools.cache
def _crc_shift_matrix(level: int) -> list[int]:
    """Linear map of the CRC register over ``_CRC_CHUNK_B * 2**level`` zero bytes."""
    if level > 0:
        half = _crc_shift_matrix(level - 1)
        return _gf2_compose(half, half)
    one_byte = [((1 << i) >> 8) ^ _CRC_TABLE[(1 << i) & 0xFF] for i in range(16)]
    result = [1 << i for i in range(16)]
    power = one_byte
    count = _CRC_CHUNK_B
    while count:
        if count & 1:
            result = _gf2_compose(power, result)
        power = _gf2_compose(power, power)
        count >>= 1
    return result


@functools.cache
def _crc_shift_tables(level: int) -> tuple[NDArray[np.uint16], NDArray[np.uint16]]:
    matrix = _crc_shift_matrix(level)
    values = np.arange(256, dtype=np.uint16)
    low = np.zeros(256, dtype=np.uint16)
    high = np.zeros(256, dtype=np.uint16)
    for bit in range(8):
        has_bit = ((values >> bit) & 1).astype(bool)
        low[has_bit] ^= np.uint16(matrix[bit])
        high[has_bit] ^= np.uint16(matrix[bit + 8])
    return low, high


def fit_crc16(data: bytes | memoryview) -> int:
    """FIT CRC-16 of ``data``."""
    size = len(data)
    if size < 4 * _CRC_CHUNK_B:
        crc = 0
        table = _CRC_TABLE
        for byte in bytes(data):
            crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
        return crc
    raw = np.frombuffer(data, dtype=np.uint8)
    pad = (-size) % _CRC_CHUNK_B
    if pad:  # leading zero bytes leave a zero-initialised CRC unchanged
        raw = np.concatenate([np.zeros(pad, dtype=np.uint8), raw])
    words = raw.view("<u2").reshape(-1, _CRC_CHUNK_B // 2).T.copy()
    word_table = _CRC_WORD_TABLE
    state = np.zeros(words.shape[1], dtype=np.uint16)
    for column in words:
        state = word_table[state ^ column]
    level = 0
    while state.size > 1:
        if state.size & 1:  # a leading all-zero chunk has CRC 0
            state = np.concatenate([np.zeros(1, dtype=np.uint16), state])
        low, high = _crc_shift_tables(level)
        left = state[0::2]
        state = low[left & 0xFF] ^ high[left >> 8] ^ state[1::2]
        level += 1
    return int(state[0])


# --------------------------------------------------------------------------------------
# Scan: headers and definitions
# --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Definition:
    """One definition message, as met during the scan."""

    global_num: int
    big_endian: bool
    size_b: int  #: bytes of a data message after its 1-byte header
    fields: dict[int, tuple[int, int, int]]  #: field number -> (offset, size, base type)
    local: int  #: local message type it defines
    at: int  #: offset of the definition message
    layout_key: bytes  #: the definition's bytes without its local message type
    parts: list[list[int] | range] = field(default_factory=list)  #: offsets of its messages


@dataclass(slots=True)
class _Layout:
    """All data messages that share one layout (identical definitions are merged)."""

    global_num: int
    big_endian: bool
    size_b: int
    fields: dict[int, tuple[int, int, int]]
    positions: NDArray[np.int64]  #: offsets of the message headers, ascending


@dataclass(slots=True)
class _Segment:
    start: int  #: offset of its file header
    data_start: int
    data_end: int  #: end of its messages (exclusive)


@dataclass(slots=True)
class _Scan:
    definitions: list[_Definition] = field(default_factory=list)
    segments: list[_Segment] = field(default_factory=list)
    layouts: list[_Layout] = field(default_factory=list)
    has_compressed: bool = False
    warnings: list[str] = field(default_factory=list)


#: Base-type bytes whose low five bits name a known base type.
_KNOWN_BASE_BYTES: Final = frozenset(b for b in range(256) if b & 0x1F in prof.BASE_TYPES)
_LOW5: Final = bytes(b & 0x1F for b in range(256))

_Parsed = tuple[int, bool, int, dict[int, tuple[int, int, int]]]
#: Parsed definitions by their bytes, shared by all files (devices repeat their definitions).
_DEFINITION_CACHE: dict[bytes, _Parsed] = {}
_DEFINITION_CACHE_SIZE: Final = 4096


def _parse_definition(
    data: bytes, pos: int, end: int, *, source: str, cache: dict[bytes, _Parsed]
) -> tuple[_Definition, int]:
    """Parse the definition message at ``pos``; identical definitions are parsed once."""
    header = data[pos]
    short = "definition message runs past the end of the data"
    if pos + 6 > end:
        raise CorruptFileError(source, short, offset=pos)
    stop = pos + 6 + 3 * data[pos + 5]
    if header & 0x20:  # developer fields follow: only their sizes matter here
        if stop + 1 > end:
            raise CorruptFileError(source, short, offset=pos)
        stop += 1 + 3 * data[stop]
    if stop > end:
        raise CorruptFileError(source, short, offset=pos)
    key = data[pos:stop]
    parsed = cache.get(key)
    if parsed is None:
        parsed = _parse_definition_body(key, source=source, offset=pos)
        cache[key] = parsed
    global_num, big_endian, size_b, fields = parsed
    layout_key = bytes((header & 0x20,)) + key[1:]
    definition = _Definition(global_num, big_endian, size_b, fields, header & 0x0F, pos, layout_key)
    return definition, stop


def _parse_definition_body(raw: bytes, *, source: str, offset: int) -> _Parsed:
    architecture = raw[2]
    if architecture > 1:
        raise CorruptFileError(
            source, f"definition message has architecture {architecture} (0 or 1 expected)",
            offset=offset + 2,
        )
    big_endian = architecture == 1
    global_num = int.from_bytes(raw[3:5], "big" if big_endian else "little")
    n_fields = raw[5]
    table = raw[6 : 6 + 3 * n_fields]
    nums, sizes, bases = table[0::3], table[1::3], table[2::3]
    if 0 in sizes:
        i = sizes.index(0)
        raise CorruptFileError(
            source, f"field {nums[i]} of message {global_num} has size 0", offset=offset + 7 + 3 * i
        )
    if not _KNOWN_BASE_BYTES.issuperset(bases):
        i = next(j for j, b in enumerate(bases) if b not in _KNOWN_BASE_BYTES)
        raise CorruptFileError(
            source, f"field {nums[i]} of message {global_num} has unknown base type {bases[i]}",
            offset=offset + 8 + 3 * i,
        )
    offsets = list(itertools.accumulate(sizes, initial=0))
    fields: dict[int, tuple[int, int, int]] = {}
    for num, field_offset, size, base in zip(
        nums, offsets, sizes, bases.translate(_LOW5), strict=False
    ):
        fields.setdefault(num, (field_offset, size, base))
    size_b = offsets[-1]
    if raw[0] & 0x20:
        dev_sizes = raw[6 + 3 * n_fields + 1 :][1::3]
        if 0 in dev_sizes:
            i = dev_sizes.index(0)
            raise CorruptFileError(
                source, f"developer field {i} of message {global_num} has size 0",
                offset=offset + 6 + 3 * n_fields + 2 + 3 * i,
            )
        size_b += sum(dev_sizes)
    return global_num, big_endian, size_b, fields


#: Scalar messages between two attempts to fast-forward over a repeating pattern.
_FAST_FORWARD_EVERY: Final = 16
_FAST_FORWARD_MAX_BACKOFF: Final = 512
_FAST_FORWARD_GOOD_JUMP: Final = 32
#: Longest repeating pattern (in messages) the fast-forward looks for.
_MAX_PERIOD: Final = 8
#: Cycles checked by the first look-ahead (then 4x more each time all match).
_FIRST_LOOKAHEAD: Final = 64


def _fast_forward(
    data: bytes, recent: list[int], pos: int, end: int, sizes: list[int],
    out: list[tuple[int, range]],
) -> int:
    """Skip over a run where the last ``p`` messages repeat, checking every header byte.

    Looks for the shortest period ``p`` (up to 8 messages) such that the last ``2p``
    messages repeat and the next header starts the pattern again. Then, for each message
    of the pattern, a strided bytes slice (C speed) holds the header bytes at its
    predicted offsets; the run lasts while all of them match. A definition or any other
    message breaks the match, so the result is exactly what the scalar loop would find.
    Appends (local message type, ``range`` of offsets) per message of the pattern to
    ``out`` and returns the offset after the run (``pos`` when nothing was skipped).
    """
    first = data[pos]
    if first >= 0x40:  # a definition or a compressed header comes next
        return pos
    for period in range(1, min(_MAX_PERIOD, len(recent) // 2) + 1):
        start = recent[-period]
        if data[start] != first:
            continue
        cycle = recent[-period:]
        headers = [data[p] for p in cycle]
        if any(data[recent[j - 2 * period]] != headers[j] for j in range(period)):
            continue
        bounds = [*cycle, pos]
        if any(
            h >= 0x40 or bounds[j + 1] - bounds[j] != sizes[h & 0x0F]
            for j, h in enumerate(headers)
        ):
            continue
        break
    else:
        return pos
    cycle_b = pos - start
    offsets = [p - start for p in cycle]
    patterns = [bytes((h,)) for h in headers]
    base = pos
    lookahead = _FIRST_LOOKAHEAD
    while base < end:
        stop = min(end, base + lookahead * cycle_b)
        matched = []
        for offset, pattern in zip(offsets, patterns, strict=True):
            column = data[base + offset : stop : cycle_b]
            matched.append(len(column) - len(column.lstrip(pattern)))
        full = min(matched)
        partial = 0
        while partial < period and matched[partial] > full:
            partial += 1
        for j, offset in enumerate(offsets):
            count = full + (j < partial)
            if count:
                first_at = base + offset
                out.append(
                    (headers[j] & 0x0F, range(first_at, first_at + count * cycle_b, cycle_b))
                )
        if partial or full < lookahead:
            # The run ends here: the next message starts where the pattern broke.
            return base + full * cycle_b + offsets[partial]
        base += full * cycle_b
        lookahead *= 4
    return base


def _undefined(offset: int) -> None:
    """Placeholder adder of a local message type not defined yet (never called)."""


def _scan_messages(data: bytes, start: int, end: int, scan: _Scan, *, source: str) -> None:
    """Walk the messages of one FIT file in ``data[start:end]``.

    Appends definitions to ``scan.definitions``, each with the offsets of its data
    messages. An offset is recorded before its message's end is checked, so after an
    error :func:`_assign_layouts` drops the messages that run past the data.
    """
    sizes = [0] * 16  # 1 + message size per local type; 0 = not defined
    current: list[_Definition | None] = [None] * 16
    adders: list[Callable[[int], None]] = [_undefined] * 16  # append to current's offsets
    definitions = scan.definitions
    cache = _DEFINITION_CACHE
    if len(cache) > _DEFINITION_CACHE_SIZE:
        cache.clear()
    recent: list[int] = []  # offsets of the latest messages, for the fast-forward
    append = recent.append
    pos = start
    countdown = backoff = _FAST_FORWARD_EVERY
    while pos < end:
        header = data[pos]
        if header < 0x40:  # normal header, data message
            local = header & 0x0F
        elif header >= 0x80:  # compressed-timestamp header, data message
            local = (header >> 5) & 0x03
            scan.has_compressed = True
        else:  # definition message
            definition, pos = _parse_definition(data, pos, end, source=source, cache=cache)
            local = definition.local
            sizes[local] = definition.size_b + 1
            current[local] = definition
            offsets: list[int] = []
            definition.parts.append(offsets)
            adders[local] = offsets.append
            definitions.append(definition)
            continue
        size = sizes[local]
        if not size:
            raise CorruptFileError(
                source, f"data message uses local message type {local} before its definition",
                offset=pos,
            )
        adders[local](pos)
        append(pos)
        pos += size
        countdown -= 1
        if not countdown and pos < end:
            jumped: list[tuple[int, range]] = []
            after = _fast_forward(data, recent, pos, end, sizes, jumped)
            for jump_local, run in jumped:
                owner = current[jump_local]
                assert owner is not None  # the pattern's sizes came from its definition
                offsets = []
                owner.parts += (run, offsets)
                adders[jump_local] = offsets.append
            pos = after
            del recent[:-_FAST_FORWARD_EVERY]
            # Back off where patterns are short-lived: there a look-ahead costs more than
            # the scalar loop it saves.
            if sum(len(r) for _, r in jumped) >= _FAST_FORWARD_GOOD_JUMP:
                backoff = _FAST_FORWARD_EVERY
            else:
                backoff = min(2 * backoff, _FAST_FORWARD_MAX_BACKOFF)
            countdown = backoff
    if pos > end:
        raise CorruptFileError(source, "the last message runs past the end of the data", offset=end)


def _scan(data: bytes, *, source: str, on_error: ErrorPolicy) -> _Scan:
    """Check headers and CRCs of every chained FIT file and locate all messages."""
    total = len(data)
    if total == 0:
        raise EmptyFileError(source, "the file is empty (0 bytes)", offset=0)
    if total < _MIN_HEADER_B or data[8:12] != _SIGNATURE:
        raise UnsupportedFormatError(source, "not a FIT file (no '.FIT' signature in the header)")
    scan = _Scan()
    pos = 0
    try:
        while pos < total:
            pos = _scan_segment(data, pos, scan, source=source, on_error=on_error)
    except CorruptFileError as exc:
        if on_error is not ErrorPolicy.WARN:
            raise
        scan.warnings.append(str(exc))
    _assign_layouts(scan)
    return scan


def _scan_segment(
    data: bytes, pos: int, scan: _Scan, *, source: str, on_error: ErrorPolicy
) -> int:
    total = len(data)
    number = len(scan.segments) + 1
    what = "FIT header" if number == 1 else f"header of chained FIT file {number}"
    if pos + _MIN_HEADER_B > total:
        raise TruncatedFileError(source, f"{what} is cut short ({total - pos} bytes)", offset=pos)
    header_b = data[pos]
    if header_b < _MIN_HEADER_B or data[pos + 8 : pos + 12] != _SIGNATURE:
        raise CorruptFileError(source, f"{what} is corrupt (no '.FIT' signature)", offset=pos)
    if pos + header_b > total:
        raise TruncatedFileError(source, f"{what} is cut short ({total - pos} bytes)", offset=pos)
    if header_b >= 14:
        header_crc = int.from_bytes(data[pos + 12 : pos + 14], "little")
        if header_crc and header_crc != fit_crc16(data[pos : pos + 12]):  # 0 = not computed
            raise ChecksumError(source, f"{what}: header CRC does not match", offset=pos + 12)
    data_size = int.from_bytes(data[pos + 4 : pos + 8], "little")
    data_start = pos + header_b
    data_end = data_start + data_size
    segment = _Segment(pos, data_start, min(data_end, total))
    scan.segments.append(segment)
    if data_end + _CRC_B > total:
        truncated = TruncatedFileError(
            source,
            f"{what} declares {data_size} data bytes + CRC, up to byte {data_end + _CRC_B}, "
            f"but the file ends",
            offset=total,
        )
        if on_error is not ErrorPolicy.WARN:
            raise truncated
        # WARN: decode the complete messages, then report the truncation.
        with contextlib.suppress(CorruptFileError):
            _scan_messages(data, data_start, segment.data_end, scan, source=source)
        raise truncated
    stored_crc = int.from_bytes(data[data_end : data_end + _CRC_B], "little")
    computed_crc = fit_crc16(memoryview(data)[pos:data_end])
    if stored_crc != computed_crc:
        bad_crc = ChecksumError(
            source,
            f"file CRC does not match (stored 0x{stored_crc:04X}, computed 0x{computed_crc:04X})",
            offset=data_end,
        )
        if on_error is ErrorPolicy.RAISE:
            raise bad_crc
        scan.warnings.append(str(bad_crc))
    _scan_messages(data, data_start, data_end, scan, source=source)
    return data_end + _CRC_B


def _assign_layouts(scan: _Scan) -> None:
    """Merge the messages of identical definitions into layouts, in file order.

    A file that re-sends its definitions is thus decoded in a few gathers. Messages that
    run past their file's data (only possible after an error) are dropped.
    """
    seg_starts = np.array([s.start for s in scan.segments], dtype=np.int64)
    seg_ends = np.array([s.data_end for s in scan.segments], dtype=np.int64)
    merged: dict[bytes, tuple[_Definition, list[NDArray[np.int64]]]] = {}
    for definition in scan.definitions:
        arrays = [
            np.arange(p.start, p.stop, p.step, dtype=np.int64) if isinstance(p, range)
            else np.array(p, dtype=np.int64)
            for p in definition.parts
            if len(p)
        ]
        if arrays:
            merged.setdefault(definition.layout_key, (definition, []))[1].extend(arrays)
    layouts = []
    for definition, arrays in merged.values():
        positions = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
        if positions.size > 1 and (np.diff(positions) < 0).any():
            positions = np.sort(positions, kind="stable")
        if scan.warnings:  # after an error, drop messages cut by the end of the data
            segment = np.searchsorted(seg_starts, positions, side="right") - 1
            positions = positions[positions + 1 + definition.size_b <= seg_ends[segment]]
            if not positions.size:
                continue
        layouts.append(
            _Layout(
                definition.global_num, definition.big_endian, definition.size_b,
                definition.fields, positions,
            )
        )
    scan.layouts = layouts


# --------------------------------------------------------------------------------------
# Field decoding: one numpy gather per field per definition
# --------------------------------------------------------------------------------------


class _Fields:
    """Vectorised field reads over one file's bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.u8 = np.frombuffer(data, dtype=np.uint8)
        self._views: dict[str, NDArray[Any]] = {}

    def _view(self, dtype: str) -> NDArray[Any]:
        view = self._views.get(dtype)
        if view is None:
            dt = np.dtype(dtype)
            count = len(self.data) - dt.itemsize + 1
            view = np.ndarray(
                shape=(max(count, 0),), dtype=dt, buffer=self.data, offset=0, strides=(1,)
            )
            self._views[dtype] = view
        return view

    def raw(
        self, definition: _Layout, positions: NDArray[np.int64], num: int, *, elements: int = 1
    ) -> tuple[NDArray[Any], NDArray[np.bool_], prof.BaseType] | None:
        """Raw values (first ``elements`` elements) and validity of field ``num``."""
        spec = definition.fields.get(num)
        if spec is None:
            return None
        offset, size, base_num = spec
        base = prof.BASE_TYPES[base_num]
        if size % base.size_b:
            base = prof.BYTE_FALLBACK  # as the FIT SDK does for misaligned fields
        count = min(elements, size // base.size_b)
        index = positions + (1 + offset)
        if count > 1:
            index = (index[:, None] + np.arange(count, dtype=np.int64) * base.size_b).ravel()
        if base.size_b == 1:
            unsigned: NDArray[Any] = self.u8[index]
        else:
            order = ">" if definition.big_endian else "<"
            unsigned = self._view(f"{order}u{base.size_b}")[index].astype(f"=u{base.size_b}")
        valid = unsigned != base.invalid
        if base.kind[0] == "u":
            values = unsigned
        else:
            values = unsigned.view(f"={base.kind}")
            if base.kind[0] == "f":
                valid &= np.isfinite(values)
        if count > 1:
            values = values.reshape(-1, count)
            valid = valid.reshape(-1, count)
        return values, valid, base

    def floats(
        self, definition: _Layout, positions: NDArray[np.int64], spec: prof.FieldSpec
    ) -> NDArray[np.float64] | None:
        """Field ``spec`` as float64 with scale/offset applied and NaN where invalid."""
        got = self.raw(definition, positions, spec.num)
        if got is None:
            return None
        values, valid, _ = got
        out = values.astype(np.float64)
        out[~valid] = np.nan
        if spec.scale != 1.0:
            out /= spec.scale
        if spec.offset:
            out -= spec.offset
        return out

    def timestamps(
        self, definition: _Layout, positions: NDArray[np.int64]
    ) -> NDArray[np.int64] | None:
        """Field 253 (FIT seconds) as int64, -1 where invalid; None if not defined."""
        got = self.raw(definition, positions, prof.FIELD_TIMESTAMP)
        if got is None:
            return None
        values, valid, _ = got
        out = values.astype(np.int64)
        out[~valid] = -1
        return out

    def string(self, definition: _Layout, position: int, num: int) -> str | None:
        spec = definition.fields.get(num)
        if spec is None:
            return None
        offset, size, _ = spec
        start = position + 1 + offset
        text = self.data[start : start + size].split(b"\0", 1)[0]
        return text.decode("utf-8", errors="replace") or None


# --------------------------------------------------------------------------------------
# Decoded file
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FitDecoded:
    """Columns decoded from a FIT file (all chained files concatenated), in file order.

    Times are ``datetime64[ns]`` arrays in UTC (NaT where unknown); other columns are
    float64 with NaN where the value is invalid or absent.
    """

    records: dict[str, NDArray[Any]]  #: "time" + SAMPLE_COLUMNS
    laps: dict[str, NDArray[Any]]  #: "started_at", "ended_at" + unit-named columns
    sessions: dict[str, NDArray[Any]]  #: like laps, plus "sport" and "sub_sport"
    rr_ms: NDArray[np.float64]  #: RR intervals from HRV messages, invalid ones dropped
    file_id: dict[str, int | str | None]  #: of the first FIT file: type, manufacturer...
    sport: tuple[int | None, int | None]  #: (sport, sub_sport) from the sport message
    message_counts: dict[int, int]  #: global message number -> data messages
    n_files: int  #: number of chained FIT files
    warnings: tuple[str, ...] = ()


def _fit_s_to_datetime64(seconds: NDArray[np.int64]) -> NDArray[np.datetime64]:
    ns = (seconds + prof.FIT_EPOCH_UNIX_S) * _NS_PER_S
    ns[seconds < 0] = _NAT
    return ns.view("datetime64[ns]")


def _event_timestamps(
    reader: _Fields, scan: _Scan
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Every point where the 'current timestamp' is set, in file order.

    Returns (offsets, FIT seconds or -1 when unknown). Absolute timestamps come from
    field 253 of any message; a compressed header adds its 5-bit offset to the last
    timestamp (rolling over every 32 s); a new chained file forgets the timestamp.
    """
    event_pos: list[NDArray[np.int64]] = []
    event_kind: list[NDArray[np.int8]] = []  # 0 absolute, 1 compressed, 2 reset
    event_value: list[NDArray[np.int64]] = []
    for definition in scan.layouts:
        positions = definition.positions
        compressed = reader.u8[positions] >= 0x80 if scan.has_compressed else None
        if compressed is not None and compressed.any():
            cpos = positions[compressed]
            event_pos.append(cpos)
            event_kind.append(np.ones(cpos.size, dtype=np.int8))
            event_value.append((reader.u8[cpos] & 0x1F).astype(np.int64))
            positions = positions[~compressed]
        stamps = reader.timestamps(definition, positions)
        if stamps is not None:
            ok = stamps >= 0
            event_pos.append(positions[ok])
            event_kind.append(np.zeros(int(ok.sum()), dtype=np.int8))
            event_value.append(stamps[ok])
    starts = np.array([s.start for s in scan.segments], dtype=np.int64)
    event_pos.append(starts)
    event_kind.append(np.full(starts.size, 2, dtype=np.int8))
    event_value.append(np.full(starts.size, -1, dtype=np.int64))
    pos = np.concatenate(event_pos)
    order = np.argsort(pos, kind="stable")
    pos = pos[order]
    kind = np.concatenate(event_kind)[order]
    value = np.concatenate(event_value)[order]
    is_compressed = kind == 1
    low5 = np.where(is_compressed, value, value & 0x1F)
    delta = np.zeros(pos.size, dtype=np.int64)
    delta[1:] = (low5[1:] - low5[:-1]) & 0x1F
    delta[~is_compressed] = 0
    run_start = np.flatnonzero(~is_compressed)  # resets come first, so index 0 is a start
    run_id = np.cumsum(~is_compressed) - 1
    cumulative = np.cumsum(delta)
    base = value[run_start][run_id]
    stamps = base + cumulative - cumulative[run_start][run_id]
    stamps[base < 0] = -1
    return pos, stamps


def _resolve_times(
    reader: _Fields,
    scan: _Scan,
    positions: NDArray[np.int64],
    own: NDArray[np.int64],
    events: tuple[NDArray[np.int64], NDArray[np.int64]] | None,
) -> tuple[NDArray[np.int64], tuple[NDArray[np.int64], NDArray[np.int64]] | None]:
    """Timestamps of the messages at ``positions``: their own, else the last known one."""
    missing = own < 0
    if scan.has_compressed:
        missing |= reader.u8[positions] >= 0x80
    if not missing.any():
        return own, events
    if events is None:
        events = _event_timestamps(reader, scan)
    event_pos, event_stamp = events
    at = np.searchsorted(event_pos, positions[missing], side="right") - 1
    resolved = own.copy()
    resolved[missing] = np.where(at >= 0, event_stamp[np.maximum(at, 0)], -1)
    return resolved, events


def _concat_groups(
    reader: _Fields,
    definitions: list[_Layout],
) -> tuple[list[tuple[_Layout, NDArray[np.int64]]], NDArray[np.int64]]:
    groups = [(d, d.positions) for d in definitions]
    if not groups:
        return [], np.zeros(0, dtype=np.int64)
    return groups, np.concatenate([p for _, p in groups])


def _decode_columns(
    reader: _Fields,
    scan: _Scan,
    global_num: int,
    specs: tuple[prof.FieldSpec, ...],
    events: tuple[NDArray[np.int64], NDArray[np.int64]] | None,
) -> tuple[
    dict[str, NDArray[Any]],
    NDArray[np.int64],
    list[tuple[_Layout, NDArray[np.int64]]],
    tuple[NDArray[np.int64], NDArray[np.int64]] | None,
]:
    """Decode ``specs`` (+ resolved timestamps "time_s") of all messages ``global_num``.

    Returns (columns in file order, positions in file order, groups, events).
    """
    definitions = [d for d in scan.layouts if d.global_num == global_num]
    groups, positions = _concat_groups(reader, definitions)
    columns: dict[str, NDArray[Any]] = {}
    n = positions.size
    for spec in specs:
        parts = []
        for definition, pos in groups:
            values = reader.floats(definition, pos, spec)
            parts.append(values if values is not None else np.full(pos.size, np.nan))
        columns[spec.name] = np.concatenate(parts) if parts else np.zeros(0)
    own_parts = []
    for definition, pos in groups:
        stamps = reader.timestamps(definition, pos)
        own_parts.append(stamps if stamps is not None else np.full(pos.size, -1, dtype=np.int64))
    own = np.concatenate(own_parts) if own_parts else np.zeros(0, dtype=np.int64)
    time_s, events = _resolve_times(reader, scan, positions, own, events)
    columns["time_s"] = time_s
    if len(groups) > 1:
        order = np.argsort(positions, kind="stable")
        positions = positions[order]
        columns = {name: col[order] for name, col in columns.items()}
    assert all(col.shape[0] == n for col in columns.values())
    return columns, positions, groups, events


def _expand_compressed_speed_distance(
    reader: _Fields,
    groups: list[tuple[_Layout, NDArray[np.int64]]],
    positions: NDArray[np.int64],
    columns: dict[str, NDArray[Any]],
    scan: _Scan,
) -> None:
    """record.compressed_speed_distance -> speed_mps, distance_m where those are absent."""
    if not any(prof.RECORD_COMPRESSED_SPEED_DISTANCE in d.fields for d, _ in groups):
        return
    raw = np.zeros((positions.size, 3), dtype=np.int64)
    valid = np.zeros(positions.size, dtype=bool)
    start = 0
    for definition, pos in groups:
        got = reader.raw(definition, pos, prof.RECORD_COMPRESSED_SPEED_DISTANCE, elements=3)
        stop = start + pos.size
        if got is not None and got[0].ndim == 2:
            values, ok, _ = got
            raw[start:stop] = values
            valid[start:stop] = ok.any(axis=1)
        start = stop
    if len(groups) > 1:
        order = np.argsort(np.concatenate([p for _, p in groups]), kind="stable")
        raw, valid = raw[order], valid[order]
    speed = (raw[:, 0] | ((raw[:, 1] & 0x0F) << 8)) / 100.0
    distance_raw = (raw[:, 1] >> 4) | (raw[:, 2] << 4)
    # Accumulate the 12-bit distance per chained file, from 0 at each file's start.
    segment_of = np.searchsorted(
        np.array([s.start for s in scan.segments], dtype=np.int64), positions, side="right"
    )
    idx = np.flatnonzero(valid)
    delta = np.zeros(idx.size, dtype=np.int64)
    if idx.size:
        delta[0] = distance_raw[idx[0]]
        delta[1:] = (distance_raw[idx[1:]] - distance_raw[idx[:-1]]) & 0xFFF
        new_segment = np.flatnonzero(np.diff(segment_of[idx]) != 0) + 1
        delta[new_segment] = distance_raw[idx[new_segment]]
    cumulative = np.cumsum(delta)
    if idx.size:
        seg_first = np.maximum.accumulate(
            np.where(np.r_[True, np.diff(segment_of[idx]) != 0], np.arange(idx.size), 0)
        )
        cumulative = cumulative - cumulative[seg_first] + delta[seg_first]
    distance = np.full(positions.size, np.nan)
    distance[idx] = cumulative / 16.0
    for name, derived in (("speed_mps", np.where(valid, speed, np.nan)), ("distance_m", distance)):
        column = columns[name]
        fill = np.isnan(column)
        column[fill] = derived[fill]


def _records(
    reader: _Fields, scan: _Scan, events: tuple[NDArray[np.int64], NDArray[np.int64]] | None
) -> tuple[dict[str, NDArray[Any]], tuple[NDArray[np.int64], NDArray[np.int64]] | None]:
    cols, positions, groups, events = _decode_columns(
        reader, scan, prof.MESG_RECORD, prof.RECORD_FIELDS, events
    )
    enhanced_speed = cols.pop("enhanced_speed_mps")
    enhanced_altitude = cols.pop("enhanced_altitude_m")
    speed = np.where(np.isnan(enhanced_speed), cols["speed_mps"], enhanced_speed)
    altitude = np.where(np.isnan(enhanced_altitude), cols["altitude_m"], enhanced_altitude)
    cols["speed_mps"] = speed
    cols["altitude_m"] = altitude
    _expand_compressed_speed_distance(reader, groups, positions, cols, scan)
    time_s = cols.pop("time_s").astype(np.int64)
    out: dict[str, NDArray[Any]] = {Col.TIME.value: _fit_s_to_datetime64(time_s)}
    out[Col.LAT_DEG.value] = cols.pop("lat_semicircles") * SEMICIRCLE_TO_DEG
    out[Col.LON_DEG.value] = cols.pop("lon_semicircles") * SEMICIRCLE_TO_DEG
    for name in SAMPLE_COLUMNS:
        if name not in out:
            out[name] = cols[name]
    return out, events


def _summaries(
    reader: _Fields,
    scan: _Scan,
    global_num: int,
    specs: tuple[prof.FieldSpec, ...],
    events: tuple[NDArray[np.int64], NDArray[np.int64]] | None,
) -> tuple[dict[str, NDArray[Any]], tuple[NDArray[np.int64], NDArray[np.int64]] | None]:
    """Lap or session columns: started_at/ended_at + the unit-named values."""
    cols, _, _, events = _decode_columns(reader, scan, global_num, specs, events)
    end_s = cols.pop("time_s").astype(np.int64)
    start = cols.pop("start_time_s")
    duration = cols["duration_s"]
    start_int = np.full(end_s.size, -1, dtype=np.int64)
    has_start = ~np.isnan(start)
    start_int[has_start] = start[has_start].astype(np.int64)
    derive = ~has_start & (end_s >= 0) & ~np.isnan(duration)  # start = end - elapsed
    start_int[derive] = np.round(end_s[derive] - duration[derive]).astype(np.int64)
    out: dict[str, NDArray[Any]] = {
        "started_at": _fit_s_to_datetime64(start_int),
        "ended_at": _fit_s_to_datetime64(end_s),
    }
    out.update(cols)
    return out, events


def _first_message(
    reader: _Fields, scan: _Scan, global_num: int
) -> tuple[_Layout, int] | None:
    best: tuple[_Layout, int] | None = None
    for definition in scan.layouts:
        if definition.global_num == global_num and definition.positions.size:
            pos = int(definition.positions[0])
            if best is None or pos < best[1]:
                best = (definition, pos)
    return best


def _scalar(reader: _Fields, found: tuple[_Layout, int], spec: prof.FieldSpec) -> int | None:
    definition, pos = found
    values = reader.floats(definition, np.array([pos], dtype=np.int64), spec)
    if values is None or np.isnan(values[0]):
        return None
    return int(values[0])


def _rr_intervals(reader: _Fields, scan: _Scan) -> NDArray[np.float64]:
    parts: list[tuple[NDArray[np.int64], NDArray[np.float64]]] = []
    for definition in scan.layouts:
        if definition.global_num != prof.MESG_HRV:
            continue
        spec = definition.fields.get(prof.HRV_TIME)
        if spec is None:
            continue
        positions = definition.positions
        got = reader.raw(definition, positions, prof.HRV_TIME, elements=spec[1])
        if got is None:
            continue
        values, valid, _ = got
        values = values.reshape(positions.size, -1)
        valid = valid.reshape(positions.size, -1)
        order_key = np.repeat(positions, values.shape[1])
        keep = valid.ravel()
        # hrv.time is in 1/1000 s, i.e. already in milliseconds.
        parts.append((order_key[keep], values.ravel()[keep].astype(np.float64)))
    if not parts:
        return np.zeros(0, dtype=np.float64)
    keys = np.concatenate([k for k, _ in parts])
    rr = np.concatenate([v for _, v in parts])
    return rr[np.argsort(keys, kind="stable")]


def decode_fit(
    data: bytes, *, source: str, on_error: ErrorPolicy = ErrorPolicy.RAISE
) -> FitDecoded:
    """Decode the messages Lydiard needs from a FIT file (chained files concatenated)."""
    data = bytes(data)
    scan = _scan(data, source=source, on_error=on_error)
    reader = _Fields(data)
    events: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None
    records, events = _records(reader, scan, events)
    laps, events = _summaries(reader, scan, prof.MESG_LAP, prof.LAP_FIELDS, events)
    sessions, events = _summaries(reader, scan, prof.MESG_SESSION, prof.SESSION_FIELDS, events)
    file_id: dict[str, int | str | None] = {}
    first = _first_message(reader, scan, prof.MESG_FILE_ID)
    if first is not None:
        for spec in prof.FILE_ID_FIELDS:
            file_id[spec.name] = _scalar(reader, first, spec)
        file_id["product_name"] = reader.string(first[0], first[1], prof.FILE_ID_PRODUCT_NAME)
    sport: tuple[int | None, int | None] = (None, None)
    first = _first_message(reader, scan, prof.MESG_SPORT)
    if first is not None:
        sport = (_scalar(reader, first, prof.SPORT_FIELDS[0]),
                 _scalar(reader, first, prof.SPORT_FIELDS[1]))
    counts: dict[int, int] = {}
    for definition in scan.layouts:
        counts[definition.global_num] = (
            counts.get(definition.global_num, 0) + definition.positions.size
        )
    return FitDecoded(
        records=records,
        laps=laps,
        sessions=sessions,
        rr_ms=_rr_intervals(reader, scan),
        file_id=file_id,
        sport=sport,
        message_counts=counts,
        n_files=len(scan.segments),
        warnings=tuple(scan.warnings),
    )


# --------------------------------------------------------------------------------------
# Activity
# --------------------------------------------------------------------------------------


def _lydiard_sport(sport: int | None, sub_sport: int | None) -> str:
    if sport is None:
        return "other"
    if sport in prof.SPORTS_DECIDED_BY_SUB_SPORT and sub_sport is not None:
        return prof.SUB_SPORT_TO_LYDIARD.get(sub_sport, "other")
    return prof.SPORT_TO_LYDIARD.get(sport, "other")


def _sub_sport_name(sub_sport: int | None) -> str | None:
    if sub_sport is None:
        return None
    return prof.SUB_SPORT_NAMES.get(sub_sport, str(sub_sport))


def _device(file_id: dict[str, int | str | None]) -> str | None:
    manufacturer = file_id.get("manufacturer")
    if not isinstance(manufacturer, int):
        return None
    name = prof.MANUFACTURER_NAMES.get(manufacturer, str(manufacturer))
    product = file_id.get("product_name") or file_id.get("product")
    return f"{name} {product}" if product is not None else name


def _weighted_mean(values: NDArray[np.float64], weights: NDArray[np.float64]) -> float | None:
    ok = ~np.isnan(values)
    if not ok.any():
        return None
    w = np.where(np.isnan(weights), 0.0, weights)[ok]
    if w.sum() <= 0:
        return float(values[ok].mean())
    return float((values[ok] * w).sum() / w.sum())


def _to_utc(value: np.datetime64) -> datetime:
    ns = int(value.astype("datetime64[ns]").astype(np.int64))
    return datetime.fromtimestamp(ns // _NS_PER_S, tz=UTC).replace(
        microsecond=(ns % _NS_PER_S) // 1000
    )


def _nan_stat(values: NDArray[Any], how: str) -> float | None:
    arr = np.asarray(values, dtype=np.float64)
    ok = arr[~np.isnan(arr)]
    if ok.size == 0:
        return None
    return float(ok.mean() if how == "mean" else ok.max())


def _summary(decoded: FitDecoded, *, source: str) -> ActivitySummary:
    sessions = decoded.sessions
    records = decoded.records
    device = _device(decoded.file_id)
    sport_num, sub_num = decoded.sport
    started = np.asarray(sessions["started_at"])
    usable = ~np.isnat(started) if started.size else np.zeros(0, dtype=bool)
    if usable.any():
        sports = {
            (None if np.isnan(s) else int(s), None if np.isnan(b) else int(b))
            for s, b in zip(sessions["sport"][usable], sessions["sub_sport"][usable], strict=True)
        }
        sports.discard((3, None))  # transitions do not make a triathlon "other"
        lydiard_sports = {_lydiard_sport(s, b) for s, b in sports}
        if len(lydiard_sports) == 1:
            sport = lydiard_sports.pop()
            subs = {b for _, b in sports}
            sub_sport = _sub_sport_name(subs.pop()) if len(subs) == 1 else None
        else:
            sport, sub_sport = "other", "multisport"
        duration = np.asarray(sessions["duration_s"], dtype=np.float64)[usable]
        timer = np.asarray(sessions["timer_time_s"], dtype=np.float64)[usable]
        distance = np.asarray(sessions["distance_m"], dtype=np.float64)[usable]
        duration_s = float(np.nansum(duration))
        timer_s = float(np.nansum(timer)) if (~np.isnan(timer)).any() else duration_s
        return ActivitySummary(
            sport=sport,
            started_at=_to_utc(started[usable].min()),
            duration_s=duration_s,
            moving_time_s=timer_s,
            distance_m=float(np.nansum(distance)) if (~np.isnan(distance)).any() else None,
            avg_hr_bpm=_weighted_mean(
                np.asarray(sessions["avg_hr_bpm"], dtype=np.float64)[usable], duration
            ),
            max_hr_bpm=_nan_stat(np.asarray(sessions["max_hr_bpm"])[usable], "max"),
            avg_power_w=_weighted_mean(
                np.asarray(sessions["avg_power_w"], dtype=np.float64)[usable], duration
            ),
            sub_sport=sub_sport,
            device=device,
        )
    # No usable session: summarise the records (and laps for the start time).
    times = np.asarray(records[Col.TIME.value])
    times = times[~np.isnat(times)]
    lap_starts = np.asarray(decoded.laps["started_at"])
    lap_starts = lap_starts[~np.isnat(lap_starts)]
    if times.size:
        started_at = times.min()
        seconds = (times.astype(np.int64) / _NS_PER_S).astype(np.float64)
        duration_s = float(seconds.max() - seconds.min())
    elif lap_starts.size:
        started_at = lap_starts.min()
        duration_s = float(np.nansum(np.asarray(decoded.laps["duration_s"], dtype=np.float64)))
    else:
        raise EmptyFileError(source, "FIT file holds no timestamped record, lap or session")
    speed = np.asarray(records[Col.SPEED_MPS.value], dtype=np.float64)
    all_times = np.asarray(records[Col.TIME.value])
    if times.size > 1 and (~np.isnan(speed)).any():
        ok = ~np.isnat(all_times)
        t = all_times[ok].astype(np.int64) / _NS_PER_S
        gaps = np.diff(t)
        moving = (speed[ok][1:] > _MOVING_SPEED_MPS) & (gaps > 0) & (gaps <= _MAX_MOVING_GAP_S)
        moving_time_s = float(gaps[moving].sum())
    else:
        moving_time_s = duration_s
    distance = np.asarray(records[Col.DISTANCE_M.value], dtype=np.float64)
    return ActivitySummary(
        sport=_lydiard_sport(sport_num, sub_num),
        started_at=_to_utc(started_at),
        duration_s=duration_s,
        moving_time_s=moving_time_s,
        distance_m=_nan_stat(distance, "max"),
        avg_hr_bpm=_nan_stat(records[Col.HR_BPM.value], "mean"),
        max_hr_bpm=_nan_stat(records[Col.HR_BPM.value], "max"),
        avg_power_w=_nan_stat(records[Col.POWER_W.value], "mean"),
        sub_sport=_sub_sport_name(sub_num),
        device=device,
    )


_EMPTY_LAPS: Final = empty_laps()


def _utc_index(values: NDArray[Any]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.asarray(values, dtype="datetime64[ns]"), tz=UTC, copy=False)




def _records_frame(records: dict[str, NDArray[Any]]) -> pd.DataFrame:
    columns: dict[Hashable, object] = {Col.TIME.value: _utc_index(records[Col.TIME.value])}
    for name in SAMPLE_COLUMNS:
        columns[name] = np.asarray(records[name], dtype=np.float64)
    return fast_frame(columns, len(records[Col.TIME.value]))


def _laps_frame(laps: dict[str, NDArray[Any]]) -> pd.DataFrame:
    if not laps["started_at"].size:
        return _EMPTY_LAPS.copy()
    columns: dict[Hashable, object] = {LapCol.STARTED_AT.value: _utc_index(laps["started_at"])}
    for name in LAP_COLUMNS[1:]:
        columns[name] = np.asarray(laps[name], dtype=np.float64)
    return fast_frame(columns, len(laps["started_at"]))


def read_fit(
    data: bytes, *, source: str, on_error: ErrorPolicy = ErrorPolicy.RAISE
) -> Activity:
    """Read a FIT activity (chained FIT files are concatenated).

    Raises a :class:`lydiard.errors.IngestError` subclass naming ``source``: damaged
    bytes (``CorruptFileError``, ``TruncatedFileError``, ``ChecksumError``, unless
    ``on_error`` is ``WARN``), an empty file or a FIT file without records, laps or
    sessions (``EmptyFileError``), or bytes that are not FIT (``UnsupportedFormatError``).
    """
    decoded = decode_fit(data, source=source, on_error=on_error)
    summary = _summary(decoded, source=source)
    return Activity(
        records=_records_frame(decoded.records),
        summary=summary,
        laps=_laps_frame(decoded.laps),
        rr_ms=decoded.rr_ms,
        source_format="fit",
        warnings=decoded.warnings,
    )
