"""`integrity-audit users add|list|disable|enable|password`: accounts of the review web app."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from audit.cli.alerts_cmd import current_user
from audit.cli.common import ConfigOption, JsonOption, console, fail, print_json
from audit.cli.exitcodes import NOT_FOUND, USAGE
from audit.cli.runs_cmd import open_store_from

users_app = typer.Typer(help="Web app users: add, list, disable, enable, reset a password.", no_args_is_help=True)
NameArgument = typer.Argument(..., help="the account name (what the user signs in with)", metavar="NAME")
PasswordStdin = typer.Option(False, "--password-stdin", help="read the password from stdin instead of asking twice")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Password again", hide_input=True) != first:
        fail("the two passwords are not the same", USAGE)
    return first


@users_app.command("add")
def add_cmd(name: str = NameArgument, config: Optional[Path] = ConfigOption,
            role: str = typer.Option(..., help="reviewer | ccu | auditor | admin"),
            department: Optional[str] = typer.Option(
                None, help="limit a reviewer to alerts about staff of this department (default: force-wide)"),
            person_id: Optional[str] = typer.Option(
                None, "--person-id", help="the user's own person id (segregation of duties)"),
            password_stdin: bool = PasswordStdin,
            sso: bool = typer.Option(False, "--sso", help="single sign-on only ([web.oidc]): no password")) -> None:
    """Add a user; the password is asked twice (or read from stdin) and stored as an argon2 hash.
    With --sso the account has no password and signs in through the OpenID Connect provider only."""
    from audit.web.users import UserError, add_user

    if sso and password_stdin:
        fail("--sso accounts have no password: leave out --password-stdin", USAGE)
    store = open_store_from(config)
    try:
        u = add_user(store, name, role, None if sso else _password(password_stdin), actor=current_user(),
                     department=department, person_id=person_id, sso_only=sso)
    except UserError as e:
        fail(str(e), USAGE)
    console.print(f"added {u.name} ({u.role}{', single sign-on only' if u.sso_only else ''})")


@users_app.command("list")
def list_cmd(config: Optional[Path] = ConfigOption, as_json: bool = JsonOption) -> None:
    """List users: name, role, department, person id, enabled or not, how they sign in."""
    from audit.web.users import list_users

    users = list_users(open_store_from(config))
    if as_json:
        print_json([{"name": u.name, "role": u.role, "department": u.department, "person_id": u.person_id,
                     "active": u.active, "sso_only": u.sso_only} for u in users])
        return
    if not users:
        console.print("no user accounts yet: `integrity-audit users add NAME --role admin` makes the first, "
                      "or `integrity-audit serve` prints a one-time link to make the administrator")
        return
    t = Table("name", "role", "department", "person id", "status", "sign-in")
    for u in users:
        t.add_row(u.name, u.role, u.department or "-", u.person_id or "-", "active" if u.active else "disabled",
                  "sso only" if u.sso_only else "password")
    console.print(t)


def _need_user(config: Optional[Path], name: str):
    """The store, once it is known to have account `name`; else exit 1 (not found)."""
    from audit.web.users import get_user

    store = open_store_from(config)
    if get_user(store, name) is None:
        fail(f"there is no user {name!r} (`integrity-audit users list` lists them)", NOT_FOUND)
    return store


def _set_active(name: str, config: Optional[Path], active: bool) -> None:
    from audit.web.users import UserError, set_active

    store = _need_user(config, name)
    try:
        set_active(store, name, active, actor=current_user())
    except UserError as e:
        fail(str(e), USAGE)
    console.print(f"{name} {'enabled' if active else 'disabled (sessions ended)'}")


@users_app.command("disable")
def disable_cmd(name: str = NameArgument, config: Optional[Path] = ConfigOption) -> None:
    """Disable a user at once (their sessions end)."""
    _set_active(name, config, False)


@users_app.command("enable")
def enable_cmd(name: str = NameArgument, config: Optional[Path] = ConfigOption) -> None:
    """Re-enable a disabled user."""
    _set_active(name, config, True)


@users_app.command("password")
def password_cmd(name: str = NameArgument, config: Optional[Path] = ConfigOption,
                 password_stdin: bool = PasswordStdin) -> None:
    """Reset a user's password (their sessions end)."""
    from audit.web.users import UserError, set_password

    store = _need_user(config, name)
    try:
        set_password(store, name, _password(password_stdin), actor=current_user())
    except UserError as e:
        fail(str(e), USAGE)
    console.print(f"password of {name} reset")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
