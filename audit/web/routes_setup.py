"""First-run setup: the first administrator account, made in the browser instead of with
`integrity-audit users add`.

`integrity-audit serve` on a store with no web accounts prints a link carrying a random one-time
token (app.state.setup_token; only someone with the server console sees it). /setup answers 404
unless that token was configured for this process, the request carries it, and the store still
has no accounts; the account is created by users.add_user(only_first=True), which checks again
inside its write transaction, so two browsers cannot both create one. The form uses the login
form's double-submit CSRF cookie (the one pages.endpoint checks on PUBLIC routes), scoped to /setup.
"""
from __future__ import annotations

import hmac
import secrets

from sqlalchemy.exc import IntegrityError

from audit.store import trail
from audit.web.pages import PUBLIC, Ctx, notice_url, redirect, route, secure_cookies
from audit.web.routes_auth import LOGIN_CSRF_COOKIE, start_session
from audit.web.security import error_page
from audit.web.users import MIN_PASSWORD, UserError, add_user, has_accounts

SETUP_PATH = "/setup"


def _setup_open(ctx: Ctx, given: str) -> bool:
    """A setup token is configured, `given` is it, and the store has no accounts yet."""
    expected = getattr(ctx.request.app.state, "setup_token", None)
    if not expected or not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        return False
    return not has_accounts(ctx.store)


def _setup_form(ctx: Ctx, token: str, error: str | None = None, status: int = 200, name: str = ""):
    csrf = secrets.token_urlsafe(32)
    response = ctx.render("setup.html", status=status, error=error, setup_csrf=csrf, token=token, name=name,
                          min_password=MIN_PASSWORD)
    response.set_cookie(LOGIN_CSRF_COOKIE, csrf, max_age=3600, httponly=True, samesite="strict",
                        secure=secure_cookies(ctx.request, ctx.settings), path=SETUP_PATH)
    return response


@route(SETUP_PATH, ("GET",), PUBLIC)
def setup_page(ctx: Ctx):
    token = ctx.request.query_params.get("token", "")
    if not _setup_open(ctx, token):
        return error_page(404)
    return _setup_form(ctx, token)


@route(SETUP_PATH, ("POST",), PUBLIC)
def setup_submit(ctx: Ctx):
    token = ctx.form.get("token", "")
    if not _setup_open(ctx, token):
        return error_page(404)
    name, password = ctx.field("username")[:128], ctx.form.get("password", "")
    if password != ctx.form.get("password2", ""):
        return _setup_form(ctx, token, "The two passwords are not the same.", 400, name)
    try:
        user = add_user(ctx.store, name, "admin", password, actor="setup", only_first=True)
    except UserError as e:
        if not _setup_open(ctx, token):  # another browser has just made the first account
            return error_page(404)
        message = str(e)
        return _setup_form(ctx, token, f"{message[:1].upper()}{message[1:]}.", 400, name)
    except IntegrityError:  # the same name, added at the same moment by another browser
        return error_page(404)
    trail.log(ctx.store, actor="setup", action="auth.setup", obj=f"user:{user.name}", details={"ip": ctx.ip})
    response = redirect(notice_url("/admin/users", "welcome"))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=SETUP_PATH)
    return start_session(ctx, user, response, {"method": "setup"})
