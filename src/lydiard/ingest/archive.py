"""Safe iteration over the files of a bulk export: a file, a folder, or a (nested) zip.

:func:`iter_sources` yields one :class:`SourceItem` per file, one at a time, with
the file's bytes loaded eagerly for the kinds Lydiard imports (activities and
Strava's ``activities.csv``) and not loaded for anything else. Memory stays bounded
by ``max_member_bytes`` per level of nesting.

It understands the layouts of the two big bulk exports:

* Garmin Connect: ``DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_*.zip``, zips
  of FIT files nested in the export zip;
* Strava: ``activities/*.fit.gz|.gpx|.tcx.gz`` and ``activities.csv``.

Safety (every refusal is an :class:`~lydiard.errors.UnsafeInputError`):

* Members with absolute paths, drive letters or ``..`` components are refused (we
  never write members to disk, but such a name is a sign of a hostile archive).
* Declared member size above ``max_member_bytes``, or a compression ratio above
  ``max_ratio`` for members over 1 MiB, refuses the member before inflating it; the
  inflation itself is bounded by the declared size (and by ``max_member_bytes``),
  so a lying header cannot blow memory up either.
* More than ``max_members`` members, or more than ``max_total_bytes`` declared or
  inflated in total, refuses the (rest of the) archive.
* Zips nested deeper than ``max_depth`` are refused.
* In folders, symbolic links are not followed into sub-folders, and a link to a
  file outside the folder is refused.

Per-member problems are yielded as items whose ``error`` is set, so that a batch
carries on; only an unreadable top-level ``path`` raises.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lydiard.errors import CorruptFileError, IngestError, UnsafeInputError

#: Bytes inflated at a time.
READ_CHUNK_BYTES = 1 << 20
#: Members smaller than this are not subject to the ratio check, bytes.
RATIO_CHECK_MIN_BYTES = 1 << 20

_ACTIVITY_SUFFIXES = (".fit", ".tcx", ".gpx")
#: Files that may hold daily data (HRV/RR, wellness, sleep, sRPE logs, Apple Health): read
#: and handed to the daily-data importers, which sniff the content.
_DAILY_SUFFIXES = (".csv", ".txt", ".json", ".xml", ".rr", ".hrv")
_COMPRESSED_SUFFIXES = (".gz",)
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Limits on what an archive or folder may contain (defaults match ``Settings``)."""

    max_member_bytes: int = 100 * 1024**2  #: largest single file, inflated
    max_total_bytes: int = 4 * 1024**3  #: largest inflated total of one top-level source
    max_members: int = 50_000  #: most files in one archive (or folder)
    max_depth: int = 3  #: deepest zip nesting (the top-level zip is depth 1)
    max_ratio: float = 200.0  #: largest inflated / compressed size of a member over 1 MiB


@dataclass(frozen=True, slots=True)
class SourceItem:
    """One file found in a source: its name, kind, and bytes or error."""

    name: str  #: path inside the archive (nested zips joined by "/"), or the file path
    kind: str  #: "activity", "strava_activities_csv", "daily", "archive" (errors only) or "other"
    data: bytes | None = None  #: the bytes, for activities, daily files and the Strava CSV; else None
    size_bytes: int | None = None  #: inflated size, when known
    container: str | None = None  #: the top-level archive or folder, None for a lone file
    error: IngestError | None = None  #: why this item could not be read (data is None)

    @property
    def ok(self) -> bool:
        return self.error is None


def classify(name: str) -> str:
    """The kind of a file from its name: activity, strava_activities_csv, archive, daily or other.

    macOS resource forks (``__MACOSX/``, ``._name``) are "other" whatever their suffix.
    """
    path = PurePosixPath(name.replace("\\", "/"))
    if "__MACOSX" in path.parts or path.name.startswith("._"):
        return "other"
    lower = path.name.lower()
    if lower == "activities.csv":
        return "strava_activities_csv"
    if lower.endswith(".zip"):
        return "archive"
    base = lower
    for suffix in _COMPRESSED_SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    if base.endswith(_ACTIVITY_SUFFIXES):
        return "activity"
    if base.endswith(_DAILY_SUFFIXES):
        return "daily"
    return "other"


def _unsafe_member_name(name: str) -> str | None:
    """Why a member name is refused, or None if it is fine."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return "absolute path in archive member name"
    if any(part == ".." for part in normal.split("/")):
        return "path traversal ('..') in archive member name"
    if "\x00" in normal:
        return "NUL byte in archive member name"
    return None


class _Budget:
    """Inflated bytes left for one top-level source."""

    __slots__ = ("left_bytes", "limit_bytes")

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.left_bytes = limit_bytes


class _ArchiveRefused(Exception):
    """Stop reading the current archive (the error item has been yielded)."""


def _read_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, *, name: str, limits: ArchiveLimits,
    budget: _Budget,
) -> bytes:
    """Inflate one member with every bound checked; raise IngestError on refusal."""
    if info.flag_bits & 0x1:
        raise IngestError(name, "encrypted archive member")
    if info.file_size > limits.max_member_bytes:
        raise UnsafeInputError(
            name, f"archive member inflates to {info.file_size} bytes, more than the "
            f"{limits.max_member_bytes}-byte limit (zip bomb?)",
        )
    if (
        info.file_size > RATIO_CHECK_MIN_BYTES
        and info.file_size > limits.max_ratio * max(info.compress_size, 1)
    ):
        raise UnsafeInputError(
            name, f"compression ratio {info.file_size / max(info.compress_size, 1):.0f}:1 "
            f"exceeds {limits.max_ratio:.0f}:1 (zip bomb?)",
        )
    if info.file_size > budget.left_bytes:
        raise _ArchiveRefused
    cap = min(info.file_size, limits.max_member_bytes)
    out = io.BytesIO()
    got = 0
    try:
        with zf.open(info) as stream:
            while True:
                chunk = stream.read(min(READ_CHUNK_BYTES, cap + 1 - got))
                if not chunk:
                    break
                got += len(chunk)
                if got > cap:
                    raise UnsafeInputError(name, "archive member is larger than declared")
                out.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
            ValueError) as exc:
        raise CorruptFileError(name, f"damaged archive member ({exc})") from exc
    except NotImplementedError as exc:
        raise IngestError(name, f"unsupported compression ({exc})") from exc
    budget.left_bytes -= got
    return out.getvalue()


def _iter_zip(
    data_or_path: bytes | Path, *, label: str, prefix: str, container: str, depth: int,
    limits: ArchiveLimits, budget: _Budget,
) -> Iterator[SourceItem]:
    """Members of one zip; ``label`` names the zip, ``prefix`` is put before member names."""
    if depth > limits.max_depth:
        yield SourceItem(label, "archive", container=container, error=UnsafeInputError(
            label, f"zip nested deeper than {limits.max_depth} levels"))
        return
    try:
        handle = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
        zf = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        yield SourceItem(label, "archive", container=container,
                         error=CorruptFileError(label, f"not a readable zip archive ({exc})"))
        return
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > limits.max_members:
            yield SourceItem(label, "archive", container=container, error=UnsafeInputError(
                label, f"archive holds {len(infos)} members, more than {limits.max_members}"))
            return
        declared = sum(i.file_size for i in infos)
        if declared > budget.left_bytes:
            yield SourceItem(label, "archive", container=container, error=UnsafeInputError(
                label, f"archive inflates to {declared} bytes, more than the "
                f"{budget.limit_bytes}-byte limit (zip bomb?)"))
            return
        for info in infos:
            name = prefix + info.filename
            kind = classify(info.filename)
            reason = _unsafe_member_name(info.filename)
            if reason is not None:
                yield SourceItem(name, kind, container=container,
                                 error=UnsafeInputError(name, reason))
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                yield SourceItem(name, kind, container=container,
                                 error=UnsafeInputError(name, "symbolic link in archive"))
                continue
            if kind == "other":
                yield SourceItem(name, kind, size_bytes=info.file_size, container=container)
                continue
            try:
                payload = _read_member(zf, info, name=name, limits=limits, budget=budget)
            except _ArchiveRefused:
                yield SourceItem(label, "archive", container=container, error=UnsafeInputError(
                    label, f"archive inflates to more than {budget.limit_bytes} bytes"))
                return
            except IngestError as exc:
                yield SourceItem(name, kind, size_bytes=info.file_size, container=container,
                                 error=exc)
                continue
            if kind == "archive":
                yield from _iter_zip(payload, label=name, prefix=f"{name}/", container=container,
                                     depth=depth + 1, limits=limits, budget=budget)
                continue
            yield SourceItem(name, kind, data=payload, size_bytes=len(payload),
                             container=container)


def _read_file(path: Path, *, name: str, limits: ArchiveLimits, budget: _Budget) -> bytes:
    size = path.stat().st_size
    if size > limits.max_member_bytes:
        raise UnsafeInputError(name, f"file is larger than {limits.max_member_bytes} bytes")
    if size > budget.left_bytes:
        raise UnsafeInputError(name, f"more than {budget.limit_bytes} bytes in total")
    with path.open("rb") as handle:
        data = handle.read(limits.max_member_bytes + 1)
    if len(data) > limits.max_member_bytes:
        raise UnsafeInputError(name, f"file is larger than {limits.max_member_bytes} bytes")
    budget.left_bytes -= len(data)
    return data


def _is_zip(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError:
        return False
    return head in (_ZIP_MAGIC, _EMPTY_ZIP_MAGIC) or path.suffix.lower() == ".zip"


def _iter_file(
    path: Path, *, name: str, container: str | None, limits: ArchiveLimits, budget: _Budget
) -> Iterator[SourceItem]:
    kind = classify(name)
    if _is_zip(path):
        try:
            size = path.stat().st_size
        except OSError as exc:
            yield SourceItem(name, "archive", container=container,
                             error=IngestError(name, f"cannot be read ({exc})"))
            return
        if size > limits.max_total_bytes:
            yield SourceItem(name, "archive", container=container, error=UnsafeInputError(
                name, f"archive is larger than {limits.max_total_bytes} bytes"))
            return
        # members of a lone zip are named by their path inside it; in a folder, the
        # zip's path comes first
        yield from _iter_zip(path, label=name, prefix="" if container is None else f"{name}/",
                             container=container or str(path), depth=1, limits=limits,
                             budget=budget)
        return
    if kind == "other":
        try:
            size_bytes: int | None = path.stat().st_size
        except OSError:
            size_bytes = None
        yield SourceItem(name, kind, size_bytes=size_bytes, container=container)
        return
    try:
        data = _read_file(path, name=name, limits=limits, budget=budget)
    except IngestError as exc:
        yield SourceItem(name, kind, container=container, error=exc)
        return
    except OSError as exc:
        yield SourceItem(name, kind, container=container,
                         error=IngestError(name, f"cannot be read ({exc.strerror or exc})"))
        return
    yield SourceItem(name, kind, data=data, size_bytes=len(data), container=container)


def _iter_dir(root: Path, *, limits: ArchiveLimits, budget: _Budget) -> Iterator[SourceItem]:
    real_root = root.resolve()
    container = str(root)
    seen = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            name = str(path)
            seen += 1
            if seen > limits.max_members:
                yield SourceItem(container, "archive", container=container,
                                 error=UnsafeInputError(
                                     container, f"folder holds more than {limits.max_members} "
                                     "files"))
                return
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(real_root):
                    yield SourceItem(name, classify(filename), container=container,
                                     error=UnsafeInputError(
                                         name, "symbolic link points outside the folder"))
                    continue
                if not target.is_file():
                    continue
            elif not path.is_file():
                continue  # sockets, fifos, devices
            yield from _iter_file(path, name=name, container=container, limits=limits,
                                  budget=budget)


def iter_sources(
    path: str | os.PathLike[str], *, limits: ArchiveLimits | None = None
) -> Iterator[SourceItem]:
    """Yield the files of ``path`` (a workout file, a folder, or a zip export), one at a time.

    Nested zips are opened up to ``limits.max_depth`` levels. Problems with single
    members (unsafe names, bombs, damaged data) are yielded as items with ``error``
    set; iteration goes on with the next member.

    Raises
    ------
    IngestError
        ``path`` does not exist or cannot be read.
    """
    limits = limits or ArchiveLimits()
    root = Path(path)
    budget = _Budget(limits.max_total_bytes)
    if root.is_dir():
        yield from _iter_dir(root, limits=limits, budget=budget)
        return
    if not root.exists():
        raise IngestError(str(root), "no such file or directory")
    if not root.is_file():
        raise IngestError(str(root), "not a regular file or directory")
    yield from _iter_file(root, name=str(root), container=None, limits=limits, budget=budget)


def iter_bytes(name: str, data: bytes, *, limits: ArchiveLimits | None = None) -> Iterator[SourceItem]:
    """Like :func:`iter_sources`, for one uploaded file or zip held in memory."""
    limits = limits or ArchiveLimits()
    budget = _Budget(limits.max_total_bytes)
    if len(data) > limits.max_total_bytes:
        yield SourceItem(name, "archive", error=UnsafeInputError(
            name, f"upload is larger than {limits.max_total_bytes} bytes"))
        return
    if data[:4] in (_ZIP_MAGIC, _EMPTY_ZIP_MAGIC):
        yield from _iter_zip(data, label=name, prefix="", container=name, depth=1, limits=limits,
                             budget=budget)
        return
    kind = classify(name)
    if kind == "archive":
        kind = "activity"  # a ".zip" name that is not a zip: let the sniffer say what it is
    if len(data) > limits.max_member_bytes:
        yield SourceItem(name, kind, error=UnsafeInputError(
            name, f"file is larger than {limits.max_member_bytes} bytes"))
        return
    if kind == "other":
        kind = "activity"  # unknown name: the content sniffer decides
    yield SourceItem(name, kind, data=data, size_bytes=len(data))
