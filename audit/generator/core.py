"""Shared state of one generation run: seeded randomness, the audit window, row handles,
person reservations and the truth being recorded.

Determinism: every random stream is derived from (seed, a fixed stream name) with crc32, never
from Python's salted hash() or the wall clock, so the same arguments give byte-identical output.
Rows are plain dicts carrying a unique handle `_h`; natural keys (record ids, claim ids,
transaction numbers) are assigned only at the end, after sorting, and truth refers to handles
until then.
"""
from __future__ import annotations

import functools
import itertools
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from faker import Faker

from audit.period import Period

VERSION = 2  # 2: procurement "Posted" column, late / altered / deleted entries (truth `schedule`)
FORCE_NAME = "Generated Constabulary"


@dataclass
class Person:
    person_id: str
    first_name: str
    last_name: str
    date_of_birth: date
    staff_type: str
    rank_grade: str
    department: str
    post_id: str
    post_title: str
    post_vetting_level: str
    start_date: date
    end_date: date | None
    line_manager_id: str | None
    home_address: str
    home_postcode: str
    bank_account: str
    seniority: int = 0

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Org:
    org: str  # ORG0001
    name: str  # canonical name
    company_number: str | None
    vat_number: str | None
    address: str
    postcode: str
    bank_account: str
    role: str  # supplier | donor | interest | press | force | decoy ...
    decoy_of: str | None = None
    category: str = ""


@dataclass
class Truth:
    scenarios: list[dict] = field(default_factory=list)
    decoys: list[dict] = field(default_factory=list)
    dirty_rows: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)


class Gen:
    """Everything one run shares. Registers hold lists of row dicts (expenses: a DataFrame)."""

    def __init__(self, seed: int, scale: float, months: int, end: str):
        if scale <= 0:
            raise ValueError("--scale must be greater than 0")
        if not 1 <= months <= 36:
            raise ValueError("--months must be between 1 and 36")
        self.seed, self.scale, self.months = seed, scale, months
        self.end_period = Period.parse(end)
        periods = [self.end_period]
        for _ in range(months - 1):
            periods.append(periods[-1].previous())
        self.periods: list[Period] = periods[::-1]
        self.start: date = self.periods[0].start
        self.end: date = self.end_period.end
        self.rows: dict[str, list[dict]] = {}
        self.people: list[Person] = []
        self.by_id: dict[str, Person] = {}
        self.orgs: list[Org] = []
        self.org_by_id: dict[str, Org] = {}
        self.reserved: set[str] = set()  # people used by scenarios / decoys
        self.workforce_row: dict[str, dict] = {}  # person_id -> workforce row
        self.vetting_of: dict[str, dict] = {}  # person_id -> their current clearance row
        self.absences: dict[str, list[dict]] = {}  # person_id -> absence rows
        self.hospitality_days: set[tuple[str, date]] = set()  # accepted hospitality (person, day)
        self.reviewed_change: set[str] = set()  # people whose aftercare review follows a new declaration
        self.truth = Truth()
        # the monthly extracts (audit/generator/schedule.py): handle -> first period without the row;
        # handle -> (first period with the final values, {field: value shown before it});
        # expense line handle -> its claim date (a late claim); schedule truth entries (handles)
        self.gone: dict[int, Period] = {}
        self.before: dict[int, tuple[Period, dict]] = {}
        self.claim_date_of: dict[int, date] = {}
        self.schedule: list[dict] = []
        self.failed_sources: list[tuple[Period, str, str]] = []  # (period, source, missing | header_only)
        self._h = 0
        self._dropped: dict[str, set[int]] = {}
        self._oneoff: Faker | None = None
        self._pick = self.rng("scenario-people")

    # ---- randomness ---------------------------------------------------------------------------
    def rng(self, stream: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(stream.encode())])

    def faker(self, stream: str, reuse: bool = False) -> Faker:
        """A Faker seeded for `stream`. With `reuse`, one shared instance re-seeded (the same draws
        as a new one, without building one: a large force asks thousands of times for a single
        name); it is valid until the next `reuse` call."""
        if reuse:
            if self._oneoff is None:
                self._oneoff = _faker()
            fk = self._oneoff
        else:
            fk = _faker()
        fk.seed_instance(self.seed * 1_000_003 + zlib.crc32(stream.encode()))
        return fk

    def count(self, base: float, minimum: int = 1) -> int:
        """A volume scaled by --scale, never below `minimum`."""
        return max(minimum, int(round(base * self.scale)))

    # ---- rows ---------------------------------------------------------------------------------
    def handle(self) -> int:
        self._h += 1
        return self._h

    def add(self, register: str, row: dict) -> dict:
        row["_h"] = self.handle()
        self.rows.setdefault(register, []).append(row)
        return row

    def drop_rows(self, register: str, handles) -> None:
        """Take rows out of a register; they leave the row list in `live_rows`, once, rather than
        each drop rebuilding a list as long as the register."""
        self._dropped.setdefault(register, set()).update(handles)

    def live_rows(self) -> None:
        """Apply `drop_rows` (before keys are assigned; nothing reads the row lists in between)."""
        for register, handles in self._dropped.items():
            if register in self.rows:
                self.rows[register] = [r for r in self.rows[register] if r["_h"] not in handles]
        self._dropped = {}

    # ---- dates --------------------------------------------------------------------------------
    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def day(self, i: int) -> date:
        return self.start + timedelta(days=int(i))

    def day_in(self, period: Period, rng: np.random.Generator, weekday: bool = True,
               lo: int = 1, hi: int = 31) -> date:
        """A random day of `period` between day-of-month lo and hi (a weekday if asked)."""
        last = period.end.day
        choices = [period.start + timedelta(days=d - 1) for d in range(lo, min(hi, last) + 1)]
        if weekday:
            choices = [d for d in choices if d.weekday() < 5]
        return choices[int(rng.integers(len(choices)))]

    # ---- people -------------------------------------------------------------------------------
    def active(self, p: Person, on: date | None = None) -> bool:
        on = on or self.end
        return p.start_date <= self.start and (p.end_date is None or p.end_date >= on)

    def take_person(self, pred=None, department: str | None = None) -> Person:
        """A fresh active person (never reused by another scenario or decoy): the first in a fixed
        shuffled order that qualifies. Reserved, inactive and unmanaged people never qualify again
        (reserving is for good; only leavers' dates change, and a leaver is reserved), so each
        queue steps over them once; a department has its own queue (the same order, that department
        only), so neither the many reservations of a large force nor a department search rescans
        the whole workforce."""
        if not hasattr(self, "_queues"):
            order = [self.people[int(i)] for i in self._pick.permutation(len(self.people))]
            self._queues = {None: _Queue(order)}
        queue = self._queues.get(department)
        if queue is None:
            queue = self._queues[department] = _Queue([p for p in self._queues[None].people
                                                       if p.department == department])
        for i, p in queue:
            if p.person_id in self.reserved or not self.active(p) or not p.line_manager_id:
                queue.drop(i)
            elif pred is None or pred(p):
                self.reserved.add(p.person_id)
                queue.drop(i)
                return p
        raise RuntimeError(
            "the generated workforce is too small for the planted scenarios; use a larger --scale")

    def record(self, kind: str, period: Period, rows: list[tuple[str, dict]], note: str,
               people=(), orgs=(), decoy: bool = False) -> None:
        entry = {"kind": kind, "period": str(period),
                 "people": sorted({p.person_id if isinstance(p, Person) else p for p in people}),
                 "orgs": sorted({o.org if isinstance(o, Org) else o for o in orgs}),
                 "records": [(reg, row["_h"]) for reg, row in rows], "note": note}
        (self.truth.decoys if decoy else self.truth.scenarios).append(entry)


def _faker() -> Faker:
    """Faker("en_GB") whose weighted one-item draws (first names, surnames, ...) keep each list's
    cumulative weights instead of summing the list again on every draw: the same
    random.choices(..., k=1) call, given cum_weights, so the same random numbers and the same
    names (tests/generator/test_fast_faker.py)."""
    fk = Faker("en_GB")
    for provider in fk.providers:
        provider.random_elements = _cached_weights(provider)
    return fk


def _cached_weights(provider):
    original, cache = provider.random_elements, {}

    def random_elements(elements=("a", "b", "c"), length=None, unique=False, use_weighting=None):
        weighted = use_weighting if use_weighting is not None else provider.__use_weighting__
        if length == 1 and not unique and weighted and isinstance(elements, OrderedDict):
            hit = cache.get(id(elements))
            if hit is None or hit[0] is not elements:
                hit = cache[id(elements)] = (elements, tuple(elements.keys()),
                                             list(itertools.accumulate(elements.values())))
            return provider.generator.random.choices(hit[1], cum_weights=hit[2], k=1)
        return original(elements, length, unique, use_weighting)
    return random_elements


class _Queue:
    """People in a fixed order from which positions are dropped for good; iterating visits the
    positions still in, in order, and skips dropped runs in near-constant time (union-find)."""

    def __init__(self, people: list[Person]):
        self.people = people
        self._next = list(range(len(people) + 1))  # _next[i] == i: position i is still in

    def _find(self, i: int) -> int:
        nxt, root = self._next, i
        while nxt[root] != root:
            root = nxt[root]
        while nxt[i] != root:
            nxt[i], i = root, nxt[i]
        return root

    def drop(self, i: int) -> None:
        self._next[i] = i + 1

    def __iter__(self):
        i, n = self._find(0), len(self.people)
        while i < n:
            yield i, self.people[i]
            i = self._find(i + 1)


def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


@functools.lru_cache(maxsize=1 << 16)
def working_days(start: date, end: date) -> int:
    """Weekdays from start to end inclusive (cached: absences repeat the same spans)."""
    return int(np.busday_count(start, end + timedelta(days=1)))


def pence(pounds: float) -> int:
    return int(round(pounds * 100))
