"""`integrity-audit users add|list|disable|enable|password`: accounts of the review web app."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from audit.cli.alerts_cmd import current_user
from audit.cli.common import ConfigOption, console, fail
from audit.cli.runs_cmd import open_store_from

users_app = typer.Typer(help="Web app users: add, list, disable, enable, reset a password.", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Password again", hide_input=True) != first:
        fail("the two passwords are not the same")
    return first


@users_app.command("add")
def add_cmd(name: str, config: Optional[Path] = ConfigOption,
            role: str = typer.Option(..., help="reviewer | ccu | auditor | admin"),
            department: Optional[str] = typer.Option(
                None, help="limit a reviewer to alerts about staff of this department (default: force-wide)"),
            person_id: Optional[str] = typer.Option(
                None, "--person-id", help="the user's own person id (segregation of duties)"),
            password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin"),
            sso: bool = typer.Option(False, "--sso", help="single sign-on only (\\[web.oidc]): no password")) -> None:
    """Add a user; the password is asked twice (or read from stdin) and stored as an argon2 hash.
    With --sso the account has no password and signs in through the OpenID Connect provider only."""
    from audit.web.users import UserError, add_user

    if sso and password_stdin:
        fail("--sso accounts have no password: leave out --password-stdin", 2)
    store = open_store_from(config)
    try:
        u = add_user(store, name, role, None if sso else _password(password_stdin), actor=current_user(),
                     department=department, person_id=person_id, sso_only=sso)
    except UserError as e:
        fail(str(e), 2)
    console.print(f"added {u.name} ({u.role}{', single sign-on only' if u.sso_only else ''})")


@users_app.command("list")
def list_cmd(config: Optional[Path] = ConfigOption) -> None:
    """List users."""
    from audit.web.users import list_users

    t = Table("name", "role", "department", "person id", "status", "sign-in")
    for u in list_users(open_store_from(config)):
        t.add_row(u.name, u.role, u.department or "-", u.person_id or "-", "active" if u.active else "disabled",
                  "sso only" if u.sso_only else "password")
    console.print(t)


def _set_active(name: str, config: Optional[Path], active: bool) -> None:
    from audit.web.users import UserError, set_active

    try:
        set_active(open_store_from(config), name, active, actor=current_user())
    except UserError as e:
        fail(str(e), 2)
    console.print(f"{name} {'enabled' if active else 'disabled (sessions ended)'}")


@users_app.command("disable")
def disable_cmd(name: str, config: Optional[Path] = ConfigOption) -> None:
    """Disable a user at once (their sessions end)."""
    _set_active(name, config, False)


@users_app.command("enable")
def enable_cmd(name: str, config: Optional[Path] = ConfigOption) -> None:
    """Re-enable a disabled user."""
    _set_active(name, config, True)


@users_app.command("password")
def password_cmd(name: str, config: Optional[Path] = ConfigOption,
                 password_stdin: bool = typer.Option(False, "--password-stdin")) -> None:
    """Reset a user's password (their sessions end)."""
    from audit.web.users import UserError, set_password

    try:
        set_password(open_store_from(config), name, _password(password_stdin), actor=current_user())
    except UserError as e:
        fail(str(e), 2)
    console.print(f"password of {name} reset")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
