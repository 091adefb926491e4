"""Sign in and out, by password or by OpenID Connect single sign-on (audit.web.oidc).

Password sign-in is rate-limited per user name + IP address (MAX_FAILURES failed attempts in
WINDOW_MINUTES), counted from the audit trail's "auth.login_failed" events, so the limit holds
across processes and restarts; refused single sign-ins ("auth.sso_refused") are counted the same
way per IP address, and an account locked for passwords at an address is locked for SSO there
too. The login form uses a double-submit CSRF cookie. Both ways end in start_session.
"""
from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from starlette.responses import Response

from audit.store import trail
from audit.store.models import AuditEvent
from audit.web import oidc
from audit.web.pages import PUBLIC, SESSION_COOKIE, Ctx, route, redirect, secure_cookies
from audit.web.security import error_page
from audit.web.users import User, authenticate, close_session, get_user, has_accounts, open_session

MAX_FAILURES = 5
WINDOW_MINUTES = 15
LOGIN_CSRF_COOKIE = "ia_login_csrf"
ACCOUNT_LOCKED = (f"Too many failed sign-ins for this account from your address. Wait {WINDOW_MINUTES} "
                  "minutes and try again.")
SSO_LOCKED = f"Too many refused single sign-ins from your address. Wait {WINDOW_MINUTES} minutes and try again."
HOME = {"reviewer": "/alerts", "ccu": "/alerts", "auditor": "/runs", "admin": "/admin/users"}


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths (never //host or a scheme) may be redirected to after login."""
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and target.isprintable()):
        return target
    return None


def _recent_events(ctx: Ctx, action: str, obj: str) -> int:
    """How many `action` events on `obj` the trail has from the last WINDOW_MINUTES."""
    since = ctx.store.now() - timedelta(minutes=WINDOW_MINUTES)
    with ctx.store.read() as s:
        return s.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == action, AuditEvent.object == obj, AuditEvent.at >= since)).scalar_one()


def recent_failures(ctx: Ctx, name: str) -> int:
    return _recent_events(ctx, "auth.login_failed", f"login:{name}@{ctx.ip}")


def _login_form(ctx: Ctx, error: str | None = None, status: int = 200, name: str = ""):
    token = secrets.token_urlsafe(32)
    sso = ctx.settings.web.oidc
    response = ctx.render("login.html", status=status, error=error, login_csrf=token, name=name,
                          next=_safe_next(ctx.request.query_params.get("next") or ctx.field("next")) or "",
                          sso_label=sso.button_label if sso else None, no_accounts=not has_accounts(ctx.store))
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=secure_cookies(ctx.request, ctx.settings), path="/login")
    return response


@route("/login", ("GET",), PUBLIC)
def login_page(ctx: Ctx):
    return _login_form(ctx)


@route("/login", ("POST",), PUBLIC)
def login_submit(ctx: Ctx):
    name = ctx.field("username")[:128]
    if not name:
        return _login_form(ctx, "Enter your user name and password.", 400)
    if recent_failures(ctx, name) >= MAX_FAILURES:
        ctx.audit("auth.login_locked", f"login:{name}@{ctx.ip}")
        return _login_form(ctx, ACCOUNT_LOCKED, 429, name)
    user = authenticate(ctx.store, name, ctx.form.get("password", ""))
    if user is None:
        ctx.audit("auth.login_failed", f"login:{name}@{ctx.ip}")
        return _login_form(ctx, "Wrong user name or password, or the account is disabled.", 401, name)
    return start_session(ctx, user, redirect(_safe_next(ctx.field("next")) or HOME.get(user.role, "/alerts")))


def start_session(ctx: Ctx, user: User, response: Response, details: dict[str, Any] | None = None) -> Response:
    """Open a session for `user`, log "auth.login" and set the session cookie on `response`."""
    minutes = ctx.settings.web.session_minutes
    token, _csrf = open_session(ctx.store, user, minutes)
    trail.log(ctx.store, actor=user.name, action="auth.login", obj=f"user:{user.name}",
              details={**(details or {}), "ip": ctx.ip})
    ctx.audited = True
    response.set_cookie(SESSION_COOKIE, token, max_age=minutes * 60, httponly=True, samesite="strict",
                        secure=secure_cookies(ctx.request, ctx.settings), path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@route("/logout", ("POST",), ("reviewer", "ccu", "auditor", "admin"))
def logout(ctx: Ctx):
    close_session(ctx.store, ctx.session.token_hash)
    ctx.audit("auth.logout", f"user:{ctx.user.name}")
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@route("/", ("GET",), ("reviewer", "ccu", "auditor", "admin"))
def home(ctx: Ctx):
    return redirect(HOME.get(ctx.user.role, "/login"))


# -- single sign-on (OpenID Connect) --------------------------------------------------------

def _redirect_url(ctx: Ctx) -> str:
    return ctx.settings.web.oidc.redirect_url or str(ctx.request.url_for("oidc_callback"))


def _sso_locked(ctx: Ctx) -> bool:
    return _recent_events(ctx, "auth.sso_refused", f"sso:{ctx.ip}") >= MAX_FAILURES


def _first_use(ctx: Ctx, flow: oidc.Flow) -> bool:
    """Record that this flow reached its callback; true only the first time. The event and the count
    share one write transaction, and trail appends are serialised (see audit.store.trail), so of
    two concurrent uses, in any processes, the second counts both events and is refused."""
    obj = f"sso-flow:{flow.id}"
    with ctx.store.write() as s:
        trail.append(s, ctx.store, actor=ctx.session.user.name if ctx.session else "anonymous",
                     action="auth.sso_callback", obj=obj, details={"ip": ctx.ip})
        uses = s.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.object == obj)).scalar_one()
    ctx.audited = True
    return uses == 1


def _sso_refusal(ctx: Ctx, error: oidc.OidcError, details: dict[str, Any]) -> Response:
    ctx.audit("auth.sso_refused", f"sso:{ctx.ip}", {**details, "reason": error.reason})
    response = _login_form(ctx, error.message, error.status)
    response.delete_cookie(oidc.FLOW_COOKIE, path=oidc.FLOW_PATH)
    return response


@route("/login/oidc", ("GET",), PUBLIC)
def oidc_start(ctx: Ctx):
    """Send the browser to the provider, with a signed flow cookie to bring back."""
    client = oidc.client_for(ctx.request.app.state, ctx.settings.web.oidc)
    if client is None:
        return error_page(404)
    if _sso_locked(ctx):
        return _login_form(ctx, SSO_LOCKED, 429)
    flow = oidc.Flow.start(_safe_next(ctx.request.query_params.get("next")) or "", client.clock())
    try:
        response = redirect(client.authorize_url(flow, _redirect_url(ctx)))
        cookie = oidc.seal(flow, client.flow_key)
    except oidc.OidcError as e:
        return _login_form(ctx, e.message, e.status)
    response.set_cookie(oidc.FLOW_COOKIE, cookie, max_age=oidc.FLOW_SECONDS, httponly=True, samesite="lax",
                        secure=secure_cookies(ctx.request, ctx.settings), path=oidc.FLOW_PATH)
    return response


def _sso_account(ctx: Ctx, client: oidc.OidcClient, details: dict[str, Any]) -> tuple[User, oidc.Flow]:
    """Check the callback against its flow, have the provider identify the person and find their
    enabled local account; OidcError (with the reason) for anything else."""
    query = ctx.request.query_params
    if _sso_locked(ctx):
        raise oidc.OidcError(SSO_LOCKED, "too many refused single sign-ins", 429)
    if query.get("error"):
        error = query["error"][:80]
        raise oidc.OidcError(f"The sign-in provider did not sign you in ({error}).", f"provider error: {error}", 401)
    flow = oidc.unseal(ctx.request.cookies.get(oidc.FLOW_COOKIE), client.flow_key, client.clock())
    if flow is None:
        raise oidc.OidcError("The sign-in took too long or was started in another browser. Start again.",
                             "no valid flow cookie", 400)
    if not hmac.compare_digest(query.get("state", "").encode("utf-8"), flow.state.encode("utf-8")):
        raise oidc.OidcError("The sign-in did not come back as it was sent. Start again.", "state mismatch", 400)
    if not _first_use(ctx, flow):
        raise oidc.OidcError("This sign-in has already been used. Start again.", "flow used twice", 400)
    code = query.get("code", "")
    if not code or len(code) > 4096:
        raise oidc.OidcError("The sign-in provider sent no sign-in code. Start again.", "no code", 400)
    name = details["username"] = client.identify(code, flow, _redirect_url(ctx))
    user = get_user(ctx.store, name)
    if user is None:
        raise oidc.OidcError(f"There is no account here for {name}. Ask an administrator to add one.",
                             "unknown account", 403)
    if not user.active:
        raise oidc.OidcError("This account is disabled.", "account disabled", 403)
    if recent_failures(ctx, name) >= MAX_FAILURES:
        raise oidc.OidcError(ACCOUNT_LOCKED, "account locked at this address", 429)
    return user, flow


@route("/login/oidc/callback", ("GET",), PUBLIC)
def oidc_callback(ctx: Ctx):
    """The provider's redirect back: sign the person in to their local account, or say why not."""
    client = oidc.client_for(ctx.request.app.state, ctx.settings.web.oidc)
    if client is None:
        return error_page(404)
    details: dict[str, Any] = {"method": "oidc", "issuer": client.cfg.issuer}
    try:
        user, flow = _sso_account(ctx, client, details)
    except oidc.OidcError as e:
        return _sso_refusal(ctx, e, details)
    target = flow.next or HOME.get(user.role, "/alerts")
    # A page, not a redirect: the session cookie is SameSite=Strict, and a navigation the provider's
    # page started (after its sign-in form) stays cross-site through our redirects, so the cookie
    # would not be sent; a refresh from this page is same-site (tests/web/test_oidc_browser.py).
    response = ctx.render("signed_in.html", name=user.name, target=target)
    response.headers["refresh"] = "0; url=" + quote(target, safe="/?&=%:@-._~+,")
    response.delete_cookie(oidc.FLOW_COOKIE, path=oidc.FLOW_PATH)
    return start_session(ctx, user, response, {"method": "oidc", "issuer": client.cfg.issuer})
