"""Browser-facing hardening: security headers on every response, and error pages that never
show a stack trace (the trace goes to the server log)."""
from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from audit.web import render

log = logging.getLogger("audit.web")

HEADERS = {
    "content-security-policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
MESSAGES = {400: "That request could not be handled.", 403: "You do not have access to this page.",
            404: "There is nothing here, or you do not have access to it.",
            405: "That method is not allowed here.", 500: "Something went wrong on the server. "
            "It has been logged; please try again or tell the administrator."}


class SecurityHeaders:
    """Pure ASGI middleware adding HEADERS (and no-store caching for pages) to every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope.get("path", "").startswith("/static/")

        async def wrapped(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.decode("latin-1").lower() not in HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, wrapped)


def error_page(status: int, message: str | None = None) -> HTMLResponse:
    body = render.page("error.html", status=status, message=message or MESSAGES.get(status, MESSAGES[400]),
                       user=None, csrf="")
    return HTMLResponse(body, status_code=status, headers=HEADERS if status >= 500 else None)


async def http_error(request: Request, exc: HTTPException) -> HTMLResponse:
    return error_page(exc.status_code)


async def server_error(request: Request, exc: Exception) -> HTMLResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(500)
