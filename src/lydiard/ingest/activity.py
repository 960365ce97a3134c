"""The public entry point for workout files: sniff the content, decode, clean.

:func:`read_activity` trusts the bytes, not the file name: a gzip wrapper is
removed (bounded), then the payload is recognised as FIT (header size 12 or 14 and
the ``.FIT`` signature), TCX (``<TrainingCenterDatabase``) or GPX (``<gpx``), read
by the matching adapter, and cleaned by :func:`lydiard.domain.cleaning.clean_records`.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import zlib
from dataclasses import replace
from pathlib import Path

from lydiard.domain.activity import Activity
from lydiard.domain.cleaning import clean_records
from lydiard.domain.columns import Col
from lydiard.errors import (
    CorruptFileError,
    EmptyFileError,
    IngestError,
    TruncatedFileError,
    UnsafeInputError,
    UnsupportedFormatError,
)
from lydiard.ingest._common import refresh_sample_stats

#: Default largest accepted file, after decompression, in bytes.
DEFAULT_MAX_BYTES = 100 * 1024**2
#: How far into an XML document the root element is looked for, in bytes.
XML_SNIFF_BYTES = 64 * 1024
#: Bytes decompressed at a time from a gzip stream.
GZIP_CHUNK_BYTES = 1 << 20

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_XML_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(TrainingCenterDatabase|gpx)[\s>/]")
#: Well-known signatures, to say what an unsupported file is.
_OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (_ZIP_MAGIC, "a zip archive (import it as an archive)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"BZh", "a bzip2 stream"),
    (b"\xfd7zXZ\x00", "an xz stream"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"{", "JSON or text"),
)


def _sniff_xml(data: bytes) -> str | None:
    head = data[:XML_SNIFF_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:2] in (b"<\x00", b"\x00<"):
        try:
            encoding = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else (
                "utf-16-le" if head[:1] == b"<" else "utf-16-be"
            )
            head = head[: len(head) // 2 * 2].decode(encoding, errors="ignore").encode("utf-8")
        except LookupError:  # pragma: no cover - codecs always present
            return None
    match = _XML_ROOT.search(head)
    if match is None:
        return None
    return "tcx" if match.group(1) == b"TrainingCenterDatabase" else "gpx"


def sniff_format(data: bytes) -> str | None:
    """The format of ``data`` from its content: ``"fit"``, ``"tcx"``, ``"gpx"``,
    ``"gzip"`` or ``"zip"``; None when unknown.

    FIT: byte 0 (header size) is 12 or 14 and bytes 8-11 are ``.FIT``. TCX / GPX:
    the root element ``TrainingCenterDatabase`` / ``gpx`` (any namespace prefix)
    within the first 64 KiB, in UTF-8, a single-byte encoding or UTF-16.
    """
    if len(data) >= 12 and data[0] in (12, 14) and data[8:12] == b".FIT":
        return "fit"
    if data.startswith(_GZIP_MAGIC):
        return "gzip"
    if data.startswith(_ZIP_MAGIC):
        return "zip"
    return _sniff_xml(data)


def gunzip_bounded(data: bytes, *, source: str, max_bytes: int) -> bytes:
    """Decompress a gzip stream (all members), refusing more than ``max_bytes`` of output.

    The output is produced chunk by chunk, so a gzip bomb is stopped after
    ``max_bytes`` (+ one chunk) without ever being held in memory whole.
    """
    out = io.BytesIO()
    total = 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as stream:
            while True:
                chunk = stream.read(min(GZIP_CHUNK_BYTES, max_bytes + 1 - total))
                if not chunk:
                    break
                total += len(chunk)
                if total > max_bytes:
                    raise UnsafeInputError(
                        source,
                        f"gzip bomb: decompresses to more than {max_bytes} bytes",
                        limit_bytes=max_bytes,
                    )
                out.write(chunk)
    except EOFError as exc:
        raise TruncatedFileError(source, f"gzip stream ends early ({exc})") from exc
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise CorruptFileError(source, f"damaged gzip stream ({exc})") from exc
    return out.getvalue()


def _describe_unknown(data: bytes) -> str:
    for magic, label in _OTHER_MAGIC:
        if data.startswith(magic):
            return f"not a FIT, TCX or GPX file: looks like {label}"
    return "not a FIT, TCX or GPX file (unrecognised content)"


def _load(source: str | os.PathLike[str] | bytes, *, name: str | None, max_bytes: int
          ) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        label = name or "<bytes>"
        if len(data) > max_bytes:
            raise UnsafeInputError(label, f"file is larger than {max_bytes} bytes",
                                   size_bytes=len(data), limit_bytes=max_bytes)
        return data, label
    path = Path(source)
    label = name or str(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise UnsupportedFormatError(label, "not a regular file")
        if size > max_bytes:
            raise UnsafeInputError(label, f"file is larger than {max_bytes} bytes",
                                   size_bytes=size, limit_bytes=max_bytes)
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise IngestError(label, "no such file") from exc
    except OSError as exc:
        raise IngestError(label, f"cannot be read ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:  # grew while we read it
        raise UnsafeInputError(label, f"file is larger than {max_bytes} bytes",
                               limit_bytes=max_bytes)
    return data, label


def _decode(data: bytes, fmt: str, *, label: str, accept_bad_crc: bool) -> Activity:
    if fmt == "fit":
        from lydiard.ingest.fit import ErrorPolicy, read_fit  # lazy: written alongside, heavy

        policy = ErrorPolicy.CRC_WARN if accept_bad_crc else ErrorPolicy.RAISE
        return read_fit(data, source=label, on_error=policy)
    if fmt == "tcx":
        from lydiard.ingest.tcx import read_tcx

        return read_tcx(data, source=label)
    from lydiard.ingest.gpx import read_gpx

    return read_gpx(data, source=label)


def read_activity(
    source: str | os.PathLike[str] | bytes,
    *,
    name: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    accept_bad_crc: bool = False,
) -> Activity:
    """Read one workout file (FIT, TCX, GPX, optionally gzip-compressed) and clean it.

    Parameters
    ----------
    source
        A path, or the file's bytes.
    name
        How to name the file in errors (default: the path, or ``"<bytes>"``).
    max_bytes
        Largest accepted file, before and after decompression.
    accept_bad_crc
        Read a FIT file whose only fault is a file CRC that does not match (the header,
        its CRC and every message are intact), reporting the mismatch in
        ``Activity.warnings`` instead of raising ``ChecksumError`` (the importer does:
        Garmin's SDK and fitdecode return such files too, and the cleaning step's range
        checks apply to every value).

    Returns
    -------
    Activity
        With ``records`` cleaned and ``cleaning`` reporting every change. For TCX
        and GPX the heart-rate and power aggregates of the summary are recomputed
        from the cleaned samples (FIT summaries are the device's own).

    Raises
    ------
    EmptyFileError
        Zero bytes (also after decompression), or no usable samples.
    UnsafeInputError
        Larger than ``max_bytes``, a gzip bomb, or XML with a DTD.
    UnsupportedFormatError
        Not FIT, TCX or GPX (the message names the file and what it looks like).
    CorruptFileError, TruncatedFileError
        Damaged content.
    """
    data, label = _load(source, name=name, max_bytes=max_bytes)
    if not data:
        raise EmptyFileError(label, "file is empty (0 bytes)")
    fmt = sniff_format(data)
    if fmt == "gzip":
        data = gunzip_bounded(data, source=label, max_bytes=max_bytes)
        if not data:
            raise EmptyFileError(label, "gzip stream decompresses to 0 bytes")
        fmt = sniff_format(data)
        if fmt in ("gzip", "zip"):
            raise UnsupportedFormatError(label, f"nested {fmt} inside gzip is not read")
    if fmt is None or fmt == "zip":
        raise UnsupportedFormatError(label, _describe_unknown(data))
    activity = _decode(data, fmt, label=label, accept_bad_crc=accept_bad_crc)
    cleaned, report = clean_records(activity.records)
    summary = activity.summary
    if activity.source_format in ("tcx", "gpx") and any(
        rule.startswith(("hr_", "power_", "time_")) for rule in report.counts
    ) and len(cleaned) > 0 and Col.HR_BPM.value in cleaned and Col.POWER_W.value in cleaned:
        summary = refresh_sample_stats(summary, cleaned)
    return replace(activity, records=cleaned, cleaning=report, summary=summary)
