"""Archive and folder iteration: export layouts and every safety rule."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from workout_builders import gpx, line, tcx

from lydiard.errors import CorruptFileError, IngestError, LydiardError, UnsafeInputError
from lydiard.ingest.activity import read_activity
from lydiard.ingest.archive import ArchiveLimits, SourceItem, classify, iter_sources

FAKE_FIT = bytes([14, 0x20, 0x08, 0x08, 4, 0, 0, 0]) + b".FIT" + b"\x00\x00" + b"\x00" * 6


def make_zip(members: dict[str, bytes], *, level: int = 6) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data,
                        compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def by_name(items: list[SourceItem]) -> dict[str, SourceItem]:
    return {item.name: item for item in items}


@pytest.mark.parametrize(
    ("name", "kind"),
    [("activities/1.fit.gz", "activity"), ("a/B.FIT", "activity"), ("x.tcx.gz", "activity"),
     ("r.gpx", "activity"), ("activities.csv", "strava_activities_csv"),
     ("DI_CONNECT/x/UploadedFiles_0-_Part1.zip", "archive"), ("profile.json", "daily"),
     ("a\\b\\c.fit", "activity"), ("__MACOSX/._a.fit", "other"), ("x/._b.tcx", "other")],
)
def test_classify(name: str, kind: str) -> None:
    assert classify(name) == kind


def test_single_file(tmp_path: Path) -> None:
    path = write(tmp_path / "ride.tcx", tcx([line(3)]))
    (item,) = list(iter_sources(path))
    assert item.ok and item.kind == "activity" and item.name == str(path)
    assert item.data == path.read_bytes()
    assert item.container is None


def test_strava_export_layout(tmp_path: Path) -> None:
    export = make_zip({
        "activities.csv": b"Activity ID,Filename\n1,activities/1.fit.gz\n",
        "activities/1.fit.gz": gzip.compress(FAKE_FIT, mtime=0),
        "activities/2.gpx": gpx([line(4)]),
        "activities/3.tcx.gz": gzip.compress(tcx([line(4)])),
        "profile.csv": b"x",
        "media/photo.jpg": b"\xff\xd8\xff" + bytes(100),
    })
    items = by_name(list(iter_sources(write(tmp_path / "export_1.zip", export))))
    assert set(items) == {"activities.csv", "activities/1.fit.gz", "activities/2.gpx",
                          "activities/3.tcx.gz", "profile.csv", "media/photo.jpg"}
    assert items["activities.csv"].kind == "strava_activities_csv"
    assert items["media/photo.jpg"].kind == "other"
    assert items["media/photo.jpg"].data is None  # not loaded
    assert items["activities/1.fit.gz"].data == gzip.compress(FAKE_FIT, mtime=0)  # no clock in the bytes
    assert all(item.ok for item in items.values())
    assert all(item.container == str(tmp_path / "export_1.zip") for item in items.values())
    for name in ("activities/2.gpx", "activities/3.tcx.gz"):
        data = items[name].data
        assert data is not None
        assert len(read_activity(data, name=name).records) == 4


def test_garmin_export_nested_zips(tmp_path: Path) -> None:
    inner = make_zip({"123_ACTIVITY.fit": FAKE_FIT, "456_ACTIVITY.fit": FAKE_FIT})
    export = make_zip({
        "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip": inner,
        "DI_CONNECT/DI-Connect-User/user_profile.json": b"{}",
    })
    items = list(iter_sources(write(tmp_path / "garmin.zip", export)))
    fits = [i for i in items if i.kind == "activity"]
    assert [i.name for i in fits] == [
        "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip/123_ACTIVITY.fit",
        "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip/456_ACTIVITY.fit",
    ]
    assert all(i.data == FAKE_FIT for i in fits)


def test_nesting_depth_limit(tmp_path: Path) -> None:
    level4 = make_zip({"deep.gpx": gpx([line(2)])})
    level3 = make_zip({"l4.zip": level4, "ok3.gpx": gpx([line(2)])})
    level2 = make_zip({"l3.zip": level3})
    top = make_zip({"l2.zip": level2})
    items = by_name(list(iter_sources(write(tmp_path / "top.zip", top),
                                      limits=ArchiveLimits(max_depth=3))))
    assert items["l2.zip/l3.zip/ok3.gpx"].ok
    refused = items["l2.zip/l3.zip/l4.zip"]
    assert isinstance(refused.error, UnsafeInputError)
    assert "deeper than 3" in str(refused.error)
    assert "l2.zip/l3.zip/l4.zip/deep.gpx" not in items


def test_traversal_and_absolute_names_are_refused_others_imported(tmp_path: Path) -> None:
    export = make_zip({
        "../evil.fit": FAKE_FIT,
        "/etc/evil.gpx": gpx([line(2)]),
        "activities/..\\..\\evil.tcx": tcx([line(2)]),
        "C:/evil.fit": FAKE_FIT,
        "activities/good.gpx": gpx([line(3)]),
    })
    items = by_name(list(iter_sources(write(tmp_path / "evil.zip", export))))
    for name in ("../evil.fit", "/etc/evil.gpx", "activities/..\\..\\evil.tcx", "C:/evil.fit"):
        error = items[name].error
        assert isinstance(error, UnsafeInputError), name
        assert items[name].data is None
    assert "path traversal" in str(items["../evil.fit"].error)
    assert "../evil.fit" in str(items["../evil.fit"].error)
    assert "absolute path" in str(items["/etc/evil.gpx"].error)
    good = items["activities/good.gpx"]
    assert good.ok and good.data is not None
    assert len(read_activity(good.data, name=good.name).records) == 3


def _zip_bomb(path: Path, *, size_mb: int = 200) -> Path:
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("activities/bomb.fit", "w", force_zip64=True) as member:
            for _ in range(size_mb):
                member.write(chunk)
        zf.writestr("activities/good.gpx", gpx([line(3)]))
    return path


def test_zip_bomb_member_is_refused_without_inflating(tmp_path: Path) -> None:
    path = _zip_bomb(tmp_path / "bomb.zip")
    assert path.stat().st_size < 2_000_000
    tracemalloc.start()
    try:
        items = by_name(list(iter_sources(path, limits=ArchiveLimits(
            max_member_bytes=100 * 1024**2))))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024**2
    bomb = items["activities/bomb.fit"]
    assert isinstance(bomb.error, UnsafeInputError)
    assert "zip bomb" in str(bomb.error)
    assert items["activities/good.gpx"].ok


def test_ratio_check(tmp_path: Path) -> None:
    # 8 MB of zeros: under the member limit, but a 1000:1 ratio
    export = make_zip({"a.fit": bytes(8 << 20), "b.gpx": gpx([line(2)])}, level=9)
    items = by_name(list(iter_sources(write(tmp_path / "r.zip", export))))
    assert isinstance(items["a.fit"].error, UnsafeInputError)
    assert "ratio" in str(items["a.fit"].error)
    assert items["b.gpx"].ok


def test_total_size_and_member_count_limits(tmp_path: Path) -> None:
    members = {f"{i}.gpx": gpx([line(300)]) for i in range(5)}
    export = write(tmp_path / "many.zip", make_zip(members))
    inflated = sum(len(m) for m in members.values())
    assert export.stat().st_size < 100_000 < inflated
    (item,) = list(iter_sources(export, limits=ArchiveLimits(max_members=4)))
    assert isinstance(item.error, UnsafeInputError) and "5 members" in str(item.error)
    (item,) = list(iter_sources(export, limits=ArchiveLimits(max_total_bytes=100_000)))
    assert isinstance(item.error, UnsafeInputError) and "zip bomb" in str(item.error)
    assert len(list(iter_sources(export))) == 5


def test_lying_member_size_is_bounded(tmp_path: Path) -> None:
    real = gpx([line(200)])
    data = bytearray(make_zip({"lie.gpx": real}, level=9))
    # rewrite the declared (uncompressed) size, local header and central directory, to 100
    size = len(real).to_bytes(4, "little")
    for offset in [i for i in range(len(data) - 3) if data[i:i + 4] == size]:
        data[offset:offset + 4] = (100).to_bytes(4, "little")
    (item,) = list(iter_sources(write(tmp_path / "lie.zip", bytes(data))))
    # inflation stops at the declared 100 bytes, and the CRC then gives the lie away
    assert item.data is None
    assert isinstance(item.error, CorruptFileError)


def test_corrupt_zip(tmp_path: Path) -> None:
    data = make_zip({"a.gpx": gpx([line(50)])})
    (item,) = list(iter_sources(write(tmp_path / "cut.zip", data[: len(data) // 2])))
    assert isinstance(item.error, CorruptFileError)
    corrupted = bytearray(data)
    start = data.index(b"a.gpx") + 5 + 10
    corrupted[start:start + 20] = bytes(20)  # damage the deflate stream
    (item,) = list(iter_sources(write(tmp_path / "bad.zip", bytes(corrupted))))
    assert isinstance(item.error, CorruptFileError)


def test_folder_recursion_and_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "export"
    write(root / "a.gpx", gpx([line(2)]))
    write(root / "sub" / "b.tcx", tcx([line(2)]))
    write(root / "sub" / "notes.txt", b"hello")
    write(root / "nested.zip", make_zip({"c.gpx": gpx([line(2)])}))
    secret = write(tmp_path / "outside" / "secret.fit", FAKE_FIT)
    os.symlink(secret, root / "link.fit")
    os.symlink(root / "a.gpx", root / "inside-link.gpx")
    os.symlink(tmp_path / "outside", root / "linked-dir")
    items = by_name(list(iter_sources(root)))
    assert items[str(root / "a.gpx")].ok
    assert items[str(root / "sub" / "b.tcx")].ok
    assert items[str(root / "sub" / "notes.txt")].kind == "daily"
    assert items[f"{root / 'nested.zip'}/c.gpx"].ok
    assert items[str(root / "inside-link.gpx")].ok
    refused = items[str(root / "link.fit")]
    assert isinstance(refused.error, UnsafeInputError) and refused.data is None
    assert "outside" in str(refused.error)
    assert not any("secret" in name for name in items)  # the linked folder is not walked
    assert all(item.container == str(root) for item in items.values())


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        link = zipfile.ZipInfo("activities/link.fit")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("activities/ok.gpx", gpx([line(2)]))
    items = by_name(list(iter_sources(write(tmp_path / "l.zip", buffer.getvalue()))))
    assert isinstance(items["activities/link.fit"].error, UnsafeInputError)
    assert items["activities/ok.gpx"].ok


@pytest.mark.corpus
def test_corpus_zips(corpus_dir: Path) -> None:
    pytest.importorskip("lydiard.ingest.fit")
    zips = sorted(corpus_dir.rglob("*.zip"))
    assert len(zips) == 9
    formats: list[str] = []
    for path in zips:
        for item in iter_sources(path):
            assert item.ok, item.error
            if item.kind != "activity":
                continue
            assert item.data is not None
            try:
                formats.append(read_activity(item.data, name=item.name).source_format)
            except LydiardError:
                formats.append("error")
    # 12 FIT files and 1 TCX inside (the macOS resource forks are "other")
    assert formats.count("tcx") == 1
    assert len(formats) == 13
    assert formats.count("fit") >= 11


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        list(iter_sources(tmp_path / "nope.zip"))
