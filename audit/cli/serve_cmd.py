"""`integrity-audit serve`: run the review web app (uvicorn) over the configured store."""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from audit.cli.common import ConfigOption, console, err_console, friendly_errors, load_settings

if TYPE_CHECKING:
    from audit.store.db import Store


def first_run_setup(store: Store, base_url: str) -> tuple[str, str] | None:
    """(token, console message) when the store has no web accounts, else None: the one-time token
    that lets /setup create the first administrator, and the link to it."""
    from audit.web.users import has_accounts

    if has_accounts(store):
        return None
    token = secrets.token_urlsafe(32)
    return token, f"No accounts yet. To create the first administrator, open {base_url}setup?token={token}"


def no_admin_warning(store: Store) -> str | None:
    """A warning when the store has accounts but none is an enabled administrator (`users add jo
    --role reviewer` before any admin): nobody can then manage accounts from the web app, and
    first-run setup is closed because accounts exist."""
    from audit.web.users import list_users

    users = list_users(store)
    if not users or any(u.role == "admin" and u.active for u in users):
        return None
    return ("no enabled administrator account: nobody can manage accounts in the web app, and the first-run "
            "setup link is closed because accounts exist; `integrity-audit users add NAME --role admin` "
            "makes one")


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(config: Optional[Path] = ConfigOption,
              host: Optional[str] = typer.Option(None, help="address to listen on (default: the [web] host, 127.0.0.1)"),
              port: Optional[int] = typer.Option(None, help="port (default: the [web] port, 8000)"),
              workers: int = typer.Option(1, min=1, max=64, help="worker processes (about one per CPU core)"),
              access_log: bool = typer.Option(True, help="log every request line to the console")) -> None:
        """Serve the review web app. Off loopback, put it behind TLS: its cookies are then Secure.
        On a store with no accounts yet it prints a one-time link to create the first administrator."""
        import os

        import uvicorn

        from audit.store import open_store
        from audit.web import create_app
        from audit.web.app import CONFIG_ENV, HOST_ENV, SETUP_ENV
        from audit.web.pages import loopback

        settings = load_settings(config)
        if host:
            settings.web.host = host
        if port:
            settings.web.port = port
        base_url = f"http://{settings.web.host}:{settings.web.port}/"
        with friendly_errors():
            store = open_store(settings.store_url)
            setup = first_run_setup(store, base_url)
            warning = no_admin_warning(store)
            if workers > 1:  # migrated once here; each worker process builds its own app
                store.dispose()
                os.environ[CONFIG_ENV] = str(settings.config_path or "")
                os.environ[HOST_ENV] = settings.web.host
                os.environ.pop(SETUP_ENV, None)  # only a token made here opens /setup
                if setup:
                    os.environ[SETUP_ENV] = setup[0]
                web_app = "audit.web.app:app_from_environment"
            else:
                web_app = create_app(settings, store, setup_token=setup[0] if setup else None)
        if not loopback(settings.web.host):
            console.print("[yellow]note:[/yellow] listening beyond loopback: session cookies are Secure, "
                          "so serve it behind HTTPS (a reverse proxy) or sign-in will not stick.")
        console.print(f"integrity-audit web app on {base_url} ({workers} worker{'s' if workers > 1 else ''})")
        if setup:
            console.print(setup[1], soft_wrap=True, markup=False, highlight=False)
        if warning:
            err_console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True, highlight=False)
        uvicorn.run(web_app, host=settings.web.host, port=settings.web.port, log_level="info",
                    proxy_headers=False, server_header=False, workers=workers, factory=workers > 1,
                    access_log=access_log)
