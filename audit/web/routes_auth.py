"""Sign in and out. Login is rate-limited per user name + IP address (MAX_FAILURES failed
attempts in WINDOW_MINUTES), counted from the audit trail's "auth.login_failed" events, so the
limit holds across processes and restarts. The login form uses a double-submit CSRF cookie."""
from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select

from audit.store import trail
from audit.store.models import AuditEvent
from audit.web.pages import PUBLIC, SESSION_COOKIE, Ctx, route, redirect, secure_cookies
from audit.web.users import authenticate, close_session, open_session

MAX_FAILURES = 5
WINDOW_MINUTES = 15
LOGIN_CSRF_COOKIE = "ia_login_csrf"
HOME = {"reviewer": "/alerts", "ccu": "/alerts", "auditor": "/runs", "admin": "/admin/users"}


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths (never //host or a scheme) may be redirected to after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def recent_failures(ctx: Ctx, name: str) -> int:
    since = ctx.store.now() - timedelta(minutes=WINDOW_MINUTES)
    with ctx.store.read() as s:
        return s.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "auth.login_failed", AuditEvent.object == f"login:{name}@{ctx.ip}",
            AuditEvent.at >= since)).scalar_one()


def _login_form(ctx: Ctx, error: str | None = None, status: int = 200, name: str = ""):
    token = secrets.token_urlsafe(32)
    response = ctx.render("login.html", status=status, error=error, login_csrf=token, name=name,
                          next=_safe_next(ctx.request.query_params.get("next") or ctx.field("next")) or "")
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
        return _login_form(ctx, f"Too many failed sign-ins for this account from your address. "
                                f"Wait {WINDOW_MINUTES} minutes and try again.", 429, name)
    user = authenticate(ctx.store, name, ctx.form.get("password", ""))
    if user is None:
        ctx.audit("auth.login_failed", f"login:{name}@{ctx.ip}")
        return _login_form(ctx, "Wrong user name or password, or the account is disabled.", 401, name)
    minutes = ctx.settings.web.session_minutes
    token, _csrf = open_session(ctx.store, user, minutes)
    trail.log(ctx.store, actor=user.name, action="auth.login", obj=f"user:{user.name}", details={"ip": ctx.ip})
    ctx.audited = True
    response = redirect(_safe_next(ctx.field("next")) or HOME.get(user.role, "/alerts"))
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
