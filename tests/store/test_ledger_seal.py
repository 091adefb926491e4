"""The row ledger's keyed seal (audit.store.ledger_seal): an edit made to the ledger between runs
(the way to hide a deleted or altered register entry from the next audit) is found by the next run,
which says so and is partial, and by `audit verify`; the runs' own writes never break it."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from audit.period import Period
from sample_force import copy_sample, settings_of
from audit.pipeline import run_period
from audit.store import ledger, ledger_seal, migrate, trail
from audit.store.db import open_store
from audit.store.models import LedgerRow, LedgerSource
from audit.store.queries import list_alerts
from audit.store.trail_check import check

ROOT = Path(__file__).resolve().parents[2]
GIFTS = "sample/gifts_hospitality_register.csv"
SEP, OCT, NOV, DEC = (Period(2026, m) for m in (9, 10, 11, 12))
CHANGED = "was changed outside a run"


KEY = "the force's trail key, kept outside the store"


@pytest.fixture
def force(sample_force, monkeypatch) -> Path:
    monkeypatch.setenv(trail.KEY_ENV, KEY)
    return sample_force


@pytest.fixture(scope="module")
def september_store(tmp_path_factory) -> Path:
    """The sample's store after the September run (made once: most tests start from it)."""
    folder = copy_sample(tmp_path_factory.mktemp("september"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(trail.KEY_ENV, KEY)
        assert _run(settings_of(folder), SEP).status == "succeeded"
    return folder / "data" / "integrity-audit.db"


@pytest.fixture
def after_september(force, september_store):
    """The force's settings, its store a copy of the one September's run left."""
    (force / "data").mkdir(exist_ok=True)
    shutil.copy(september_store, force / "data" / "integrity-audit.db")
    return _settings(force)


_settings = settings_of


def _run(settings, period):
    return run_period(settings, period, engine="reference", publish=False)


def _gifts(force: Path, keep=None, drop=(), replace=None) -> None:
    path = force / GIFTS
    lines = (ROOT / GIFTS).read_text(encoding="utf-8-sig").splitlines()
    if keep:
        lines = lines[:keep]
    lines = [line for line in lines if line.split(",", 1)[0] not in drop]
    if replace:
        lines = [line.replace(*replace) for line in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")


def _sql(settings, statement: str, **params) -> None:
    store = open_store(settings.store_url)
    try:
        with store.write() as s:
            s.execute(text(statement), params)
    finally:
        store.dispose()


def _verify(settings) -> list[str]:
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            problems = ledger_seal.verify(s)
            seals = s.execute(select(LedgerSource.source, LedgerSource.seal, LedgerSource.sealed_rows)).all()
            counts = dict(s.execute(select(LedgerRow.source, func.count()).group_by(LedgerRow.source)).all())
    finally:
        store.dispose()
    assert seals and all(seal for _, seal, _ in seals)
    assert {source: rows for source, _, rows in seals} == {source: counts.get(source, 0) for source, _, _ in seals}
    return problems


def _schedule(settings, force):
    """Each kind of ledger write, month by month, checked against a full read after every run."""
    outcomes = [_run(settings, SEP)]  # first run: inserts
    assert _verify(settings) == []
    # deleted, altered, a typo (a non-material edit) and a late entry: state, content updates, inserts
    _gifts(force, drop={"GH000002"}, replace=("£5.64", "£1.50"))
    outcomes.append(_run(settings, OCT))
    assert _verify(settings) == []
    _gifts(force, keep=40, drop={"GH000002"})  # truncated: the source is taken out, nothing written for it
    outcomes.append(_run(settings, NOV))
    assert _verify(settings) == []
    _gifts(force)  # whole again: the rows back after a month missing (returns), GH000002 back too
    outcomes.append(_run(settings, DEC))
    assert _verify(settings) == []
    outcomes.append(_run(settings, DEC))  # a re-run of the latest month advances the ledger again
    assert _verify(settings) == []
    return outcomes


def test_every_run_leaves_the_seal_a_full_read_of_the_ledger_gives(force, store_url):
    settings = _settings(force, store_url)
    outcomes = _schedule(settings, force)
    assert [o.status for o in outcomes] == ["succeeded", "succeeded", "partial", "succeeded", "succeeded"]
    assert not any(CHANGED in (o.error or "") for o in outcomes)
    assert outcomes[1].ledger.changes and outcomes[3].ledger.fresh  # the schedule wrote each kind of change


def _deleted_alerts(settings, period):
    store = open_store(settings.store_url)
    try:
        return list_alerts(store, period=str(period), rule="register_entry_deleted")
    finally:
        store.dispose()


@pytest.mark.parametrize("edit", [
    # hide a deletion: the entry is deleted from the register and its ledger row from the store
    "DELETE FROM row_ledger WHERE source = 'gifts' AND natural_key = 'GH000002'",
    # hide an alteration in advance: the row's hashes rewritten
    "UPDATE row_ledger SET material_hash = '0000000000000000', content_hash = '0000000000000000' "
    "WHERE source = 'gifts' AND natural_key = 'GH000003'",
    # mark the entry gone already, so its deletion is not news
    "UPDATE row_ledger SET state = 'deleted', gone_period = '2026-09' WHERE source = 'gifts' AND natural_key = 'GH000002'",
    # a forged row: an entry "seen" before it was made
    "INSERT INTO row_ledger (source, register, natural_key, content_hash, material_hash, material, first_period, "
    "first_run, content_period, last_period, last_run, state) VALUES ('gifts', 'gifts_hospitality', 'GH999999', "
    "'0123456789abcdef', '0123456789abcdef', '', '2026-09', 1, '2026-09', '2026-09', 1, 'present')",
    "UPDATE ledger_sources SET seal = NULL WHERE source = 'gifts'",
    "UPDATE ledger_sources SET seal = '0000000000000000' WHERE source = 'gifts'",
    # a row deleted, and the count the seal covers removed (the note cannot say it)
    "DELETE FROM row_ledger WHERE source = 'gifts' AND natural_key = 'GH000002'; "
    "UPDATE ledger_sources SET sealed_rows = NULL WHERE source = 'gifts'",
    "DELETE FROM ledger_sources WHERE source = 'gifts'",
], ids=["row deleted", "hashes rewritten", "marked gone", "row forged", "seal removed", "seal forged",
        "row deleted, count removed", "source record deleted"])
def test_an_edit_to_the_ledger_between_runs_is_found_and_the_run_is_partial(force, after_september, edit):
    settings = after_september
    for statement in edit.split("; "):
        _sql(settings, statement)
    store = open_store(settings.store_url)
    try:
        report = check(store)
    finally:
        store.dispose()
    assert [p for p in report.problems if "row ledger of source gifts" in p], report.problems
    _gifts(force, drop={"GH000002"})
    outcome = _run(settings, OCT)
    assert outcome.status == "partial"
    assert "the row ledger of source gifts" in outcome.error
    assert outcome.ledger.broken_seals and all("gifts" in b for b in outcome.ledger.broken_seals)
    # the other sources' ledgers are intact and not named
    assert not [b for b in outcome.ledger.broken_seals if "source gifts" not in b]


def test_without_an_edit_the_deletion_is_reported_and_the_run_succeeds(force, after_september):
    """The control for the test above: the same schedule with no edit to the store."""
    settings = after_september
    _gifts(force, drop={"GH000002"})
    outcome = _run(settings, OCT)
    assert outcome.status == "succeeded" and not outcome.ledger.broken_seals
    assert [a.title for a in _deleted_alerts(settings, OCT)] == [
        "100062: gifts_hospitality entry GH000002 deleted after it was audited"]


def test_a_new_trail_key_checks_with_the_old_one_and_reseals(force, after_september, monkeypatch):
    settings, old = after_september, KEY
    monkeypatch.setenv(trail.KEY_ENV, "the new key after a rotation")
    # without the old key the seal cannot be checked: said, and partial
    outcome = _run(settings, OCT)
    assert outcome.status == "partial" and "which this machine does not have" in outcome.error
    # with it (as the trail's key rotation asks), checked; the run leaves a seal under the new key
    monkeypatch.setenv(trail.PREVIOUS_KEYS_ENV, old)
    outcome = _run(settings, OCT)
    assert outcome.status == "succeeded", outcome.error
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            ids = set(s.execute(select(LedgerSource.seal_key_id)).scalars())
    finally:
        store.dispose()
    assert ids == {trail.key_id(b"the new key after a rotation")}
    monkeypatch.delenv(trail.PREVIOUS_KEYS_ENV)
    assert _run(settings, OCT).status == "succeeded"


def test_a_seal_is_not_the_sum_of_unkeyed_hashes(force, after_september, monkeypatch):
    """Without the key the seal cannot be recomputed: the same rows under another key seal differently."""
    settings = after_september
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            rows = ledger_seal.read(s, "gifts")
    finally:
        store.dispose()
    key, _ = ledger_seal.current_key()
    monkeypatch.setenv(trail.KEY_ENV, "another key")
    other, _ = ledger_seal.current_key()
    assert len(rows) > 100 and ledger_seal.seal(rows, key) != ledger_seal.seal(rows, other)
    # order-free, and each row counts (a duplicated row is not a no-op)
    assert ledger_seal.seal(rows.iloc[::-1], key) == ledger_seal.seal(rows, key)
    assert ledger_seal.seal(rows.iloc[[0, *range(len(rows))]], key) != ledger_seal.seal(rows, key)


def test_the_upgrade_seals_the_ledgers_of_an_older_store(force, after_september):
    """A store from before migration 0012: its ledgers are sealed as they are, and then checked."""
    settings = after_september
    url = settings.store_url
    migrate.downgrade(url, "0011_access_timelines")
    migrate.upgrade(url)
    assert _verify(settings) == []
    _gifts(force, drop={"GH000002"})
    outcome = _run(settings, OCT)
    assert outcome.status == "succeeded" and len(_deleted_alerts(settings, OCT)) == 1


def _two_reviews(force, url):
    """After September's run and a deletion from the gifts file (so the first write changes the
    ledger): the store, and October's and November's reviews, both made from September's ledger."""
    import connectors

    settings = _settings(force, url)
    _run(settings, SEP)
    _gifts(force, drop={"GH000002"})
    frames = connectors.load_sources(settings.sources, settings.base_dir).frames
    store = open_store(url)
    return (store, *(ledger.review(store, frames, p) for p in (OCT, NOV)))


def test_a_run_whose_ledger_another_run_advanced_meanwhile_fails_and_writes_nothing(force, store_url):
    """Two runs advancing the same ledger at once (say October from the scheduler and a hand run of
    November): the second to record would leave a ledger and a seal neither run saw. It fails."""
    store, first, second = _two_reviews(force, store_url)
    try:
        with store.write() as s:
            ledger.write(s, first, 2, store)
        with pytest.raises(ledger.LedgerRaced, match="was advanced by run 2 .2026-10. while this run was running"):
            with store.write() as s:
                ledger.write(s, second, 3, store)
        with store.read() as s:
            assert set(s.execute(select(LedgerSource.last_run)).scalars()) == {2}
            assert ledger_seal.verify(s) == []
    finally:
        store.dispose()


def test_a_ledger_put_back_with_its_seal_as_an_earlier_run_left_it_is_found(force, after_september, tmp_path):
    """Last month's copy of the ledger and its seal, restored over this month's: each is consistent
    with the other, but not with the trail's latest `ledger.seal` event."""
    settings = after_september
    db = Path(settings.store_url.removeprefix("sqlite:///"))
    shutil.copy(db, tmp_path / "september.db")
    _gifts(force, drop={"GH000002"})
    assert _run(settings, OCT).status == "succeeded"  # the deletion recorded in the ledger
    import sqlite3

    with sqlite3.connect(db) as c:
        c.execute(f"ATTACH DATABASE '{tmp_path / 'september.db'}' AS sep")
        for table in ("row_ledger", "ledger_sources"):
            c.execute(f"DELETE FROM main.{table}")
            c.execute(f"INSERT INTO main.{table} SELECT * FROM sep.{table}")
    store = open_store(settings.store_url)
    try:
        report = check(store)
    finally:
        store.dispose()
    named = [p for p in report.problems if "not the one the trail recorded last" in p]
    assert named and all("row ledger of source" in p for p in named), report.problems
    outcome = _run(settings, NOV)
    assert outcome.status == "partial" and "put back to an earlier state" in outcome.error


def test_an_edited_record_of_the_seals_in_the_trail_is_found_by_the_next_run(force, after_september):
    settings = after_september
    _sql(settings, "UPDATE audit_events SET details = :d WHERE action = 'ledger.seal'", d='{"seals": {}}')
    outcome = _run(settings, OCT)
    assert outcome.status == "partial" and "was changed after it was written" in outcome.error


@pytest.mark.db
def test_on_postgresql_the_second_write_waits_for_the_first_commit_and_then_fails(force, pg_url):
    """The two writes overlapping for real: the second blocks on the source's row until the first
    commits, then sees the seal moved and fails (without the row lock it would read the old seal
    and write over the first)."""
    import threading
    import time

    store, first, second = _two_reviews(force, pg_url)
    try:
        outcome: dict[str, object] = {}

        def write_second() -> None:
            try:
                with store.write() as s:
                    ledger.write(s, second, 3, store)
                outcome["written"] = True
            except ledger.LedgerRaced as e:
                outcome["raced"], outcome["at"] = str(e), time.monotonic()

        with store.write() as s:
            ledger.write(s, first, 2, store)
            s.flush()
            other = threading.Thread(target=write_second)
            other.start()
            other.join(2.0)
            assert other.is_alive() and not outcome  # waiting for this transaction
            committed = time.monotonic()
        other.join(60)
        assert "written" not in outcome and "was advanced by run 2" in str(outcome.get("raced"))
        assert outcome["at"] >= committed
        with store.read() as s:
            assert set(s.execute(select(LedgerSource.last_run)).scalars()) == {2}
            assert ledger_seal.verify(s) == []
    finally:
        store.dispose()
