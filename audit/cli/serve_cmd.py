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
              port: Optional[int] = typer.Option(None, help="port (default: the \\[web] port, 8000)")) -> None:
        """Serve the review web app. Off loopback, put it behind TLS: its cookies are then Secure."""
        import uvicorn

        from audit.web import create_app
        from audit.web.pages import loopback

        settings = load_settings(config)
        if host:
            settings.web.host = host
        if port:
            settings.web.port = port
        with friendly_errors():
            web_app = create_app(settings)
        if not loopback(settings.web.host):
            console.print("[yellow]note:[/yellow] listening beyond loopback: session cookies are Secure, "
                          "so serve it behind HTTPS (a reverse proxy) or sign-in will not stick.")
        console.print(f"integrity-audit web app on http://{settings.web.host}:{settings.web.port}/")
        uvicorn.run(web_app, host=settings.web.host, port=settings.web.port, log_level="info",
                    proxy_headers=False, server_header=False)
