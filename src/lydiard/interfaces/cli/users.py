"""``lydiard user ...``: accounts (the first admin is created here)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from lydiard.interfaces.cli.common import console, friendly_errors, state
from lydiard.services import users as user_svc
from lydiard.services.access import Actor


def register(app: typer.Typer) -> None:
    user_app = typer.Typer(help="Accounts: athletes, coaches and admins.", no_args_is_help=True)
    app.add_typer(user_app, name="user")

    @user_app.command("create")
    def create(
        ctx: typer.Context,
        email: str,
        name: Annotated[str | None, typer.Option(help="Display name (default: the part before @)")] = None,
        admin: Annotated[bool, typer.Option("--admin", help="Make this account an admin")] = False,
        password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
    ) -> None:
        """Create an account; asks for the password (hidden) unless --password-stdin."""
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        with friendly_errors():
            user = user_svc.create_user(state(ctx).ctx, Actor.system(), email=email, password=password,
                                        display_name=name or email.split("@", 1)[0], is_admin=admin)
        console.print(f"Created {'admin ' if user.is_admin else ''}account [bold]{user.email}[/] ({user.id}).")

    @user_app.command("list")
    def list_cmd(ctx: typer.Context) -> None:
        """List accounts."""
        with friendly_errors():
            rows = user_svc.list_users(state(ctx).ctx, Actor.system(), limit=10_000)
        table = Table("id", "email", "name", "admin")
        for u in rows:
            table.add_row(u.id, u.email, u.display_name, "yes" if u.is_admin else "")
        console.print(table)
