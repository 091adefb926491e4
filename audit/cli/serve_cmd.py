"""`integrity-audit serve`: run the review web app (uvicorn) over the configured store."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from audit.cli.common import ConfigOption, console, friendly_errors, load_settings


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(config: Optional[Path] = ConfigOption,
              host: Optional[str] = typer.Option(None, help="address to listen on (default: the \\[web] host, 127.0.0.1)"),
              port: Optional[int] = typer.Option(None, help="port (default: the \\[web] port, 8000)"),
              workers: int = typer.Option(1, min=1, max=64, help="worker processes (about one per CPU core)"),
              access_log: bool = typer.Option(True, help="log every request line to the console")) -> None:
        """Serve the review web app. Off loopback, put it behind TLS: its cookies are then Secure."""
        import os

        import uvicorn

        from audit.store import open_store
        from audit.web import create_app
        from audit.web.app import CONFIG_ENV, HOST_ENV
        from audit.web.pages import loopback

        settings = load_settings(config)
        if host:
            settings.web.host = host
        if port:
            settings.web.port = port
        with friendly_errors():
            if workers > 1:  # migrate once here; each worker process builds its own app
                open_store(settings.store_url).dispose()
                os.environ[CONFIG_ENV] = str(settings.config_path or "")
                os.environ[HOST_ENV] = settings.web.host
                web_app = "audit.web.app:app_from_environment"
            else:
                web_app = create_app(settings)
        if not loopback(settings.web.host):
            console.print("[yellow]note:[/yellow] listening beyond loopback: session cookies are Secure, "
                          "so serve it behind HTTPS (a reverse proxy) or sign-in will not stick.")
        console.print(f"integrity-audit web app on http://{settings.web.host}:{settings.web.port}/"
                      f" ({workers} worker{'s' if workers > 1 else ''})")
        uvicorn.run(web_app, host=settings.web.host, port=settings.web.port, log_level="info",
                    proxy_headers=False, server_header=False, workers=workers, factory=workers > 1,
                    access_log=access_log)
