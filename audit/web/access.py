"""Who may see and do what: roles per page, need-to-know on alerts, segregation of duties.

- reviewer (PSD): alerts that are not sensitive (notifiable associations, vetting); if the
  account has a department, only alerts about staff of that department.
- ccu: every alert. auditor: rules, runs and the audit trail; alerts read-only, not sensitive ones.
- admin: user accounts only.
- Nobody sees alerts about themselves; nobody disposes of (reviews, suppresses, reopens, takes)
  an alert about themselves or about anyone below them in the line-management chain, using the
  line managers the store keeps from the workforce register (people.line_manager_id).
"""
from __future__ import annotations

from sqlalchemy import select

from audit.store.db import Store
from audit.store.models import Person
from audit.web.users import User

READ_ALERTS = ("reviewer", "ccu", "auditor")
WORK_ALERTS = ("reviewer", "ccu")
SEE_RUNS = ("reviewer", "ccu", "auditor")
SEE_TRAIL = ("ccu", "auditor")
ADMIN = ("admin",)
MAX_CHAIN = 25  # line-management depth followed (guards against cycles in HR data)


def sees_sensitive(user: User) -> bool:
    return user.role == "ccu"


def can_see(user: User, *, sensitivity: str | None, department: str | None, subject: str | None) -> bool:
    """Need-to-know for one alert (the same test the queue applies in SQL)."""
    if user.role not in READ_ALERTS:
        return False
    if user.person_id and subject == user.person_id:
        return False
    if user.role == "ccu":
        return True
    if sensitivity == "sensitive":
        return False
    if user.department and (department or "").casefold() != user.department.casefold():
        return False
    return True


def managers_of(store: Store, person_key: str) -> list[str]:
    """The line-management chain above a person, nearest first."""
    chain: list[str] = []
    current = person_key
    with store.read() as s:
        for _ in range(MAX_CHAIN):
            manager = s.execute(select(Person.line_manager_id).where(Person.person_key == current)).scalar()
            if not manager or manager in chain or manager == person_key:
                break
            chain.append(manager)
            current = manager
    return chain


def reports_of(store: Store, person_id: str) -> set[str]:
    """Everyone below `person_id` in the line-management chain."""
    found: set[str] = set()
    frontier = {person_id}
    with store.read() as s:
        for _ in range(MAX_CHAIN):
            rows = set(s.execute(select(Person.person_key).where(Person.line_manager_id.in_(frontier))).scalars())
            rows -= found | {person_id}
            if not rows:
                break
            found |= rows
            frontier = rows
    return found


def conflict(store: Store, user: User, subject: str | None) -> str | None:
    """Why `user` may not dispose of an alert about `subject`, or None when they may."""
    if not subject or not user.person_id:
        return None
    if subject == user.person_id:
        return "this alert is about you"
    if user.person_id in managers_of(store, subject):
        return "this alert is about someone you line-manage"
    return None
