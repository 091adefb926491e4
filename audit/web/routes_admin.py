"""The admin's users page: list accounts, add one, disable / enable, reset a password.
Every change is an audit event (audit.web.users)."""
from __future__ import annotations

from urllib.parse import quote

from audit.web import access
from audit.web.pages import BadRequest, Ctx, redirect, route
from audit.web.users import ROLES, UserError, add_user, list_users, set_active, set_password


def _back(message: str):
    return redirect("/admin/users?msg=" + quote(message))


def _user_call(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except UserError as e:
        raise BadRequest(str(e)) from None


@route("/admin/users", ("GET",), access.ADMIN)
def users_page(ctx: Ctx):
    return ctx.render("users.html", users=list_users(ctx.store), roles=ROLES,
                      sso=ctx.settings.web.oidc is not None,
                      message=ctx.request.query_params.get("msg", "")[:200])


@route("/admin/users", ("POST",), access.ADMIN)
def users_add(ctx: Ctx):
    """Add an account: with a password, or (when single sign-on is configured) SSO-only."""
    sso_only = ctx.field("sign_in") == "sso"
    if sso_only and ctx.settings.web.oidc is None:
        raise BadRequest("Single sign-on is not configured ([web.oidc] in config.toml): give the account a password.")
    password = None if sso_only else ctx.form.get("password", "")
    if not sso_only and password != ctx.form.get("password2", ""):
        raise BadRequest("The two passwords are not the same.")
    u = _user_call(add_user, ctx.store, ctx.field("name"), ctx.field("role"), password, actor=ctx.user.name,
                   department=ctx.field("department"), person_id=ctx.field("person_id"), sso_only=sso_only)
    ctx.audited = True
    return _back(f"User {u.name} added as {u.role}{' (single sign-on only)' if sso_only else ''}.")


@route("/admin/users/{name}/disable", ("POST",), access.ADMIN)
def users_disable(ctx: Ctx):
    name = ctx.request.path_params["name"]
    if name == ctx.user.name:
        raise BadRequest("You cannot disable your own account.")
    _user_call(set_active, ctx.store, name, False, actor=ctx.user.name)
    ctx.audited = True
    return _back(f"User {name} disabled; their sessions have ended.")


@route("/admin/users/{name}/enable", ("POST",), access.ADMIN)
def users_enable(ctx: Ctx):
    name = ctx.request.path_params["name"]
    _user_call(set_active, ctx.store, name, True, actor=ctx.user.name)
    ctx.audited = True
    return _back(f"User {name} enabled.")


@route("/admin/users/{name}/password", ("POST",), access.ADMIN)
def users_password(ctx: Ctx):
    name = ctx.request.path_params["name"]
    if ctx.form.get("password", "") != ctx.form.get("password2", ""):
        raise BadRequest("The two passwords are not the same.")
    _user_call(set_password, ctx.store, name, ctx.form.get("password", ""), actor=ctx.user.name)
    ctx.audited = True
    return _back(f"Password of {name} reset; their sessions have ended.")
