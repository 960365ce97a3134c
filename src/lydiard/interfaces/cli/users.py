"""``lydiard user ...``: accounts (the first admin is created here)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lydiard.interfaces.cli.common import console, friendly_errors, lazy, state

if TYPE_CHECKING:
    from lydiard.services import access
    from lydiard.services import users as user_svc
else:  # imported when a command runs
    access = lazy("lydiard.services.access")
    user_svc = lazy("lydiard.services.users")


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
            user = user_svc.create_user(state(ctx).ctx, access.Actor.system(), email=email, password=password,
                                        display_name=name or email.split("@", 1)[0], is_admin=admin)
        console.print(f"Created {'admin ' if user.is_admin else ''}account [bold]{user.email}[/] ({user.id}).")
        from lydiard.services.ownership import claim_for_first_account

        # The store's first account takes the athletes imported before it (a single-user install).
        for claimed in claim_for_first_account(state(ctx).ctx, access.Actor.system(), user.id):
            how = "its own athlete profile" if claimed.own else "an athlete it manages"
            console.print(f"This account owns [bold]{claimed.name}[/] ({how}): the data imported so far "
                          "is visible on the web and in the API after logging in.")

    @user_app.command("password")
    def password_cmd(
        ctx: typer.Context,
        email: str,
        password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
    ) -> None:
        """Reset an account's password (ends its sessions); asks for the new one (hidden)."""
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
        with friendly_errors():
            user = user_svc.reset_password(state(ctx).ctx, access.Actor.system(), email=email, new_password=password)
        console.print(f"Password of [bold]{user.email}[/] reset; its sessions were ended.")

    @user_app.command("list")
    def list_cmd(ctx: typer.Context) -> None:
        """List accounts."""
        with friendly_errors():
            rows = user_svc.list_users(state(ctx).ctx, access.Actor.system(), limit=10_000)
        table = Table("id", "email", "name", "admin")
        for u in rows:
            table.add_row(u.id, u.email, u.display_name, "yes" if u.is_admin else "")
        console.print(table)
