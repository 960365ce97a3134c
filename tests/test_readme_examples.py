"""The README's command-line examples run as written, on generated files, against a temporary home.

Every ``lydiard ...`` line of the "Using it" block runs in order; the paths of the import
line are replaced by generated files (a ride, a daily CSV) and the backup goes to a
temporary folder. ``serve`` (a server) and ``recompute --all`` (a Dask cluster; tested in
tests/batch) are not run here.
"""

from __future__ import annotations

import re
import shlex
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent / "ingest"))

from workout_builders import line, tcx

from lydiard.interfaces.cli.main import build_app

README = Path(__file__).resolve().parents[1] / "README.md"
NOT_RUN = ("lydiard serve", "lydiard recompute")
PASSWORD = "Readme-example-passphrase-7"


def readme_commands() -> list[str]:
    text = README.read_text()
    block = text.split("## Using it", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    lines = [ln.split("  #", 1)[0].strip() for ln in block.splitlines()]
    return [ln for ln in lines if ln.startswith("lydiard ")]


def test_the_examples_have_no_pipe_and_no_fixed_goal_day() -> None:
    commands = readme_commands()
    assert commands, "the README has a 'Using it' block"
    assert not any("|" in c for c in commands), "one command per line"
    for c in commands:
        goal = re.search(r"--goal-day (\S+)", c)
        if goal and re.fullmatch(r"\d{4}-\d{2}-\d{2}", goal.group(1)):
            assert date.fromisoformat(goal.group(1)) > date.today(), f"a goal day already past: {c}"


def test_the_examples_run_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYDIARD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LYDIARD_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    ride = tmp_path / "ride.tcx"
    ride.write_bytes(tcx([line(1800, hr_bpm=150.0, power_w=220.0)]))
    daily = tmp_path / "daily.csv"
    start = date.today() - timedelta(days=40)
    daily.write_text("day,rmssd_ms,rhr_bpm,sleep_h\n"
                     + "".join(f"{start + timedelta(days=i)},{60 + i % 5},{50 - i % 3},7.5\n" for i in range(40)))
    runner = CliRunner()
    ran = []
    for command in readme_commands():
        if command.startswith(NOT_RUN):
            continue
        args = shlex.split(command)[1:]
        if args[0] == "import":
            args = ["import", str(ride), str(daily)]
        elif args[0] == "backup":
            args = ["backup", str(tmp_path / "backup.tar")]
        stdin = f"{PASSWORD}\n{PASSWORD}\n" if args[:2] in (["user", "create"], ["user", "password"]) else None
        result = runner.invoke(build_app(), args, input=stdin)
        output = result.output
        if args[:2] in (["plan", "diff"], ["plan", "approve"]) and result.exit_code == 1:
            assert "no plan change is waiting" in output, (command, output)  # a clear answer, no pending change
        else:
            assert result.exit_code == 0, (command, output)
        assert "Traceback" not in output, (command, output)
        ran.append(args[0])
    assert {"import", "today", "plan", "backup", "user", "checkin", "activities", "athlete"} <= set(ran)
