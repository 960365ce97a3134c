"""The CLI end to end against a temporary SQLite store: import, today, replay, user create."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ingest"))

from workout_builders import line, tcx

from lydiard.interfaces.cli.main import build_app


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LYDIARD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LYDIARD_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    return CliRunner()


def test_import_twice_reports_duplicates_and_failures(runner: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "export"
    src.mkdir()
    (src / "ride.tcx").write_bytes(tcx([line(600, hr_bpm=140, power_w=180)]))
    (src / "broken.fit").write_bytes(b"\x0e\x10\x00\x00garbage-not-a-fit")
    app = build_app()
    first = runner.invoke(app, ["import", str(src), "--tz", "Europe/Oslo"])
    assert first.exit_code == 1, first.output  # a file failed
    assert "Import summary" in first.output and "broken.fit" in first.output
    second = runner.invoke(app, ["import", str(src)])
    assert second.exit_code == 1, second.output
    row = next(line for line in second.output.splitlines() if str(src)[:20] in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[1:4] == ["0", "1", "1"], row  # imported 0, already present 1, failed 1


def test_import_lists_files_imported_with_a_warning(runner: CliRunner, tmp_path: Path) -> None:
    from fitbuilder import simple_activity

    data = bytearray(simple_activity(n_records=90))
    data[-1] ^= 0x40  # only the file CRC is wrong
    (tmp_path / "crc.fit").write_bytes(bytes(data))
    result = runner.invoke(build_app(), ["import", str(tmp_path / "crc.fit")])
    assert result.exit_code == 0, result.output
    assert "1 file(s) imported with a warning" in result.output
    assert "file CRC does not match" in result.output
    assert "file(s) failed" not in result.output


def test_bad_input_gets_a_clear_error_without_traceback(runner: CliRunner) -> None:
    result = runner.invoke(build_app(), ["athlete", "create", "X", "--tz", "Mars/Base"])
    assert result.exit_code == 1
    assert "unknown time zone" in result.output
    assert "Traceback" not in result.output


def test_user_create_admin_then_list(runner: CliRunner) -> None:
    app = build_app()
    weak = runner.invoke(app, ["user", "create", "a@example.org", "--admin", "--password-stdin"], input="password\n")
    assert weak.exit_code == 1
    ok = runner.invoke(app, ["user", "create", "a@example.org", "--admin", "--password-stdin"],
                       input="correct horse battery staple 42\n")
    assert ok.exit_code == 0, ok.output
    listed = runner.invoke(app, ["user", "list"])
    assert "a@example.org" in listed.output and "yes" in listed.output
