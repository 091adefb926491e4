"""The admin's users page: list accounts, add one, disable / enable, reset a password.
Every change is an audit event (audit.web.users).

A new account's department scope and person id must be in the workforce register (the people the
store keeps from the runs, audit.store.models.Person): one that is not would make need-to-know
or segregation of duties silently do nothing. A refused form (that, or a name taken, passwords
that differ...) shows the page again with the message by the form and what was typed kept
(never a password), and is a "user.refused" audit event with the reason.
"""
from __future__ import annotations

from sqlalchemy import func, select

from audit.store.models import Person
from audit.web import access
from audit.web.pages import BadRequest, Ctx, notice_url, redirect, route
from audit.web.users import ROLES, User, UserError, add_user, get_user, list_users, set_active, set_password

ADD_FIELDS = ("name", "role", "department", "person_id", "sign_in")  # kept after a refusal (no passwords)


def _back(key: str, user: str):
    return redirect(notice_url("/admin/users", key, user=user))


def _user_call(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except UserError as e:
        message = str(e)
        raise BadRequest(f"{message[:1].upper()}{message[1:]}.") from None


def _departments(ctx: Ctx) -> list[str]:
    with ctx.store.read() as s:
        return sorted({d for d in s.execute(select(Person.department).distinct()).scalars() if d and d.strip()})


def _workforce_department(ctx: Ctx, department: str) -> str | None:
    """The register's spelling of `department` (compared as need-to-know does, ignoring case), or
    BadRequest naming the field when no one in the workforce register works there."""
    if not department:
        return None
    known = {d.casefold(): d for d in _departments(ctx)}
    if department.casefold() not in known:
        hint = (f"known departments: {', '.join(sorted(known.values()))}" if known
                else "the workforce register is empty until the first run is recorded")
        raise BadRequest(f"Department scope: {department!r} is not a department in the workforce register "
                         f"({hint}). Leave it empty for a force-wide account.")
    return known[department.casefold()]


def _workforce_person(ctx: Ctx, person_id: str) -> str | None:
    """`person_id` when it is a person in the workforce register, else BadRequest naming the field."""
    if not person_id:
        return None
    with ctx.store.read() as s:
        found = s.execute(select(func.count()).select_from(Person).where(Person.person_key == person_id)).scalar_one()
    if not found:
        raise BadRequest(f"Person id: {person_id!r} is not a person in the workforce register. Give the "
                         "account holder's own person id (segregation of duties uses it), or leave it empty.")
    return person_id


def _users_page(ctx: Ctx, *, status: int = 200, form_error: dict[str, str] | None = None,
                typed: dict[str, str] | None = None, notice: str = ""):
    return ctx.render("users.html", status=status, users=list_users(ctx.store), roles=ROLES,
                      sso=ctx.settings.web.oidc is not None, departments=_departments(ctx), notice=notice,
                      form_error=form_error, typed=typed or {})


def _notice(ctx: Ctx) -> str:
    """The notice of ?notice=…&user=…, the user a known account, the rest from its stored state."""
    if ctx.notice_key == "welcome":
        return ctx.notice(user=ctx.user.name)
    name = ctx.request.query_params.get("user", "")[:128]
    u: User | None = get_user(ctx.store, name) if name else None
    if u is None:
        return ""
    consistent = {"user_disabled": not u.active, "user_enabled": u.active}.get(ctx.notice_key, True)
    return ctx.notice(user=u.name, role=u.role, sso=" (single sign-on only)" if u.sso_only else "") if consistent else ""


def _refused(ctx: Ctx, form: str, target: str, e: BadRequest, typed: dict[str, str] | None = None):
    """Record why a users form was refused and show the page again, the message by that form."""
    ctx.audit("user.refused", f"user:{target[:128]}", {"form": form, "why": str(e)})
    return _users_page(ctx, status=400, form_error={"form": form, "user": target, "message": str(e)}, typed=typed)


@route("/admin/users", ("GET",), access.ADMIN)
def users_page(ctx: Ctx):
    return _users_page(ctx, notice=_notice(ctx))


@route("/admin/users", ("POST",), access.ADMIN)
def users_add(ctx: Ctx):
    """Add an account: with a password, or (when single sign-on is configured) SSO-only."""
    typed = {k: ctx.field(k)[:200] for k in ADD_FIELDS}
    try:
        sso_only = ctx.field("sign_in") == "sso"
        if sso_only and ctx.settings.web.oidc is None:
            raise BadRequest("Single sign-on is not configured ([web.oidc] in config.toml): "
                             "give the account a password.")
        password = None if sso_only else ctx.form.get("password", "")
        if not sso_only and password != ctx.form.get("password2", ""):
            raise BadRequest("The two passwords are not the same.")
        department = _workforce_department(ctx, ctx.field("department"))
        person_id = _workforce_person(ctx, ctx.field("person_id"))
        u = _user_call(add_user, ctx.store, ctx.field("name"), ctx.field("role"), password, actor=ctx.user.name,
                       department=department, person_id=person_id, sso_only=sso_only)
    except BadRequest as e:
        return _refused(ctx, "add", ctx.field("name"), e, typed)
    ctx.audited = True
    return _back("user_added", u.name)


@route("/admin/users/{name}/disable", ("POST",), access.ADMIN)
def users_disable(ctx: Ctx):
    name = ctx.request.path_params["name"]
    try:
        if name == ctx.user.name:
            raise BadRequest("You cannot disable your own account.")
        _user_call(set_active, ctx.store, name, False, actor=ctx.user.name)
    except BadRequest as e:
        return _refused(ctx, "active", name, e)
    ctx.audited = True
    return _back("user_disabled", name)


@route("/admin/users/{name}/enable", ("POST",), access.ADMIN)
def users_enable(ctx: Ctx):
    name = ctx.request.path_params["name"]
    try:
        _user_call(set_active, ctx.store, name, True, actor=ctx.user.name)
    except BadRequest as e:
        return _refused(ctx, "active", name, e)
    ctx.audited = True
    return _back("user_enabled", name)


@route("/admin/users/{name}/password", ("POST",), access.ADMIN)
def users_password(ctx: Ctx):
    name = ctx.request.path_params["name"]
    try:
        if ctx.form.get("password", "") != ctx.form.get("password2", ""):
            raise BadRequest("The two passwords are not the same.")
        _user_call(set_password, ctx.store, name, ctx.form.get("password", ""), actor=ctx.user.name)
    except BadRequest as e:
        return _refused(ctx, "password", name, e)
    ctx.audited = True
    return _back("password_reset", name)
