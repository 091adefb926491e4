"""The store's memory of the registers between runs: what each run has seen of every source row.

Registers are written late and edited after the fact. A run compares each loaded source with the
ledger (`review`, before evaluation) and learns, per row:
- fresh: first seen, or materially changed, since the previous run. Findings of earlier months
  citing a fresh row are reported by this run (rules.evaluate, the late pass). On a source the
  ledger has never seen, a row is fresh when the register's entry date (declared, submitted,
  claimed, posted) falls in this run's month, so a first run does not report two years at once.
- altered: a material field (registers.toml `material`) held a value and now holds another;
  filling a blank or leaving an `unsettled` value ("pending") completes an entry, it does not alter it.
- deleted: seen by an earlier run and gone now; unless the source lost more than the guard share of
  its rows (a failed or truncated extract), or the row is older than anything in the extract (a
  rolling extract: "aged out", not deleted).
`write` records what this run saw, inside the run's transaction (audit.store.writer).

Rows are kept as hashes plus the material fields' values (to show before and after), by natural
key; a source that repeats a natural key is paired row for row, exact content first.
Only the run of the latest period audited advances the ledger; re-running an older month reads it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
from pandas.core.util.hashing import combine_hash_arrays  # how hash_pandas_object combines columns
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from audit import registers
from audit.period import Period
from audit.store import ledger_seal
from audit.store.db import Store
from audit.store.models import LedgerRow, LedgerSource, Run

_SEP = "\x1f"
#: a guarded source also needs more than this many rows gone (a small register losing 2 of 15 rows
#: is two deletions, not a failed extract)
GUARD_MIN_ROWS = 3


#: registers whose every value is need-to-know: their changes go to the sensitive_* fields only, and
#: only the association_entry_* rules (CCU) read them
NEED_TO_KNOW_REGISTERS = ("notifiable_associations",)


def tracked(register: str) -> bool:
    """Registers whose entries the ledger follows: those with material fields."""
    return bool(registers.get(register).material_fields)


def _text(s: pd.Series, ftype: str) -> np.ndarray:
    """A column as canonical text ('' for blank), the same whatever dtype pandas chose (object array)."""
    if ftype == "date":
        return _rows(_date_text(s))
    out = s.astype("object").astype(str).to_numpy(dtype=object, copy=True)  # str() of each value
    out[s.isna().to_numpy(dtype=bool)] = ""
    stripped = map(str.strip, out)
    if ftype == "number":  # 6 and 6.0 are one value
        stripped = (v[:-2] if v.endswith(".0") else v for v in stripped)
    return np.fromiter(stripped, dtype=object, count=len(out))


def _group_codes(s: pd.Series) -> np.ndarray | None:
    """Integer codes equal only where two values have one text (_text): equal strings, integers, dates,
    floats by their bits (0.0 and -0.0 read differently); None where no such grouping is safe (a
    column of mixed Python objects: 6 and 6.0 are equal and read differently)."""
    kind = s.dtype.kind
    if kind == "f":  # float64 or Float64: group by the bits, every NaN pattern apart (each reads "")
        return pd.factorize(s.to_numpy(dtype="float64", na_value=np.nan).view("i8"))[0]
    if kind in "iubM" or isinstance(s.dtype, pd.StringDtype) or (
            kind == "O" and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")):
        return pd.factorize(s)[0]  # a blank (None, NaN, NA, NaT) is code -1
    return None


def _coded_text(s: pd.Series, ftype: str) -> tuple[np.ndarray, np.ndarray]:
    """_text(s, ftype) as (row codes, texts): row i reads texts[codes[i]], each distinct value turned
    into text once (most register columns repeat: dates, amounts, names, approvers)."""
    if ftype == "date":
        return _date_text(s)
    codes = _group_codes(s)
    if codes is None:
        text = _text(s, ftype)
        return np.arange(len(text)), text
    _, first, row_codes = np.unique(codes, return_index=True, return_inverse=True)
    return row_codes.reshape(-1), _text(s.iloc[first], ftype)


def _hash(columns: list[np.ndarray], rows: int) -> np.ndarray:
    """Each row's hash as 16 hex digits, from its columns' pd.util.hash_array: the same as
    hash_pandas_object(frame, index=False) of the text frame, with each column hashed once for both the
    content and the material hash."""
    if not columns:
        return np.full(rows, "0" * 16, dtype=object)
    h = combine_hash_arrays(iter(columns), len(columns))
    # big-endian bytes as hex, cut into 16 digit strings: f"{v:016x}" for each v, without a Python loop
    digits = np.frombuffer(h.astype(">u8").tobytes().hex().encode("ascii"), dtype="S16")
    return digits.astype(str).astype(object)


@dataclass
class Change:
    """One entry altered or deleted since an earlier run saw it (a row of register_changes)."""

    change: str  # altered | deleted
    source: str
    register: str
    key: str  # natural key values joined with " / "
    before: dict[str, str]
    after: dict[str, str]
    fields: list[str]
    first_period: str
    last_period: str
    event_date: date | None
    fact_id: str | None  # the current row (altered); None when deleted


class LedgerRaced(RuntimeError):
    """Another run advanced a source's ledger between this run's review and its write."""


@dataclass
class Arrival:
    """Why a row is fresh in this run."""

    how: str  # first seen | changed | returned | entered (no history: the register's entry date)
    key: str
    register: str
    entry_field: str | None
    entry_date: date | None
    event_date: date | None
    #: a row seen again after runs that missed it counts only for findings of months after this one
    since: str | None = None


@dataclass
class SourceReview:
    source: str
    register: str
    history: bool
    guarded: bool = False  # lost more entries than the guard allows: no deletion inferred (audit.health)
    guard_note: str = ""
    first_audit: tuple[int, int] | None = None  # no history: (entries arriving now by entry date, entries)
    fresh: dict[str, Arrival] = field(default_factory=dict)  # fact_id -> why
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # the write plan (only when the run advances the ledger)
    inserts: pd.DataFrame = field(default_factory=pd.DataFrame)  # new rows: their row_ledger columns (_INSERTED)
    content_updates: list[dict] = field(default_factory=list)
    state_updates: list[dict] = field(default_factory=list)  # id, state, gone_period (and last_period when gone)
    returns: list[dict] = field(default_factory=list)  # id, returned_period, returned_since
    #: the source's ledger did not match its seal (audit.store.ledger_seal): what is wrong, in words
    seal_broken: str | None = None
    #: the seal the ledger will carry once the write plan is carried out, and the rows it covers
    seal_after: str | None = None
    sealed_rows: int = 0
    #: the seal as this review read it: write() refuses to advance a ledger another run has moved since
    seal_read: str | None = None


@dataclass
class LedgerReview:
    period: Period
    advance: bool
    sources: list[SourceReview] = field(default_factory=list)

    def drop_sources(self, names: set[str]) -> None:
        """Forget this run's view of these sources (taken out of the run, so not audited): the ledger
        is not advanced for them, and their rows count as back, and fresh, next time."""
        self.sources = [s for s in self.sources if s.source not in names]

    @property
    def fresh(self) -> dict[str, Arrival]:
        return {fid: a for s in self.sources for fid, a in s.fresh.items()}

    @property
    def fresh_from(self) -> dict[str, Period]:
        """fact id -> the first earlier month a finding about a condition (a rule with no event input)
        could have cited the row in: the month after it was last seen, for a row back after audits
        that missed it; the month of its entry date, for an entry made before it was first seen."""
        out = {}
        for fid, a in self.fresh.items():
            if a.how == "returned" and a.since:
                out[fid] = Period.parse(a.since).next()
            elif a.how == "first seen" and a.entry_date and a.entry_date < self.period.start:
                out[fid] = Period.containing(a.entry_date)
        return out

    @property
    def broken_seals(self) -> list[str]:
        """Sources whose ledger was changed outside a run: what this run found in them is in doubt."""
        return [s.seal_broken for s in self.sources if s.seal_broken]

    @property
    def changes(self) -> list[Change]:
        return [c for s in self.sources for c in s.changes]

    @property
    def notes(self) -> list[str]:
        """What the run's notes say: how a first audit of a source decided what arrived, guards."""
        first = [f"{s.source} ({s.first_audit[0]:,} of {s.first_audit[1]:,})" for s in self.sources
                 if s.first_audit and s.first_audit[1]]
        out = []
        if first:
            out.append(f"first audit of {len(first)} source(s) with no earlier run to compare: an entry counts as "
                       f"arriving in {self.period} when the date the register says it was made (declared, "
                       f"submitted, claimed, posted) falls in {self.period}; older entries are taken as reported "
                       f"in their own month: {', '.join(first)}")
        if not self.advance:
            out.append(f"a later month than {self.period} has been audited: this re-run reports what the ledger "
                       f"recorded for {self.period} and does not update it")
        return out + [n for s in self.sources for n in s.notes]


def latest_period(store: Store, before: str | None = None) -> str | None:
    """The latest period with a current (succeeded or partial) run, or the latest before `before`."""
    with store.read() as s:
        q = select(Run.period).where(Run.superseded_by.is_(None), Run.status.in_(("succeeded", "partial")))
        if before:
            q = q.where(Run.period < before)
        return s.execute(q.order_by(Run.period.desc()).limit(1)).scalar_one_or_none()


def review(store: Store, frames: list[Any], period: Period, *, guard_percent: float = 10.0,
           unguarded: set[str] = frozenset()) -> LedgerReview:
    """Compare each loaded source (objects with .source, .register, .df) with the ledger. Sources in
    `unguarded` (configured `allow_shrink`) may lose any share of their entries: each is a deletion."""
    latest = latest_period(store)
    out = LedgerReview(period, advance=latest is None or latest <= str(period))
    previous = latest_period(store, before=str(period))
    with store.read() as s:
        trail_says = ledger_seal.recorded(s)  # the trail's latest ledger.seal event, read once per review
    for frame in frames:
        if tracked(frame.register):
            out.sources.append(_review_source(store, frame.source, frame.register, frame.df, period, out.advance,
                                              100.0 if frame.source in unguarded else guard_percent, previous,
                                              trail_says))
    return out


def _is_alteration(register: registers.Register, before: dict, after: dict) -> list[str]:
    """The material fields whose earlier, settled value changed (filling a blank is not one)."""
    changed = []
    for name in register.material_fields:
        old, new = before.get(name, ""), after.get(name, "")
        if old != new and old != "" and old not in register.fields[name].unsettled:
            changed.append(name)
    return changed


def _current(df: pd.DataFrame, register: registers.Register) -> tuple[pd.DataFrame, dict]:
    """(key/hash frame, material text by column as (row codes, texts)) of a source's accepted rows."""
    df = df.reset_index(drop=True)  # positions = index from here on
    coded = {f.name: _coded_text(df[f.name], f.type) for f in register.source_fields if f.name in df.columns}
    mat_cols = [c for c in register.material_fields if c in coded]
    first, *rest = register.natural_key
    keys = _rows(coded[first])
    for k in rest:
        keys = keys + _SEP + _rows(coded[k])
    # a column's hash is that of its text row by row (pd.util.hash_array is element-wise): each distinct
    # text hashed once
    hashes = {name: pd.util.hash_array(texts, categorize=False)[codes] for name, (codes, texts) in coded.items()}
    cur = pd.DataFrame({
        "nk": keys, "content": _hash(list(hashes.values()), len(df)),
        "mhash": _hash([hashes[c] for c in mat_cols], len(df)), "fact_id": df["fact_id"].astype(object).to_numpy(),
    }, index=df.index, dtype=object)
    date_field = register.date_field or register.entry_date_field
    cur["event_date"] = pd.to_datetime(df[date_field], errors="coerce") if date_field in df else pd.NaT
    entry = register.entry_date_field
    cur["entry_date"] = pd.to_datetime(df[entry], errors="coerce") if entry in df else pd.NaT
    return cur, {c: coded[c] for c in mat_cols}


def _date_text(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A date column as (row codes, texts): few distinct days, each formatted once; code -1 (blank)
    reads the "" at the end."""
    codes, days = pd.factorize(pd.to_datetime(s, errors="coerce"))
    return codes, np.append(days.strftime("%Y-%m-%d").to_numpy(dtype=object), "")


def _rows(coded: tuple[np.ndarray, np.ndarray], at: np.ndarray | None = None) -> np.ndarray:
    """The text of each row (or of the rows at positions `at`)."""
    codes, texts = coded
    return texts[codes if at is None else codes[at]]


_FIELD, _VALUE = "\x1f", "\x1e"
#: the row_ledger columns of SourceReview.inserts (write adds the source, the run and the periods)
_INSERTED = ("natural_key", "content_hash", "material_hash", "material", "event_date")


def pack(values: dict[str, str]) -> str:
    """Material values as stored: "field\\x1evalue" items joined by \\x1f, blanks left out (compact,
    and built column-wise for a whole source by _packed)."""
    return _FIELD.join(f"{k}{_VALUE}{_clean(v)}" for k, v in values.items() if v != "")


def _clean(v: str) -> str:
    """A cell holding the separators themselves (a hostile file) keeps its shape: they become U+FFFD."""
    return v.replace(_FIELD, "\ufffd").replace(_VALUE, "\ufffd")


def unpack(text: str | None) -> dict[str, str]:
    out = {}
    for item in (text or "").split(_FIELD):
        if item:
            k, _, v = item.partition(_VALUE)
            out[k] = v
    return out


def _packed(mat: pd.DataFrame) -> pd.Series:
    """pack() of every row, built column-wise: each column's items "\\x1ffield\\x1evalue" ('' when
    blank), joined per row without the leading separator."""
    items = []
    for name in mat.columns:
        values = mat[name].to_numpy(dtype=object)
        joined = "".join(values)  # one C-level pass finds the (rare) cells holding a separator
        if _FIELD in joined or _VALUE in joined:
            values = np.array([_clean(v) for v in values], dtype=object)
        filled = values != ""
        item = np.full(len(values), "", dtype=object)
        item[filled] = _FIELD + name + _VALUE + values[filled]
        items.append(item)
    rows = ["".join(row)[1:] for row in zip(*items)] if items else [""] * len(mat)
    return pd.Series(rows, index=mat.index, dtype=object)


def _codes(cur: pd.Series, led: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of two columns' values, equal where the values are equal."""
    codes = pd.factorize(pd.concat([cur, led], ignore_index=True))[0]
    return codes[:len(cur)], codes[len(cur):]


def _dates(s: pd.Series) -> np.ndarray:
    """A datetime column as datetime.date objects, None where blank."""
    out = s.dt.date.to_numpy(dtype=object, copy=True)
    out[s.isna().to_numpy(dtype=bool)] = None
    return out


def _review_source(store: Store, source: str, register_name: str, df: pd.DataFrame, period: Period,
                   advance: bool, guard_percent: float, previous: str | None,
                   trail_says: ledger_seal.Recorded) -> SourceReview:
    register = registers.get(register_name)
    P = str(period)
    with store.read() as s:  # the DBAPI cursor's own tuples: no Row object per ledger row (text and ints only)
        result = s.connection().execute(select(
            LedgerRow.id, LedgerRow.natural_key, LedgerRow.content_hash, LedgerRow.material_hash,
            LedgerRow.first_period, LedgerRow.last_period, LedgerRow.changed_period, LedgerRow.state,
            LedgerRow.gone_period, LedgerRow.returned_period, LedgerRow.returned_since)
            .where(LedgerRow.source == source))
        # object columns, not pandas' str dtype: no copy into a StringArray, and comparing them with
        # a period is numpy's loop (a null is None; first_period and last_period are never null)
        led = pd.DataFrame(result.cursor.fetchall(), dtype=object,
                           columns=["id", "nk", "content", "mhash", "first_period", "last_period", "changed_period",
                                    "state", "gone_period", "returned_period", "returned_since"])
        result.close()
        led["id"] = led["id"].astype("int64")
        seen = s.execute(select(LedgerSource.last_period, LedgerSource.last_run)
                         .where(LedgerSource.source == source)).first()
        sealed = ledger_seal.stored(s, source)
    as_stored = led[["id", *ledger_seal.SHORT]]  # before last_period is read for the present rows below
    seal_broken, seal_now, seal_key = ledger_seal.check(source, as_stored, sealed, trail_says)
    if seen is not None and len(led):  # a present row was seen by its source's latest advancing run
        led["last_period"] = led["last_period"].where(led["state"] != "present", seen.last_period)
    # a row going now from present to gone keeps the period and run that last saw it
    went = {"last_period": seen.last_period, "last_run": seen.last_run} if seen is not None else {}
    history = bool((led["first_period"] < P).any()) if len(led) else False
    rv = SourceReview(source, register_name, history, seal_broken=seal_broken,
                      seal_read=sealed.seal if sealed else None)
    cur, mat = _current(df, register)
    key_text = lambda nk: nk.replace(_SEP, " / ")  # noqa: E731

    # pair current rows with ledger rows: same key and content first, then same key in order
    # (on integer codes of the key, and of key and content: grouping and merging strings is slow)
    cur["k"], led["k"] = _codes(cur["nk"], led["nk"])
    content_cur, content_led = _codes(cur["content"], led["content"])
    width = max(content_cur.max(initial=-1), content_led.max(initial=-1)) + 1  # key and content as one integer
    cur["kc"], led["kc"] = cur["k"] * width + content_cur, led["k"] * width + content_led
    cur["occ"] = cur.groupby("kc").cumcount()
    led["occ"] = led.groupby("kc").cumcount()
    exact = cur.reset_index().merge(led, on=["kc", "occ"], suffixes=("", "_l"))
    rest_cur = cur.drop(index=exact["index"])
    rest_led = led[~led["id"].isin(exact["id"])]
    rest_cur = rest_cur.assign(occ=rest_cur.groupby("k").cumcount())
    rest_led = rest_led.assign(occ=rest_led.groupby("k").cumcount())
    moved = rest_cur.reset_index().merge(rest_led, on=["k", "occ"], suffixes=("", "_l"))
    new = rest_cur.drop(index=moved["index"])
    missing = rest_led[~rest_led["id"].isin(moved["id"])]
    matched = pd.concat([exact, moved])  # current rows paired with a ledger row (same or changed content)
    # material values as stored, of the rows this run may write or compare
    packed = np.empty(len(cur), dtype=object)
    repack = np.concatenate([moved["index"].to_numpy(), new.index.to_numpy() if advance else []]).astype(int)
    packed[repack] = _packed(pd.DataFrame({c: _rows(v, repack) for c, v in mat.items()}, index=range(len(repack)),
                                          dtype=object)).to_numpy()

    # material values (and event dates) of the ledger rows we need to compare or show
    wanted = set(moved["id"]) | set(exact.loc[exact["changed_period"] == P, "id"]) | set(missing["id"])
    stored: dict[int, tuple[dict, dict | None]] = {}
    event_of: dict[int, date | None] = {}
    if wanted:
        with store.read() as s:
            ids = sorted(int(i) for i in wanted)
            for i in range(0, len(ids), 1000):
                for rid, m, b, ev in s.execute(select(LedgerRow.id, LedgerRow.material, LedgerRow.before,
                                                      LedgerRow.event_date)
                                               .where(LedgerRow.id.in_(ids[i:i + 1000]))):
                    stored[rid] = (unpack(m), unpack(b) if b is not None else None)
                    event_of[rid] = ev
    missing = missing.assign(event_date=[event_of[int(i)] for i in missing["id"]])

    nk_at, fact_at = cur["nk"].to_numpy(), cur["fact_id"].to_numpy()
    entry_at, event_at = _dates(cur["entry_date"]), _dates(cur["event_date"])

    def arrival(pos, how) -> Arrival:
        return Arrival(how, key_text(nk_at[pos]), register_name, register.entry_date_field,
                       entry_at[pos], event_at[pos])

    # fresh rows
    if history:
        if advance:
            for pos in new.index:
                rv.fresh[fact_at[pos]] = arrival(pos, "first seen")
        again = exact[exact["first_period"] == P]  # a re-run of this month: what its first run saw arrive
        for pos in again["index"]:
            rv.fresh[fact_at[pos]] = arrival(pos, "first seen")
        # seen again after the previous run(s) missed it (the source failed, was empty or came back
        # short): findings of the months it was missing in were never evaluated with it
        if advance and previous:
            gap = matched[(matched["last_period"] < previous) & (matched["first_period"] < P)]
            for r in gap.itertuples(index=False):
                rv.returns.append({"id": int(r.id), "returned_period": P, "returned_since": r.last_period})
        else:
            gap = matched.iloc[0:0]
        rerun = matched[matched["returned_period"] == P]  # a re-run of this month: what its first run saw return
        for r in pd.concat([gap.assign(since=gap["last_period"]), rerun.assign(since=rerun["returned_since"])]) \
                .itertuples(index=False):
            if r.fact_id not in rv.fresh:
                a = arrival(r.index, "returned")
                a.since = r.since
                rv.fresh[r.fact_id] = a
    else:
        entry = cur["entry_date"]
        in_month = ((entry >= pd.Timestamp(period.start)) & (entry <= pd.Timestamp(period.end))).fillna(False)
        for pos in cur.index[in_month.to_numpy(dtype=bool)]:
            rv.fresh[fact_at[pos]] = arrival(pos, "entered")
        rv.first_audit = (len(rv.fresh), len(cur))

    # changed content (matched by key): alterations, completions, non-material edits
    for r in moved.itertuples(index=False):
        after = unpack(packed[r.index])
        old, before_kept = stored.get(int(r.id), ({}, None))
        if r.mhash == r.mhash_l and r.changed_period != P:
            if advance:
                rv.content_updates.append({"id": int(r.id), "content_hash": r.content, "material_hash": r.mhash,
                                           "material": packed[r.index], "content_period": P})
            continue  # a non-material edit (a typo in a description): remembered, not reported
        before = before_kept if (r.changed_period == P and before_kept is not None) else old
        rv.fresh[r.fact_id] = arrival(r.index, "changed")
        fields_changed = _is_alteration(register, before, after)
        if fields_changed:
            rv.changes.append(Change("altered", source, register_name, key_text(r.nk), before, after,
                                     fields_changed, r.first_period, r.last_period,
                                     event_at[r.index], r.fact_id))
        if advance:
            rv.content_updates.append({"id": int(r.id), "content_hash": r.content, "material_hash": r.mhash,
                                       "material": packed[r.index], "content_period": P, "before": pack(before),
                                       "changed_period": P})
    # a re-run of this month: alterations its first run found, content unchanged since
    for r in exact[exact["changed_period"] == P].itertuples(index=False):
        old, before = stored.get(int(r.id), ({}, None))
        fields_changed = _is_alteration(register, before or {}, old)
        rv.fresh[r.fact_id] = arrival(r.index, "changed")
        if fields_changed:
            rv.changes.append(Change("altered", source, register_name, key_text(r.nk), before or {}, old,
                                     fields_changed, r.first_period, r.last_period,
                                     event_at[r.index], r.fact_id))

    # rows gone: deleted, aged out of a rolling extract, or a source too short to judge
    gone = missing[(missing["state"] == "present") | ((missing["state"] == "deleted") & (missing["gone_period"] == P))]
    aged = pd.Series(False, index=gone.index)
    if register.kind == "event" and len(cur) and cur["event_date"].notna().any():
        oldest = cur["event_date"].min().date()
        aged = gone["event_date"].map(lambda d: d is not None and not pd.isna(d) and d < oldest)
    aged_out, vanished = gone[aged.astype(bool)], gone[~aged.astype(bool)]
    expected = int(((led["state"] == "present") | (led["gone_period"] == P)).sum()) - len(aged_out)
    share = 100.0 * len(vanished) / expected if expected else 0.0
    guarded = len(vanished) > 0 and guard_percent < 100 and (
        len(cur) == 0 or (share > guard_percent and len(vanished) > GUARD_MIN_ROWS))
    if guarded:
        rv.guarded = True
        rv.guard_note = (f"misses {len(vanished):,} of the {expected:,} entries earlier audits saw "
                         f"({share:.0f}%, more than the {guard_percent:g}% guard)")
        rv.notes.append(f"source {source} {rv.guard_note}: read as a failed or truncated extract, "
                        f"no deletion inferred; check the extract")
    else:
        for r in vanished.itertuples(index=False):
            old, _ = stored.get(int(r.id), ({}, None))
            rv.changes.append(Change("deleted", source, register_name, key_text(r.nk), old, {}, [],
                                     r.first_period, r.last_period,
                                     r.event_date if isinstance(r.event_date, date) else None, None))
            if advance:
                rv.state_updates.append({"id": int(r.id), "state": "deleted", "gone_period": P,
                                         **(went if r.state == "present" else {})})
    if advance:
        rv.state_updates += [{"id": int(i), "state": "aged_out", "gone_period": P,
                              **(went if state == "present" else {})}
                             for i, state in zip(aged_out["id"], aged_out["state"])]
        back = matched[matched["state"] != "present"]  # seen again after being deleted or aged out
        rv.state_updates += [{"id": int(i), "state": "present", "gone_period": None} for i in back["id"]]
        content_at, mhash_at = cur["content"].to_numpy(), cur["mhash"].to_numpy()
        pos = new.index.to_numpy()
        rv.inserts = pd.DataFrame(dict(zip(_INSERTED, (nk_at[pos], content_at[pos], mhash_at[pos], packed[pos],
                                                       event_at[pos]))), dtype=object)
        # in write()'s order: content, state, returns
        rv.seal_after = ledger_seal.as_text(ledger_seal.after_writes(
            seal_now, as_stored, [rv.content_updates, rv.state_updates, rv.returns], rv.inserts, seal_key, P))
        rv.sealed_rows = len(led) + len(rv.inserts)
    if seal_broken:
        rv.notes.append(seal_broken)
    if len(aged_out):
        rv.notes.append(f"source {source}: {len(aged_out):,} entries older than anything in this extract are "
                        f"no longer in it (a rolling extract): not read as deleted")
    return rv


def write(s: Session, review_: LedgerReview, run_id: int, store: Store, actor: str = "run") -> dict[str, int]:
    """Record what this run saw (inside the run's transaction), and the seals it leaves in the trail
    (a `ledger.seal` event). Returns counts for the run's notes."""
    counts = {"ledger_new": 0, "ledger_changed": 0, "ledger_gone": 0}
    if not review_.advance:
        return counts
    P = str(review_.period)
    for src in review_.sources:
        # every present row of the source was seen by this run: said once for the source (LedgerSource),
        # not by rewriting each row. Read first, locked on PostgreSQL (a second run waits here), and
        # as this run's review read it, or another run has moved the ledger since: the run fails
        seen = s.get(LedgerSource, src.source, with_for_update=True)
        if (seen.seal if seen else None) != src.seal_read:
            by = f"advanced by run {seen.last_run} ({seen.last_period})" if seen else "taken away"
            raise LedgerRaced(f"the row ledger of source {src.source} was {by} while this run was running: "
                              f"run {P} again")
        if len(src.inserts):
            _insert(s, src.inserts, source=src.source, register=src.register, first_period=P, content_period=P,
                    last_period=P, state="present", first_run=run_id, last_run=run_id)
        if src.content_updates:
            s.execute(update(LedgerRow), src.content_updates)
        if src.state_updates:
            s.execute(update(LedgerRow), src.state_updates)
        if src.returns:
            s.execute(update(LedgerRow), src.returns)
        if seen is None:
            seen = LedgerSource(source=src.source, last_period=P, last_run=run_id)
            s.add(seen)
        seen.last_period, seen.last_run = P, run_id
        seen.seal, seen.seal_key_id, seen.sealed_rows = src.seal_after, ledger_seal.current_key()[1], src.sealed_rows
        counts["ledger_new"] += len(src.inserts)
        counts["ledger_changed"] += len(src.content_updates)
        counts["ledger_gone"] += sum(1 for u in src.state_updates if u["state"] != "present")
    if review_.sources:
        ledger_seal.record(s, store, run_id, actor)
    return counts


def _insert(s: Session, rows: pd.DataFrame, **same: Any) -> None:
    """INSERT `rows` into row_ledger, each with the values in `same` too, through the DBAPI cursor's
    executemany on the session's connection (so inside its transaction): SQLAlchemy's executemany builds
    and processes a parameter dict per row, which took longer than the database's own work for a first
    run's 200k rows. Values pass through the column types' bind processors, so they are stored as the
    ORM stores them (a date as 'YYYY-MM-DD' text on SQLite)."""
    conn = s.connection()
    dialect, table = conn.dialect, LedgerRow.__table__

    def bound(name: str, values: np.ndarray) -> np.ndarray:
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            return values
        codes, distinct = pd.factorize(values)  # each distinct value processed once; code -1 is None
        return np.array([*map(process, distinct), process(None)], dtype=object)[codes]

    names = [*rows.columns, *same]
    columns = [bound(n, rows[n].to_numpy(dtype=object)) for n in rows.columns]
    columns += [repeat(bound(n, np.array([v], dtype=object))[0]) for n, v in same.items()]
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"  # sqlite3; psycopg and pymysql: (py)format
    conn.exec_driver_sql(f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
                         f"({', '.join(map(quote, names))}) VALUES ({', '.join([mark] * len(names))})",
                         list(zip(*columns)))


def changes_frame(review_: LedgerReview) -> pd.DataFrame:
    """The run's register_changes rows (canonical columns; the pipeline adds META columns)."""
    register = registers.get("register_changes")
    noticed = pd.Timestamp(review_.period.end)
    rows = []
    for c in review_.changes:
        entry = registers.get(c.register)
        names = c.fields if c.change == "altered" else [n for n in entry.material_fields if c.before.get(n)]
        # need-to-know values (every value of an association entry, a supplier's bank hash) go to the
        # sensitive_* fields only, which reach the CCU alone
        whole = c.register in NEED_TO_KNOW_REGISTERS
        secret = [n for n in names if whole or entry.fields[n].sensitivity == "sensitive"]
        plain = [n for n in names if n not in secret]

        def shown(vals: dict, which: list[str], entry=entry) -> str | None:
            return "; ".join(f"{entry.fields[n].label}: {vals.get(n) or '(blank)'}" for n in which) or None

        after_of = (lambda which: shown(c.after, which)) if c.change == "altered" else (lambda which: None)
        ident = "|".join([c.change, c.source, c.key, _digest(c.before), _digest(c.after)])
        rows.append({
            "change_id": f"{c.change[0].upper()}:{_digest({'k': ident})}", "change": c.change,
            "entry_register": c.register, "entry_source": c.source, "entry_key": c.key,
            "person_id": (c.after or c.before).get("person_id"),
            "fields_changed": ", ".join(c.fields) if c.fields else None,
            "before": shown(c.before, plain), "after": after_of(plain),
            "sensitive_before": shown(c.before, secret), "sensitive_after": after_of(secret),
            "event_date": pd.Timestamp(c.event_date) if c.event_date else pd.NaT,
            "first_seen_period": c.first_period, "last_seen_period": c.last_period, "noticed_date": noticed,
        })
    cols = [f.name for f in register.source_fields]
    df = pd.DataFrame(rows, columns=cols)
    for name in ("event_date", "noticed_date"):
        df[name] = pd.to_datetime(df[name])
    return df


def _digest(values: dict) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]
