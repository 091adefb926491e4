"""The queue's need-to-know (queue.visible, in SQL) and the alert page's (access.can_see, in Python)
are two implementations of one rule: for every user, they must pick the same alerts. A queue row for
an alert its page refuses shows a title, subject and department the user may not read; the reverse
hides work from the one who should do it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from audit.store.models import Alert
from audit.store.queries import alert_view
from audit.web import access
from audit.web.queue import QueueFilter, _choices, _matching
from audit.web.users import User

import seed

USERS = [User(name, role, dept, pid, True) for name, (role, dept, pid) in seed.USERS.items()] + [
    User("lower", "reviewer", "custody", None, True),  # a department written in another case
    User("cid", "reviewer", "CID", "P5", True),  # scoped and a subject
    User("ccu-subject", "ccu", None, "P1", True),
    User("aud-dept", "auditor", "Roads Policing", None, True),
]


@pytest.fixture(params=["store", "pg_store"])
def any_kind(request):
    """The seeded store on SQLite and on PostgreSQL (whose lower() and SQLite's differ)."""
    return request.getfixturevalue(request.param)


def test_the_queue_and_the_alert_page_agree_on_every_alert_for_every_user(any_kind):
    store = any_kind
    with store.read() as s:
        every = list(s.execute(select(Alert.id)).scalars())
    views = {i: alert_view(store, i) for i in every}
    assert {v.sensitivity for v in views.values()} >= {"sensitive", "internal"}  # both kinds are there
    for user in USERS:
        with store.read() as s:
            queued = set(_matching(s, user, QueueFilter())[0])
        shown = {i for i, a in views.items()
                 if access.can_see(user, sensitivity=a.sensitivity, department=a.department, subject=a.subject)}
        assert queued == shown, (user.name, sorted(queued ^ shown)[:10])
        if user.role == "ccu":  # the comparison is not between two empty sets
            assert shown, user.name


def test_they_agree_on_departments_written_outside_ascii_and_in_another_case(any_kind):
    """SQLite's lower() folds ASCII letters only: "ÉCONOMIC CRIME" and "Économic Crime" differ to it."""
    store = any_kind
    from audit.store.models import Person

    with store.write() as s:
        for p in s.execute(select(Person).where(Person.department == "Custody")).scalars():
            p.department = "ÉCONOMIC CRIME"
    with store.read() as s:
        every = list(s.execute(select(Alert.id)).scalars())
    views = {i: alert_view(store, i) for i in every}
    for user in (User("eco", "reviewer", "Économic Crime", None, True), User("eco2", "reviewer", "économic crime", None, True)):
        with store.read() as s:
            queued = set(_matching(s, user, QueueFilter())[0])
            offered = _choices(s, user)["departments"]  # the drop-down: their department only
        shown = {i for i, a in views.items()
                 if access.can_see(user, sensitivity=a.sensitivity, department=a.department, subject=a.subject)}
        assert shown, user.name
        assert queued == shown, (user.name, sorted(queued ^ shown)[:10])
        assert offered == ["ÉCONOMIC CRIME"], user.name
    with store.read() as s:  # the CCU's drop-down: every department
        assert _choices(s, User("cara", "ccu", None, None, True))["departments"] == ["CID", "Roads Policing", "ÉCONOMIC CRIME"]


def test_a_name_search_finds_a_name_written_outside_ascii_in_any_case(any_kind):
    """The queue's person search folds case beyond ASCII ("siân" finds "SIÂN JONES") on every store."""
    from audit.store.models import Person

    store = any_kind
    with store.write() as s:
        s.execute(select(Person).where(Person.person_key == "P5")).scalar_one().name = "SIÂN JONES"
    ccu = User("cara", "ccu", None, None, True)
    with store.read() as s:
        about = set(s.execute(select(Alert.id).where(Alert.subject == "P5")).scalars())
        found = {typed: set(_matching(s, ccu, QueueFilter(person=typed))[0]) for typed in ("siân", "SIÂN", "Siân Jones")}
    assert about
    for typed, ids in found.items():
        assert ids == about, typed
