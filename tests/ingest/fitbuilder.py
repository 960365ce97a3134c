"""A tiny FIT *encoder* for tests: builds synthetic FIT bytes message by message.

It is written independently of the decoder (its CRC is the plain bytewise algorithm of
the FIT protocol), so the decoder's tests do not check the decoder against itself.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

FIT_EPOCH_UNIX_S = 631_065_600

# base type byte, struct code, size, invalid
ENUM = (0x00, "B", 1, 0xFF)
SINT8 = (0x01, "b", 1, 0x7F)
UINT8 = (0x02, "B", 1, 0xFF)
SINT16 = (0x83, "h", 2, 0x7FFF)
UINT16 = (0x84, "H", 2, 0xFFFF)
SINT32 = (0x85, "i", 4, 0x7FFF_FFFF)
UINT32 = (0x86, "I", 4, 0xFFFF_FFFF)
STRING = (0x07, "s", 1, 0)
FLOAT32 = (0x88, "f", 4, None)
UINT8Z = (0x0A, "B", 1, 0)
UINT16Z = (0x8B, "H", 2, 0)
UINT32Z = (0x8C, "I", 4, 0)
BYTE = (0x0D, "B", 1, 0xFF)

BaseType = tuple[int, str, int, int | None]

_CRC_TABLE = (
    0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
    0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400,
)


def crc16(data: bytes, crc: int = 0) -> int:
    """FIT CRC, nibble by nibble as in the FIT protocol document."""
    for byte in data:
        tmp = _CRC_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _CRC_TABLE[byte & 0xF]
        tmp = _CRC_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _CRC_TABLE[(byte >> 4) & 0xF]
    return crc


@dataclass
class _Def:
    global_num: int
    fields: list[tuple[int, int, BaseType]]  # (number, size in bytes, base type)
    big_endian: bool
    dev_fields: list[tuple[int, int, int]]  # (number, size, developer data index)


@dataclass
class FitBuilder:
    """Build one FIT file: header, messages, CRC."""

    header_size: int = 14
    header_crc: bool = True  #: False writes 0x0000 (allowed: "not computed")
    body: bytearray = field(default_factory=bytearray)
    defs: dict[int, _Def] = field(default_factory=dict)

    def definition(
        self,
        local: int,
        global_num: int,
        fields: Sequence[tuple[int, int, BaseType] | tuple[int, BaseType]],
        *,
        big_endian: bool = False,
        dev_fields: Sequence[tuple[int, int, int]] = (),
    ) -> FitBuilder:
        """Define ``local``; a field is (number, base type) or (number, size, base type)."""
        full = [(f[0], f[1][2], f[1]) if len(f) == 2 else f for f in fields]
        header = 0x40 | (0x20 if dev_fields else 0) | local
        order = ">" if big_endian else "<"
        out = bytearray([header, 0, 1 if big_endian else 0])
        out += struct.pack(order + "H", global_num)
        out.append(len(full))
        for num, size, base in full:
            out += bytes([num, size, base[0]])
        if dev_fields:
            out.append(len(dev_fields))
            for num, size, index in dev_fields:
                out += bytes([num, size, index])
        self.body += out
        self.defs[local] = _Def(global_num, full, big_endian, list(dev_fields))
        return self

    def data(
        self,
        local: int,
        values: Sequence[object],
        *,
        time_offset: int | None = None,
        dev_bytes: bytes = b"",
    ) -> FitBuilder:
        """One data message; ``None`` writes the invalid value; lists fill array fields.

        ``time_offset`` (0-31) writes a compressed-timestamp header (local 0-3).
        """
        d = self.defs[local]
        if time_offset is None:
            out = bytearray([local])
        else:
            assert local < 4 and 0 <= time_offset < 32
            out = bytearray([0x80 | (local << 5) | time_offset])
        order = ">" if d.big_endian else "<"
        for (_, size, base), value in zip(d.fields, values, strict=True):
            _, code, base_size, invalid = base
            if code == "s":
                raw = (value or b"") if isinstance(value, bytes) else str(value or "").encode()
                out += raw[:size].ljust(size, b"\0")
                continue
            count = size // base_size
            items = list(value) if isinstance(value, list | tuple) else [value]
            items += [None] * (count - len(items))
            for item in items[:count]:
                if item is None:
                    sentinel = (1 << (8 * base_size)) - 1 if invalid is None else invalid
                    out += sentinel.to_bytes(base_size, "big" if d.big_endian else "little")
                else:
                    out += struct.pack(order + code, item)
            out += b"\0" * (size - count * base_size)
        dev_size = sum(s for _, s, _ in d.dev_fields)
        out += dev_bytes.ljust(dev_size, b"\0")[:dev_size]
        self.body += out
        return self

    def raw(self, data: bytes) -> FitBuilder:
        self.body += data
        return self

    def build(self, *, data_size: int | None = None, file_crc: int | None = None) -> bytes:
        size = len(self.body) if data_size is None else data_size
        header = bytearray([self.header_size, 0x20])
        header += struct.pack("<HI", 2132, size) + b".FIT"
        if self.header_size == 14:
            header += struct.pack("<H", crc16(bytes(header)) if self.header_crc else 0)
        content = bytes(header) + bytes(self.body)
        crc = crc16(content) if file_crc is None else file_crc
        return content + struct.pack("<H", crc)


def reseal(fit: bytes) -> bytes:
    """Fix the data size and CRCs of a single FIT file after its body was edited."""
    header_size = fit[0]
    body = fit[header_size:-2]
    header = bytearray(fit[:header_size])
    header[4:8] = struct.pack("<I", len(body))
    if header_size >= 14:
        header[12:14] = struct.pack("<H", crc16(bytes(header[:12])))
    content = bytes(header) + body
    return content + struct.pack("<H", crc16(content))


def fit_s(unix_s: int) -> int:
    """FIT timestamp (seconds since 1989-12-31) of a Unix time."""
    return unix_s - FIT_EPOCH_UNIX_S


# Profile numbers used by the tests.
FILE_ID, SPORT, SESSION, LAP, RECORD, EVENT, HRV = 0, 12, 18, 19, 20, 21, 78

FILE_ID_FIELDS = [(0, ENUM), (1, UINT16), (2, UINT16), (3, UINT32Z), (4, UINT32)]
RECORD_FIELDS = [
    (253, UINT32), (0, SINT32), (1, SINT32), (2, UINT16), (3, UINT8), (4, UINT8),
    (5, UINT32), (6, UINT16), (7, UINT16), (13, SINT8),
]
LAP_FIELDS = [
    (253, UINT32), (2, UINT32), (7, UINT32), (8, UINT32), (9, UINT32),
    (15, UINT8), (16, UINT8), (19, UINT16), (254, UINT16),
]
SESSION_FIELDS = [
    (253, UINT32), (2, UINT32), (5, ENUM), (6, ENUM), (7, UINT32), (8, UINT32),
    (9, UINT32), (16, UINT8), (17, UINT8), (20, UINT16), (254, UINT16),
]


def simple_activity(
    *,
    start_unix_s: int = 1_700_000_000,
    n_records: int = 30,
    sport: int = 1,
    sub_sport: int = 0,
    big_endian: bool = False,
    header_size: int = 14,
    manufacturer: int = 1,
    product: int = 2697,
    with_session: bool = True,
) -> bytes:
    """A small, valid activity: file_id, records (1 Hz), one lap, one session."""
    t0 = fit_s(start_unix_s)
    b = FitBuilder(header_size=header_size)
    b.definition(0, FILE_ID, FILE_ID_FIELDS, big_endian=big_endian)
    b.data(0, [4, manufacturer, product, 12345, t0])
    b.definition(1, RECORD, RECORD_FIELDS, big_endian=big_endian)
    for i in range(n_records):
        b.data(1, [
            t0 + i,
            int(45.0 / 180 * 2**31) + i,  # lat, semicircles
            int(-122.0 / 180 * 2**31),
            (100 + 500) * 5 + i,  # altitude: 100 m + i/5
            120 + i % 50,  # hr
            80,  # cadence
            i * 300,  # distance: 3 m per sample, in cm
            3000,  # speed 3.000 m/s
            200 + i,  # power
            -5 if i % 2 else 21,  # temperature
        ])
    b.definition(2, LAP, LAP_FIELDS, big_endian=big_endian)
    elapsed_ms = (n_records - 1) * 1000
    b.data(2, [t0 + n_records - 1, t0, elapsed_ms, elapsed_ms, (n_records - 1) * 300,
               140, 169, 215, 0])
    if with_session:
        b.definition(3, SESSION, SESSION_FIELDS, big_endian=big_endian)
        b.data(3, [t0 + n_records - 1, t0, sport, sub_sport, elapsed_ms, elapsed_ms - 1000,
                   (n_records - 1) * 300, 140, 169, 215, 0])
    return b.build()
