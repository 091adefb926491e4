"""How every route runs: find the session, check the role, check the CSRF token on every POST,
run the handler in a worker thread, and make sure the request leaves an audit event.

A route is declared with @route(path, methods, roles); ROUTES is the app's whole routing table
and each endpoint carries its roles (tests/web enumerate it). PUBLIC routes need no session.
Refusals are audit events too ("web.denied"), so probing is visible in the trail; each records
why, starting with its kind (DENIAL_KINDS): the role may not use the page, the object does not exist,
need-to-know, or a conflict of interest (segregation of duties).

Notices (the banner after an action) come only from NOTICES, by key: a redirect carries
`?notice=<key>` (notice_url) and the page fills the message's values from server-side state
(Ctx.notice), so no text from a URL is ever shown as the app's own words.
"""
from __future__ import annotations

import hmac
import ipaddress
import string
import threading
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from audit import display
from audit.settings import Settings
from audit.store import trail
from audit.store.db import Store
from audit.web import render
from audit.web.access import CONFLICT, NEED_TO_KNOW, NO_SUCH_OBJECT  # the kinds of refusal live with the decisions
from audit.web.security import error_page
from audit.web.users import SessionInfo, User, session_for

PUBLIC: tuple[str, ...] = ()
SESSION_COOKIE = "ia_session"
MAX_FORM_FIELD = 20_000
# Handlers are CPU-bound Python holding the GIL: more than a few running at once only slows each
# one (and a thread holding the audit trail's lock then waits for the GIL); the rest wait here.
HANDLER_THREADS = 6
_RUNNING = threading.BoundedSemaphore(HANDLER_THREADS)


def _limited(fn: Callable[..., Any], *args: Any) -> Any:
    with _RUNNING:
        return fn(*args)


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run blocking store / template work off the event loop, at most HANDLER_THREADS at a time."""
    return await run_in_threadpool(_limited, fn, *args)


# How a "web.denied" event's reason starts: which kind of refusal it was.
ROLE_NOT_ALLOWED = "role not allowed"
DENIAL_KINDS = (ROLE_NOT_ALLOWED, NO_SUCH_OBJECT, NEED_TO_KNOW, CONFLICT, "not signed in",
                "missing or wrong CSRF token")


class Denied(Exception):
    """Need-to-know refusal: shown as 404 (the alert's existence is not confirmed). `why` starts
    with its kind (NO_SUCH_OBJECT, NEED_TO_KNOW, CONFLICT)."""

    def __init__(self, why: str, obj: str):
        super().__init__(why)
        self.obj = obj


class BadRequest(Exception):
    """The user asked for something invalid; the message says what to fix (shown as 400)."""


# Every notice the app shows, by key. {fields} are filled by the page from server-side state (or a
# parameter it validated: a known user name), never from the URL's text; see Ctx.notice.
NOTICES: dict[str, str] = {
    "none_to_take": "There is no unassigned open alert for you.",
    "assigned": "Assigned to {assignee}.",
    "status_changed": "Status changed to {status}.",
    "reopened": "Reopened: the alert is in review again.",
    "suppressed": "Suppressed until {until}: it will not be raised again before then.",
    "user_added": "User {user} added as {role}{sso}.",
    "user_disabled": "User {user} disabled; their sessions have ended.",
    "user_enabled": "User {user} enabled.",
    "password_reset": "Password of {user} reset; their sessions have ended.",
    "welcome": "Welcome, {user}: you are the administrator. Add the reviewer, CCU and auditor accounts here.",
    "link_same": "Link confirmed: from the next run the two are one, and the alert is no longer lowered for it.",
    "link_different": "Link rejected: from the next run the two are kept apart, so findings that rested on it "
                      "are not raised again.",
}


def notice_url(path: str, key: str, **params: str | int) -> str:
    """`path` with a notice key (and the parameters its page validates) for the page to show."""
    if key not in NOTICES:
        raise KeyError(f"no notice {key!r}")
    return f"{path}?{urlencode({'notice': key, **params})}"


@dataclass
class Ctx:
    request: Request
    store: Store
    settings: Settings
    session: SessionInfo | None
    form: dict[str, str] = field(default_factory=dict)
    audited: bool = False

    @property
    def user(self) -> User:
        assert self.session is not None
        return self.session.user

    @property
    def ip(self) -> str:
        return self.request.client.host if self.request.client else "unknown"

    def audit(self, action: str, obj: str, details: dict[str, Any] | None = None) -> None:
        actor = self.session.user.name if self.session else "anonymous"
        trail.log(self.store, actor=actor, action=action, obj=obj, details={**(details or {}), "ip": self.ip})
        self.audited = True

    def render(self, template: str, status: int = 200, **context) -> HTMLResponse:
        body = render.page(template, user=self.session.user if self.session else None,
                           csrf=self.session.csrf if self.session else "", request=self.request,
                           show=display, **context)  # show: the one display layer (audit.display)
        return HTMLResponse(body, status_code=status)

    def field(self, name: str) -> str:
        return (self.form.get(name) or "").strip()

    @property
    def notice_key(self) -> str:
        key = self.request.query_params.get("notice", "")
        return key if key in NOTICES else ""

    def notice(self, **values: Any) -> str:
        """The message of the request's ?notice= key, its fields filled from `values` (which the
        page takes from server-side state); "" for an unknown key or when a value it needs is None."""
        template = NOTICES.get(self.notice_key)
        if template is None:
            return ""
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        if any(values.get(f) is None for f in fields):
            return ""
        return template.format(**{f: values[f] for f in fields})


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secure_cookies(request: Request, settings: Settings) -> bool:
    """Secure cookies unless the app is served on loopback over plain http."""
    return request.url.scheme == "https" or not loopback(settings.web.host)


@dataclass(frozen=True)
class RouteSpec:
    path: str
    methods: tuple[str, ...]
    roles: tuple[str, ...]
    handler: Callable[[Ctx], Response]
    name: str


ROUTES: list[RouteSpec] = []


def route(path: str, methods: tuple[str, ...], roles: tuple[str, ...]):
    def deco(fn: Callable[[Ctx], Response]):
        ROUTES.append(RouteSpec(path, methods, roles, fn, fn.__name__))
        return fn
    return deco


def _log_denied(store: Store, session: SessionInfo | None, request: Request, why: str, obj: str) -> None:
    trail.log(store, actor=session.user.name if session else "anonymous", action="web.denied", obj=obj,
              details={"why": why, "method": request.method, "path": request.url.path,
                       "ip": request.client.host if request.client else "unknown"})


async def _read_form(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=100, max_part_size=MAX_FORM_FIELD)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _serve(spec: RouteSpec, request: Request, form: dict[str, str]) -> Response:
    """Everything after reading the form, in one worker thread: session, role, CSRF, handler, audit."""
    store: Store = request.app.state.store
    settings: Settings = request.app.state.settings
    session = session_for(store, request.cookies.get(SESSION_COOKIE))
    obj = f"page:{request.url.path}"
    if spec.roles != PUBLIC:
        if session is None:
            if request.method == "GET":
                return redirect(f"/login?next={quote(request.url.path)}")
            _log_denied(store, None, request, "not signed in", obj)
            return error_page(403, "Please sign in again: your session has ended.")
        if session.user.role not in spec.roles:
            _log_denied(store, session, request, f"{ROLE_NOT_ALLOWED}: role {session.user.role} may not use "
                        f"{request.method} {spec.path}", obj)
            return error_page(403)
    if request.method == "POST":
        expected = (session.csrf if session and spec.roles != PUBLIC
                    else request.cookies.get("ia_login_csrf", ""))
        if not expected or not hmac.compare_digest(form.get("csrf", ""), expected):
            _log_denied(store, session, request, "missing or wrong CSRF token", obj)
            return error_page(403, "The form had expired or did not come from this site. "
                                   "Go back, reload the page and try again.")
    ctx = Ctx(request=request, store=store, settings=settings, session=session, form=form)
    try:
        response = spec.handler(ctx)
    except Denied as d:
        _log_denied(store, session, request, str(d), d.obj)
        return error_page(404)
    except BadRequest as e:
        return error_page(400, str(e))
    if session is not None and not ctx.audited:
        ctx.audit("web.view" if request.method == "GET" else "web.post", obj,
                  {"query": str(request.url.query)[:500]})
    return response


def endpoint(spec: RouteSpec):
    """The Starlette endpoint for one RouteSpec: read a POST's form (async), then one hop to a
    worker thread for the rest (see the module docstring for the steps)."""

    async def run(request: Request) -> Response:
        form = await _read_form(request) if request.method == "POST" else {}
        return await in_thread(_serve, spec, request, form)

    run.__name__ = spec.name
    run.roles = spec.roles  # type: ignore[attr-defined]
    return run
