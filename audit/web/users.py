"""Web app accounts and sessions: argon2 password hashes, roles, disabling, and the session
table (the cookie carries a random token; the table keeps only its SHA-256 and the session's
CSRF token). Every change is an audit event through audit.store.trail.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, select

from audit.store import trail
from audit.store.db import Store
from audit.store.digests import digest, user_record
from audit.store.models import WebSession, WebUser

ROLES = ("reviewer", "ccu", "auditor", "admin")
MIN_PASSWORD = 12
# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 50-100 ms per check
# here, so sign-in stays quick for many users while guessing stays expensive.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
_DUMMY_HASH = _HASHER.hash("not a real password, used to keep failed logins as slow as real ones")
# Stored instead of a hash for an account that signs in by single sign-on only: never an argon2
# hash (those start with "$argon2"), so no password matches it (see authenticate).
SSO_ONLY = "!sso-only"
_NAME_PUNCTUATION = re.compile(r"[.\-_@]")  # allowed in user names besides letters and digits


class UserError(ValueError):
    """A user-management request that cannot be done; the message says why."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    department: str | None
    person_id: str | None
    active: bool
    sso_only: bool = False  # set by list_users / get_user (sessions do not load it)


@dataclass(frozen=True)
class SessionInfo:
    user: User
    csrf: str
    token_hash: str


def _user(u: WebUser) -> User:
    return User(name=u.name, role=u.role, department=u.department, person_id=u.person_id, active=u.active,
                sso_only=u.password_hash == SSO_ONLY)


def _clean(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise UserError(f"the password must be at least {MIN_PASSWORD} characters long")


def add_user(store: Store, name: str, role: str, password: str | None, *, actor: str,
             department: str | None = None, person_id: str | None = None, sso_only: bool = False,
             only_first: bool = False) -> User:
    """Add an enabled account. An `sso_only` one has no password: it signs in by OIDC only.
    `only_first` (first-run setup): refuse unless it is the store's first account."""
    name = (name or "").strip()
    if not name or len(name) > 128 or not _NAME_PUNCTUATION.sub("", name).isalnum():
        raise UserError("a user name is 1-128 letters, digits, '.', '-', '_' or '@' (for e-mail style names)")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if sso_only and password:
        raise UserError("an account for single sign-on only has no password")
    if not sso_only:
        check_password(password or "")
    with store.write() as s:
        if s.get(WebUser, name) is not None:
            raise UserError(f"user {name!r} already exists")
        u = WebUser(name=name, role=role, department=_clean(department), person_id=_clean(person_id),
                    password_hash=SSO_ONLY if sso_only else _HASHER.hash(password), active=True,
                    created_at=store.now())
        s.add(u)
        s.flush()
        trail.append(s, store, actor=actor, action="user.add", obj=f"user:{name}",
                     details={"role": role, "department": u.department, "person_id": u.person_id,
                              **({"sso_only": True} if sso_only else {}), "digests": _digest(u)})
        # Counted after the trail append, which serialises writers (PostgreSQL advisory lock, SQLite
        # BEGIN IMMEDIATE): every account committed before us is seen, so two setups cannot both win.
        if only_first and s.execute(select(func.count()).select_from(WebUser)).scalar_one() > 1:
            raise UserError("an account already exists, so first-run setup is closed")
        return _user(u)


def _digest(u: WebUser) -> dict[str, str]:
    """What the trail records of the account row just written (audit.store.digests)."""
    return {f"user:{u.name}": digest(user_record(u))}


def has_accounts(store: Store) -> bool:
    """Whether the store has any web account at all (first-run setup is open only while not)."""
    with store.read() as s:
        return s.execute(select(WebUser.name).limit(1)).first() is not None


def list_users(store: Store) -> list[User]:
    with store.read() as s:
        return [_user(u) for u in s.execute(select(WebUser).order_by(WebUser.name)).scalars()]


def get_user(store: Store, name: str) -> User | None:
    with store.read() as s:
        u = s.get(WebUser, name)
        return _user(u) if u else None


def set_active(store: Store, name: str, active: bool, *, actor: str) -> None:
    """Disable (ending every session at once) or re-enable an account."""
    with store.write() as s:
        u = s.get(WebUser, name)
        if u is None:
            raise UserError(f"there is no user {name!r}")
        u.active = active
        if not active:
            s.execute(delete(WebSession).where(WebSession.user_name == name))
        trail.append(s, store, actor=actor, action="user.enable" if active else "user.disable",
                     obj=f"user:{name}", details={"digests": _digest(u)})


def set_password(store: Store, name: str, password: str, *, actor: str) -> None:
    check_password(password)
    with store.write() as s:
        u = s.get(WebUser, name)
        if u is None:
            raise UserError(f"there is no user {name!r}")
        u.password_hash = _HASHER.hash(password)
        s.execute(delete(WebSession).where(WebSession.user_name == name))
        trail.append(s, store, actor=actor, action="user.password", obj=f"user:{name}",
                     details={"digests": _digest(u)})


def authenticate(store: Store, name: str, password: str) -> User | None:
    """The active user if the password is right, else None (same cost either way)."""
    with store.read() as s:
        u = s.get(WebUser, (name or "").strip())
        usable = u is not None and u.active and u.password_hash != SSO_ONLY
        stored = u.password_hash if usable else _DUMMY_HASH
        try:
            _HASHER.verify(stored, password or "")
        except (VerificationError, InvalidHashError):
            return None
        if not usable:
            return None
        user, needs_rehash = _user(u), _HASHER.check_needs_rehash(stored)
    if needs_rehash:
        with store.write() as s:
            s.get(WebUser, user.name).password_hash = _HASHER.hash(password)
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(store: Store, user: User, minutes: int) -> tuple[str, str]:
    """A new session for `user`: (cookie token, csrf token). Expired sessions are purged."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = store.now()
    with store.write() as s:
        s.execute(delete(WebSession).where(WebSession.expires_at < now))
        s.add(WebSession(token_hash=_token_hash(token), user_name=user.name, csrf=csrf, created_at=now,
                         expires_at=now + timedelta(minutes=minutes)))
    return token, csrf


def session_for(store: Store, token: str | None) -> SessionInfo | None:
    """The live session of a cookie token, or None (unknown, expired or the user disabled)."""
    if not token or len(token) > 200:
        return None
    th = _token_hash(token)
    with store.read() as s:
        row = s.execute(_SESSION, {"th": th}).first()
    if row is None or row.expires_at <= store.now() or not row.active:
        return None
    user = User(name=row.name, role=row.role, department=row.department, person_id=row.person_id, active=True)
    return SessionInfo(user=user, csrf=row.csrf, token_hash=th)


_SESSION = (select(WebSession.csrf, WebSession.expires_at, WebUser.name, WebUser.role, WebUser.department,
                   WebUser.person_id, WebUser.active)
            .join(WebUser, WebUser.name == WebSession.user_name)
            .where(WebSession.token_hash == bindparam("th")))


def close_session(store: Store, token_hash: str) -> None:
    with store.write() as s:
        s.execute(delete(WebSession).where(WebSession.token_hash == token_hash))
