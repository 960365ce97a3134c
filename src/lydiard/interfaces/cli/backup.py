"""``lydiard backup PATH`` and ``lydiard restore PATH`` (SQLite stores; PostgreSQL uses pg_dump)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lydiard.interfaces.cli.common import console, friendly_errors, lazy, state

if TYPE_CHECKING:
    from lydiard.services import backup as backup_svc
else:  # imported when a command runs
    backup_svc = lazy("lydiard.services.backup")


def _mib(n_bytes: int) -> str:
    return f"{n_bytes / 1024**2:.1f} MiB"


def register(app: typer.Typer) -> None:
    """Add the ``backup`` and ``restore`` commands to the CLI."""

    @app.command("backup")
    def backup_cmd(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(help="Archive to write (a new file, e.g. lydiard-2025-06-30.tar)")],
    ) -> None:
        """Back up the store (database snapshot + original files) into one archive, while it runs."""
        st = state(ctx)
        with friendly_errors():
            info = backup_svc.backup(st.ctx, path)
        console.print(f"Backup written to [bold]{info.path}[/]: schema {info.schema_revision}, database "
                      f"{_mib(info.database_bytes)}, {info.n_files} original file(s) ({_mib(info.files_bytes)}).")
        if info.missing_files:
            console.print(f"[yellow]{len(info.missing_files)} file(s) referenced by the database were missing "
                          "from the file store and are not in the backup.[/]")

    @app.command("restore")
    def restore_cmd(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(help="Archive written by `lydiard backup`")],
        force: Annotated[bool, typer.Option("--force", help="Replace a store that already holds data")] = False,
        verify_only: Annotated[bool, typer.Option("--verify", help="Only check the archive's checksums")] = False,
    ) -> None:
        """Restore a backup into an empty home (LYDIARD_HOME); stop the server first."""
        st = state(ctx)
        with friendly_errors():
            if verify_only:
                manifest = backup_svc.verify_backup(path)
                console.print(f"{path}: intact (schema {manifest.get('schema_revision')}, "
                              f"{len(manifest['members']) - 1} original file(s)).")
                return
            info = backup_svc.restore(st.settings, path, force=force)
        rows = sum(info.row_counts.values())
        console.print(f"Restored into [bold]{st.settings.home}[/]: {rows} row(s), {info.n_files} original file(s); "
                      f"schema {info.schema_revision_backup} → {info.schema_revision_now}.")
