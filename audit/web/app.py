"""The app factory: create_app(settings, store=None) -> a Starlette ASGI app, and
app_from_environment() for uvicorn worker processes (`integrity-audit serve --workers N`).

Routes come from the route modules' @route declarations (audit.web.pages.ROUTES); static files
(our CSS, and the report's stylesheet) are served by the app itself: no CDN, no build step.
"""
from __future__ import annotations

import logging
import os

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from audit.settings import Settings, load
from audit.store import open_store
from audit.store.db import Store
from audit.web import render, routes_admin, routes_alerts, routes_auth, routes_runs, routes_setup  # noqa: F401 (declare routes)
from audit.web.listing_cache import ListingCache
from audit.web.pages import PUBLIC, ROUTES, endpoint
from audit.web.security import SecurityHeaders, http_error, server_error

log = logging.getLogger("audit.web")
CONFIG_ENV = "INTEGRITY_AUDIT_CONFIG"  # the config file a worker process loads
HOST_ENV = "INTEGRITY_AUDIT_WEB_HOST"  # the address served (decides Secure cookies)
SETUP_ENV = "INTEGRITY_AUDIT_SETUP_TOKEN"  # the first-run setup token (audit.web.routes_setup)
_REPORT_CSS = render.report_css()


async def report_css(request: Request) -> Response:
    return Response(_REPORT_CSS, media_type="text/css")


report_css.roles = PUBLIC  # type: ignore[attr-defined]


def create_app(settings: Settings, store: Store | None = None, setup_token: str | None = None) -> Starlette:
    """The review web app over `store` (default: the store named by settings, migrated). With a
    `setup_token`, /setup can create the first administrator while the store has no accounts."""
    store = store or open_store(settings.store_url)
    routes = [Route(spec.path, endpoint(spec), methods=list(spec.methods), name=f"{spec.name}")
              for spec in ROUTES]
    routes += [Route("/static/report.css", report_css, methods=["GET"], name="report_css"),
               Mount("/static", app=StaticFiles(directory=str(render.STATIC)), name="static")]
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)],
                    exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.store = store
    app.state.settings = settings
    app.state.listing_cache = ListingCache()
    app.state.setup_token = setup_token
    return app


def app_from_environment() -> Starlette:
    """The app in a uvicorn worker process: settings from the file named by INTEGRITY_AUDIT_CONFIG
    (default: the embedded config.toml), the served address from INTEGRITY_AUDIT_WEB_HOST and the
    first-run setup token from INTEGRITY_AUDIT_SETUP_TOKEN, over a store the parent process has
    already migrated."""
    settings = load(os.environ.get(CONFIG_ENV) or None)
    if os.environ.get(HOST_ENV):
        settings.web.host = os.environ[HOST_ENV]
    return create_app(settings, open_store(settings.store_url, migrate=False),
                      setup_token=os.environ.get(SETUP_ENV) or None)
