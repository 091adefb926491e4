"""The alert queue: filtered, sorted, paged listing with need-to-know applied in SQL, counts by
status, related alerts, and "take next" (claim the next unassigned alert atomically).

Reads the store's tables directly because the store's list_alerts has no department, register,
visibility or paging filters; the rows are shown in lists only (evidence comes from
audit.store.queries.alert_view). The ordered ids a filter matches are kept in a ListingCache
(audit.web.listing_cache) while the store has not changed; page rows are always read fresh.
take_next is the one write here: a compare-and-set on the assignee plus its audit event in the
same transaction, so two reviewers never get one alert.
"""
from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, case, cast, func, or_, select, union, update

from audit import registers
from audit.store import trail
from audit.store.db import Store
from audit.store.models import Alert, AlertLink, AlertOccurrence, Person, Run, RuleVersion
from audit.web.access import READ_ALERTS, reports_of
from audit.web.listing_cache import ListingCache, change_stamp
from audit.web.users import User
from rules.model import LEVELS

SORTS = {"level": "most severe first", "newest": "newest period first", "oldest": "oldest period first",
         "status": "status", "id": "alert number"}
PAGE_SIZE = 50
OPEN = ("new", "in_review")


@dataclass
class QueueFilter:
    period: str | None = None
    status: str | None = None
    level: str | None = None
    rule: str | None = None
    register: str | None = None
    department: str | None = None
    person: str | None = None
    assignee: str | None = None  # a user name, "me" or "none"
    novelty: str | None = None  # new | late | carried
    sort: str = "level"
    page: int = 1

    @classmethod
    def from_query(cls, q) -> "QueueFilter":
        def get(k):
            v = (q.get(k) or "").strip()
            return v[:200] or None
        try:
            page = max(1, min(int(q.get("page") or 1), 100_000))
        except ValueError:
            page = 1
        sort = q.get("sort") if q.get("sort") in SORTS else "level"
        return cls(period=get("period"), status=get("status"), level=get("level"), rule=get("rule"),
                   register=get("register"), department=get("department"), person=get("person"),
                   assignee=get("assignee"), novelty=get("novelty"), sort=sort, page=page)

    def as_query(self, **change: Any) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if v not in (None, "")}
        data.update(change)
        return {k: v for k, v in data.items() if v not in (None, "")}


@dataclass
class QueueRow:
    id: int
    period: str
    first_period: str
    novelty: str
    level: str
    status: str
    rule_id: str
    rule_name: str
    title: str
    subject: str | None
    subject_name: str | None
    department: str | None
    assignee: str | None
    sensitivity: str


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


NOVELTIES = {"new": "new this month", "late": "late arrival (of an earlier month)", "carried": "carried over"}

COLUMNS = (AlertOccurrence.period, AlertOccurrence.novelty, AlertOccurrence.level, AlertOccurrence.title,
           Alert.id, Alert.first_period, Alert.status, Alert.rule_id, Alert.rule_name, Alert.subject,
           Alert.assignee, Person.name.label("subject_name"), Person.department, RuleVersion.sensitivity)


def _base(s, period: str | None):
    """One row per alert (its latest occurrence, or the one found by `period`'s current run),
    with only the columns a list shows (no evidence, no JSON), so sorting stays cheap.

    The latest occurrence is the one of the alert's last_period: a rerun replaces a period's
    occurrences and the store keeps last_period = the newest period with an occurrence, so the
    join is one probe of (alert_id, period) per alert (index from migration 0003)."""
    occ = AlertOccurrence
    q = select(*COLUMNS)
    if period:
        run_id = (select(Run.id).where(Run.period == period, Run.superseded_by.is_(None),
                                       Run.status.in_(("succeeded", "partial")))
                  .order_by(Run.id.desc()).limit(1).scalar_subquery())
        q = q.select_from(occ).join(Alert, Alert.id == occ.alert_id).where(occ.run_id == run_id)
    else:
        q = q.select_from(Alert).join(occ, and_(occ.alert_id == Alert.id, occ.period == Alert.last_period))
    return (q.outerjoin(Person, Person.person_key == Alert.subject)
            .outerjoin(RuleVersion, and_(RuleVersion.rule_id == Alert.rule_id, RuleVersion.version == occ.rule_version))
            .where(occ.suppressed.is_(False)))


def visible(s, q, user: User):
    """Need-to-know in SQL (mirrors access.can_see; tests/web/test_need_to_know_parity.py)."""
    if user.role not in READ_ALERTS:
        return q.where(False)
    if user.person_id:
        q = q.where(or_(Alert.subject.is_(None), Alert.subject != user.person_id))
    if user.role == "ccu":
        return q
    q = q.where(func.coalesce(RuleVersion.sensitivity, "internal") != "sensitive")
    if user.department:
        q = q.where(Person.department.in_(department_spellings(s, user.department)))
    return q


def department_spellings(s, department: str) -> list[str]:
    """The ways the store's people write `department`, equal to it as access.can_see compares them
    (casefold). Not lower() in SQL: SQLite's folds only ASCII letters, so a reviewer scoped to
    "Économic Crime" found none of the alerts about "ÉCONOMIC CRIME" in the queue that the alert
    page let them open. A force has tens of departments: the distinct list is small, read once per
    session (a queue page asks up to three times; 25 ms each over 200,000 people in SQLite)."""
    wanted = department.casefold()
    return [d for d in _departments(s) if d.casefold() == wanted]


def _departments(s) -> list[str]:
    """The distinct departments of the store's people, read once per session."""
    if "departments" not in s.info:
        s.info["departments"] = list(
            s.execute(select(Person.department).distinct().where(Person.department.is_not(None))).scalars())
    return s.info["departments"]


def _filtered(s, q, f: QueueFilter, user: User):
    if f.status:
        q = q.where(Alert.status == f.status)
    if f.level:
        q = q.where(AlertOccurrence.level == f.level)
    if f.novelty:
        q = q.where(AlertOccurrence.novelty == f.novelty)
    if f.rule:
        q = q.where(or_(Alert.rule_id == f.rule, Alert.rule_name == f.rule))
    if f.register:
        if f.register not in registers.registers():
            return q.where(False)
        q = q.where(cast(RuleVersion.registers, String).like(f'%"{f.register}"%'))
    if f.department:
        q = q.where(Person.department.in_(department_spellings(s, f.department)))
    if f.person:
        # SQLite's lower() folds ASCII only: the store gives its connections casefold() (audit.store.db)
        sqlite = s.get_bind().dialect.name == "sqlite"
        typed = f.person.casefold() if sqlite else f.person.lower()
        name = func.casefold(Person.name) if sqlite else func.lower(Person.name)
        q = q.where(or_(Alert.subject == f.person, name.like(f"%{_like_escape(typed)}%", escape="\\")))
    if f.assignee == "none":
        q = q.where(Alert.assignee.is_(None))
    elif f.assignee:
        q = q.where(Alert.assignee == (user.name if f.assignee == "me" else f.assignee))
    return q


def _severity():
    return case({lv: i for i, lv in enumerate(LEVELS)}, value=AlertOccurrence.level, else_=len(LEVELS))


def _order(q, sort: str):
    occ = AlertOccurrence
    if sort == "newest":
        return q.order_by(occ.period.desc(), Alert.id.desc())
    if sort == "oldest":
        return q.order_by(occ.period, Alert.id)
    if sort == "status":
        return q.order_by(Alert.status, _severity(), Alert.id)
    if sort == "id":
        return q.order_by(Alert.id)
    return q.order_by(_severity(), occ.period, Alert.id)


def _row(r) -> QueueRow:
    return QueueRow(id=r.id, period=r.period, first_period=r.first_period, novelty=r.novelty, level=r.level,
                    status=r.status, rule_id=r.rule_id, rule_name=r.rule_name, title=r.title, subject=r.subject,
                    subject_name=r.subject_name, department=r.department, assignee=r.assignee,
                    sensitivity=r.sensitivity or "internal")


def _user_key(user: User) -> tuple:
    """What need-to-know depends on (visible(), choices()); the name only for assignee=me."""
    return (user.role, user.department, user.person_id)


def _matching(s, user: User, f: QueueFilter) -> tuple[array, dict[str, int]]:
    """Every alert id the filter matches for `user`, in the filter's order, and counts by status."""
    q = _filtered(s, visible(s, _base(s, f.period), user), f, user)
    ids, counts = array("q"), Counter()
    for alert_id, status in s.execute(_order(q.with_only_columns(Alert.id, Alert.status), f.sort)):
        ids.append(alert_id)
        counts[status] += 1
    return ids, dict(counts)


@dataclass
class QueuePage:
    rows: list[QueueRow]  # the requested page
    total: int  # alerts matching the filter
    counts: dict[str, int]  # matching alerts by status
    choices: dict[str, list[str]]  # values for the filter drop-downs


def search(store: Store, user: User, f: QueueFilter, *, page_size: int = PAGE_SIZE,
           cache: ListingCache | None = None) -> QueuePage:
    """One queue page of what `user` may see, in one read transaction.

    With a cache, the ordered ids and the drop-downs come from it while the store has not
    changed; the page's rows are always read fresh, with need-to-know applied again in SQL."""
    with store.read() as s:
        if cache is None:
            (ids, counts), drop_downs = _matching(s, user, f), _choices(s, user)
        else:
            stamp = change_stamp(s)
            key = ("queue", _user_key(user), user.name if f.assignee == "me" else None,
                   tuple(v for k, v in sorted(f.__dict__.items()) if k != "page"))
            ids, counts = cache.get(stamp, key, lambda: _matching(s, user, f))
            drop_downs = cache.get(stamp, ("choices", _user_key(user)), lambda: _choices(s, user))
        page_ids = list(ids[(f.page - 1) * page_size:f.page * page_size])
        rows = {r.id: r for r in s.execute(visible(s, _base(s, f.period), user).where(Alert.id.in_(page_ids)))
                } if page_ids else {}
        return QueuePage([_row(rows[i]) for i in page_ids if i in rows], len(ids), counts, drop_downs)


def _choices(s, user: User) -> dict[str, list[str]]:
    # the periods with a current run: one whose every run failed has no alerts to filter by
    periods = sorted(s.execute(select(Run.period).distinct().where(
        Run.superseded_by.is_(None), Run.status.in_(("succeeded", "partial")))).scalars(), reverse=True)
    rq = select(RuleVersion.name).distinct().where(RuleVersion.status != "shadow")  # shadow: no alerts to filter
    if user.role != "ccu":
        rq = rq.where(RuleVersion.sensitivity != "sensitive")
    rules = sorted(s.execute(rq).scalars())
    scoped = user.role != "ccu" and user.department
    depts = sorted(d for d in (department_spellings(s, user.department) if scoped else _departments(s)) if d)
    return {"periods": periods, "rules": rules, "departments": depts, "levels": list(LEVELS),
            "registers": sorted(registers.registers())}


def take_next(store: Store, user: User, candidates: int = 25) -> int | None:
    """Assign to `user` the most severe, oldest unassigned open alert they may see and work.

    Compare-and-set: the UPDATE only succeeds while the alert is still unassigned, so two
    concurrent callers never claim the same alert; the audit event commits with it."""
    conflicted = reports_of(store, user.person_id) if user.person_id else set()
    with store.write() as s:
        q = visible(s, _base(s, None), user).where(Alert.assignee.is_(None), Alert.status.in_(OPEN))
        if conflicted:
            q = q.where(or_(Alert.subject.is_(None), Alert.subject.not_in(conflicted)))
        ids = [r.id for r in s.execute(_order(q, "level").limit(candidates)).all()]
        for alert_id in ids:
            done = s.execute(update(Alert).where(Alert.id == alert_id, Alert.assignee.is_(None))
                             .values(assignee=user.name).execution_options(synchronize_session=False))
            if done.rowcount == 1:
                trail.append(s, store, actor=user.name, action="alert.assign", obj=f"alert:{alert_id}",
                             details={"from": None, "to": user.name, "via": "take_next"})
                return alert_id
    return None


def related(store: Store, user: User, alert_id: int, subject: str | None, org_keys: list[str],
            limit: int = 50) -> list[QueueRow]:
    """Other alerts (any register, any month) about the same person or the same organisation.

    The candidates are a UNION of two indexed look-ups used as an IN subquery: an OR across the
    two makes PostgreSQL scan every alert, and sending the candidate ids back as a list of
    bound values cost more than the rest of the alert page (about 1,000 binds to render)."""
    branches = []
    if subject:
        branches.append(select(Alert.id).where(Alert.subject == subject))
    if org_keys:
        branches.append(select(AlertOccurrence.alert_id)
                        .join(AlertLink, AlertLink.occurrence_id == AlertOccurrence.id)
                        .where(AlertLink.field == "org_key", AlertLink.key.in_(org_keys[:200])))
    if not branches:
        return []
    candidates = union(*branches) if len(branches) > 1 else branches[0]
    with store.read() as s:
        q = visible(s, _base(s, None), user).where(Alert.id.in_(candidates), Alert.id != alert_id)
        return [_row(r) for r in s.execute(_order(q, "newest").limit(limit)).all()]


def for_person(store: Store, user: User, person_key: str, limit: int = 200) -> list[QueueRow]:
    with store.read() as s:
        q = visible(s, _base(s, None), user).where(Alert.subject == person_key)
        return [_row(r) for r in s.execute(_order(q, "newest").limit(limit)).all()]
