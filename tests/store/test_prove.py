"""`alerts prove`: every alert of a generated force is reproduced on both engines from its stored
facts alone (SQLite and PostgreSQL); an edited fact is reported as "differs"; a changed rule file is
said plainly; a signed bundle is checkable and an edited one fails; nothing reaches the user as a
traceback."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from audit import registers
from audit import settings as settings_mod
from audit.cli import app
from audit.generator import generate
from audit.generator.schedule import use_month
from audit.period import Period
from audit.pipeline import run_period
from audit.replay import prove
from audit.store import open_store
from audit.store.models import Alert, AlertFact, AlertOccurrence
from pgschema import scratch_schema

runner = CliRunner()


def flat(s: str) -> str:
    return " ".join(s.split())


def cli(config: Path | None, *args: str):
    res = runner.invoke(app, [*args, *(["--config", str(config)] if config else [])])
    out = res.stdout + res.stderr
    assert "Traceback" not in out and (res.exception is None or isinstance(res.exception, SystemExit)), \
        (res.exception, out)
    return res.exit_code, flat(out)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("prove_force")
    generate(out, seed=21, months=12, end="2026-10", scale=0.1, schedule=True)
    return out


def _year(generated: Path, folder: Path, store_url: str | None, months: int) -> Path:
    """The last `months` monthly runs replayed as they happened: each reads its month's extract
    (late entries, edits, deletions, a source that failed), so late and changed alerts are proven too."""
    config = folder / "config.toml"
    periods = json.loads((generated / "truth.json").read_text(encoding="utf-8"))["periods"][-months:]
    for period in periods:
        use_month(generated, period, folder)
        if store_url:
            config.write_text(config.read_text(encoding="utf-8") + f'\n[store]\nurl = "{store_url}"\n',
                              encoding="utf-8")
        outcome = run_period(settings_mod.load(config), Period.parse(period), engine="reference", publish=False)
        assert outcome.status in ("succeeded", "partial"), outcome.error
    return config


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def year(request, generated, tmp_path_factory) -> Path:
    """config.toml of a generated force whose store holds its twelve monthly runs (SQLite) or the
    last three (PostgreSQL: the same code on another store)."""
    folder = tmp_path_factory.mktemp(f"year_{request.param}") / "force"
    if request.param == "sqlite":
        yield _year(generated, folder, None, 12)
        return
    admin = request.getfixturevalue("pg_admin_url")
    with scratch_schema(admin, "t_prove") as url:
        yield _year(generated, folder, url, 3)


def _store(config: Path):
    return open_store(settings_mod.load(config).store_url)


def test_prove_reproduces_every_alert_of_a_generated_year(year):
    settings = settings_mod.load(year)
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            alerts = list(s.execute(select(Alert.id, Alert.rule_name).order_by(Alert.id)).all())
            late = s.execute(select(AlertOccurrence.alert_id)
                             .where(AlertOccurrence.late.is_not(None))).scalars().first()
        assert len(alerts) >= 15 and len({r for _, r in alerts}) >= 8
        failed = []
        for alert_id, rule in alerts:
            proof = prove(store, settings, alert_id)
            assert [e.engine for e in proof.engines] == ["reference", "durable"]
            if proof.verdict != "reproduced" or not proof.stored.trail.matches:
                failed.append((alert_id, rule, proof.verdict, proof.differences))
        assert failed == []
        if settings.store_url.startswith("sqlite"):  # the whole year: late and changed entries are among them
            assert late is not None
            assert {"register_entry_altered", "register_entry_deleted"} & {r for _, r in alerts}
        if late is not None:  # a late finding is replayed for the month of its event
            assert prove(store, settings, late).reproduced
    finally:
        store.dispose()
    code, out = cli(year, "alerts", "prove", str(alerts[0][0]))
    assert code == 0 and "verdict: reproduced" in out and "reference engine: reproduced" in out
    assert "durable engine: reproduced" in out and "the stored evidence matches its digest" in out


def _a_fact(store, alert_id: int):
    with store.read() as s:
        occ = s.execute(select(AlertOccurrence.id).where(AlertOccurrence.alert_id == alert_id)
                        .order_by(AlertOccurrence.run_id.desc())).scalars().first()
        return s.execute(select(AlertFact).where(AlertFact.occurrence_id == occ)
                         .order_by(AlertFact.id)).scalars().first()


def _prove_with_values(config: Path, store, fact, values: dict) -> tuple[int, str]:
    """`alerts prove 1` while the fact's stored values are `values` (a direct edit to the store),
    the original values put back after."""
    def put(v):
        with store.write() as s:
            s.execute(text('UPDATE alert_facts SET "values" = :v WHERE id = :i'), {"v": json.dumps(v), "i": fact.id})
    put(values)
    try:
        return cli(config, "alerts", "prove", "1")
    finally:
        put(fact.values)


def test_an_edited_fact_is_reported(year):
    store = _store(year)
    try:
        fact = _a_fact(store, 1)
        edited = dict(fact.values)
        fields = registers.get(fact.register).fields
        field = next(k for k, v in sorted(edited.items()) if isinstance(v, str) and v and k in fields
                     and fields[k].type == "string" and not fields[k].derived)
        edited[field] = edited[field] + " (edited)"
        code, out = _prove_with_values(year, store, fact, edited)
    finally:
        store.dispose()
    assert code == 1, out
    assert "verdict: differs" in out
    assert f"fact {fact.fact_id} ({fact.alias}) was changed" in out and "differs from the trail" in out
    assert cli(year, "alerts", "prove", "1")[0] == 0  # restored: reproduced again


def test_a_rule_file_changed_since_is_said_plainly(year, tmp_path):
    store = _store(year)
    try:
        with store.read() as s:
            rule_name = s.execute(select(Alert.rule_name).where(Alert.id == 1)).scalar_one()
    finally:
        store.dispose()
    from rules.api import LIBRARY

    source = next(p for p in LIBRARY.rglob("*.yaml") if f"\nname: {rule_name}\n" in p.read_text(encoding="utf-8"))
    own = tmp_path / "rules"
    own.mkdir()
    original = source.read_text(encoding="utf-8")
    title = next(line for line in original.splitlines() if line.startswith("title: "))
    # the rule's own title is part of its compiled form (so of its version) but not of the alert
    (own / source.name).write_text(original.replace(title, title + " (reworded)", 1), encoding="utf-8")
    config = year.parent / "config-own-rules.toml"  # same folder: same store
    config.write_text(year.read_text(encoding="utf-8")
                      + f'\n[rules]\ninclude_library = false\nfolders = ["{own}"]\n', encoding="utf-8")
    code, out = cli(config, "alerts", "prove", "1")
    assert code == 0, out
    assert "is not available" in out and "compared with its current version" in out
    assert "verdict: reproduced with the current rule version (the stored version is not available)" in out
    (own / source.name).unlink()
    code, out = cli(config, "alerts", "prove", "1")
    assert code == 1 and "verdict: not reproducible" in out and "cannot be re-evaluated" in out


def test_a_bundle_verifies_and_an_edited_one_fails(year, tmp_path):
    bundle = tmp_path / "proof-1.json"
    code, out = cli(year, "alerts", "prove", "1", "--export", str(bundle))
    assert code == 0 and "signed bundle" in out
    doc = json.loads(bundle.read_text(encoding="utf-8"))
    assert doc["verdict"] == "reproduced" and doc["trail"]["event_verifies"] and doc["rule"]["text"]
    assert doc["facts"] and doc["signature"]["scheme"] == "hmac-sha256"
    code, out = cli(None, "audit", "verify-bundle", str(bundle))
    assert code == 0 and "bundle intact: alert 1" in out
    assert cli(year, "alerts", "prove", "--check", str(bundle))[0] == 0
    doc["facts"][0]["values"] = {**doc["facts"][0]["values"], "note": "added later"}
    bundle.write_text(json.dumps(doc), encoding="utf-8")
    code, out = cli(year, "alerts", "prove", "--check", str(bundle))
    assert code == 1 and "it was edited after it was signed" in out
    code, out = cli(None, "audit", "verify-bundle", str(bundle))
    assert code == 1 and "it was edited after it was signed" in out
    bundle.write_text("{not json", encoding="utf-8")
    code, out = cli(None, "audit", "verify-bundle", str(bundle))
    assert code == 1 and "is not JSON" in out


def test_an_unreadable_stored_value_is_a_difference_not_a_crash(year):
    store = _store(year)
    try:
        fact = _a_fact(store, 1)
        fields = registers.get(fact.register).fields
        field = next(k for k in sorted(fact.values) if k in fields and fields[k].type == "date")
        code, out = _prove_with_values(year, store, fact, {**fact.values, field: "not a date"})
    finally:
        store.dispose()
    assert code == 1 and "verdict: differs" in out
    assert f"the stored {field} 'not a date' is not a date; evaluated as blank" in out


def test_prove_errors_are_said_in_words(year):
    code, out = cli(year, "alerts", "prove", "99999")  # not found: 1, as for every alerts command (docs/cli.md)
    assert code == 1 and "there is no alert 99999" in out
    code, out = cli(year, "alerts", "prove", "1", "--run", "99999")
    assert code == 1 and "has no stored occurrence in run 99999" in out
    code, out = cli(year, "alerts", "prove")
    assert code == 2 and "give the alert to prove" in out
