"""One monthly run, end to end: load -> resolve -> evaluate -> record -> publish.

The only module that ties connectors, entities, rules, the store and reports together. A run holds
the period lock for its whole length, so two processes never run the same period at once.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

import connectors
from audit import collector, health, registers, reliance, shadow, streamed
from audit.faults import kill_point
from audit.entities import Resolution, RowKeys, resolve
from audit.period import Period
from audit.settings import Settings
from audit.store import ledger
from audit.store import shadow as shadow_store
from audit.store.db import Store, open_store
from audit.store.locks import period_lock
from audit.store.record import RuleInfo, RunInput, RunSummary, SourceLoadInput, record_run, start_run
from rules import api as rules_api
from rules.finding import Finding

log = logging.getLogger("integrity_audit.pipeline")

#: progress(stage, detail) is called as the run moves on; the CLI shows it.
Progress = Callable[[str, str], None]


@dataclass
class RunOutcome:
    period: Period
    run_id: int
    status: str  # succeeded | partial | failed
    summary: RunSummary | None
    load: connectors.LoadResult | None = None
    evaluation: rules_api.Evaluation | None = None
    resolution: Resolution | None = None
    rule_problems: list[rules_api.Problem] = field(default_factory=list)
    report_path: str | None = None
    export_paths: list[str] = field(default_factory=list)
    deliveries: list[Any] = field(default_factory=list)
    error: str | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    ledger: ledger.LedgerReview | None = None
    late_raised: int = 0  # findings of earlier months this run raised because a row arrived late
    shadow: dict[str, int] = field(default_factory=dict)  # shadow rule name -> findings kept apart (audit.shadow)

    @property
    def incomplete(self) -> bool:
        return self.status != "succeeded"


def load_rule_set(settings: Settings) -> tuple[list[rules_api.CompiledRule], list[rules_api.Rule], list[rules_api.Problem]]:
    """The enabled, validated rules: the shipped library plus the force's folders, minus disabled."""
    return _enabled_rules(settings, *_load_library(settings))


def _load_library(settings: Settings) -> tuple[list[rules_api.Rule], list[rules_api.Problem]]:
    """Every valid rule of the shipped library and the force's folders, deprecated ones included."""
    return rules_api.load_rules(settings.rule_folders)


def _enabled_rules(settings: Settings, rules: list[rules_api.Rule], problems: list[rules_api.Problem]):
    disabled = set(settings.rules.disabled)
    unknown = disabled - {r.name for r in rules}
    if unknown:
        problems.append(rules_api.Problem(str(settings.config_path), 1, 1,
                                          f"[rules] disabled names unknown rule(s): {sorted(unknown)}"))
    enabled = [r for r in rules if r.name not in disabled and r.status != "deprecated"]
    unknown_params = set(settings.rules.params) - {r.name for r in rules}
    if unknown_params:
        problems.append(rules_api.Problem(str(settings.config_path), 1, 1,
                                          f"[rules.params] names unknown rule(s): {sorted(unknown_params)}"))
    return [rules_api.compile_rule(r) for r in enabled], enabled, problems


def _with_sources(compiled: list[rules_api.CompiledRule], rules: list[rules_api.Rule],
                  load: connectors.LoadResult) -> tuple[list, list, list[str]]:
    """The rules that may run on what loaded, and a note naming the rest.

    A rule over a register with no loaded source is not run: its silence would read as "nothing
    found", and worse, an `absent` rule would accuse everyone ("holds no clearance") when the
    vetting register simply was not provided or failed to load. Where a register has several
    sources and one failed, the rules run on the others' rows (what they find is true; what the
    failed source holds is caught up as late arrivals when it returns), except an `absent` rule
    looking for what is missing from that register: the missing rows may be in the failed source."""
    incomplete = _incomplete_registers(load)
    loaded = {f.register for f in load.frames} | {r for r in registers.names() if registers.get(r).generated}
    missing: dict[str, list[str]] = {}
    partial: dict[str, list[str]] = {}
    keep = []
    for c, r in zip(compiled, rules):
        lacking = sorted(set(c.registers) - loaded)
        for register in lacking:
            missing.setdefault(register, []).append(c.name)
        absent_from = [r for r in (c.input(a).register for a in c.missing_inputs) if r in incomplete]
        if not lacking and absent_from:
            for register in absent_from:
                partial.setdefault(register, []).append(c.name)
        elif not lacking:
            keep.append((c, r))
    notes = [f"{len(names)} rule(s) not run because no source for the {registers.get(register).label.lower()} "
             f"register loaded: {', '.join(sorted(names))}" for register, names in sorted(missing.items())]
    notes += [f"{len(names)} rule(s) not run because the {registers.get(register).label.lower()} register is "
              f"incomplete (source {', '.join(incomplete[register])} did not load) and they look for what is "
              f"missing from it: {', '.join(sorted(names))}" for register, names in sorted(partial.items())]
    return [c for c, _ in keep], [r for _, r in keep], notes


def _incomplete_registers(load: connectors.LoadResult) -> dict[str, list[str]]:
    """register -> its required sources that failed (or were taken out as unhealthy)."""
    out: dict[str, list[str]] = {}
    for f in load.failures:
        if f.required:
            out.setdefault(f.register, []).append(f.source)
    return out


def _deprecated_rule_infos(library: list[rules_api.Rule]) -> list[RuleInfo]:
    """The deprecated rules are not evaluated, but the store records them so pages can say so."""
    return [_rule_info(r, rules_api.compile_rule(r)) for r in library if r.status == "deprecated"]


def _rule_info(rule: rules_api.Rule, compiled: rules_api.CompiledRule) -> RuleInfo:
    return RuleInfo(id=rule.id, name=rule.name, version=compiled.version, level=rule.level, title=rule.title,
                    description=rule.description, runbook=rule.alert.runbook or "", registers=rule.registers,
                    sensitivity=_rule_sensitivity(compiled), status=rule.status)


def _rule_sensitivity(compiled: rules_api.CompiledRule) -> str:
    """The most sensitive field the rule reads: a rule over notifiable associations or vetting, or one
    matching bank accounts, is need-to-know (CCU); one that only shares a register with a sensitive
    field it never reads (the supplier's bank hash in procurement) is not. Evidence rows can still
    carry such fields: readers without need-to-know get them redacted (reports.summary)."""
    return max((registers.get(i.register).fields[f].sensitivity for i in compiled.inputs for f in i.fields),
               key=registers.SENSITIVITIES.index, default="internal")


def _source_inputs(load: connectors.LoadResult) -> list[SourceLoadInput]:
    out = []
    for f in load.frames:
        out.append(SourceLoadInput(
            name=f.source, register=f.register, kind=f.provenance.kind, location=f.provenance.location,
            status="loaded", error=None, rows_read=f.rows_read, rows_accepted=f.rows_accepted,
            rows_quarantined=f.rows_quarantined,
            files=[{"path": i.path, "sha256": i.sha256, "rows": i.rows, "open_ended": i.open_ended}
                   for i in f.provenance.files],
            quarantine=f.quarantine))
    for fail in load.failures:
        out.append(SourceLoadInput(name=fail.source, register=fail.register, kind="", location="",
                                   status="failed", error=fail.message, rows_read=0, rows_accepted=0,
                                   rows_quarantined=0))
    return out


def _evidence_facts(findings: list[Finding], frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every fact a finding refers to, with its register and canonical values."""
    wanted = {fid for f in findings for ids in f.facts.values() for fid in ids}
    parts = []
    for register, df in frames.items():
        if df.empty or "fact_id" not in df:
            continue
        hit = df[df["fact_id"].isin(wanted)]
        if not hit.empty:
            parts.append(hit.assign(register=register))
    if not parts:
        return pd.DataFrame({"fact_id": pd.Series(dtype="object"), "register": pd.Series(dtype="object")})
    return pd.concat(parts, ignore_index=True)


def _people(frames: dict[str, pd.DataFrame]) -> dict[str, dict]:
    wf = frames.get("workforce")
    if wf is None or wf.empty:
        return {}
    key = wf["person_key"] if "person_key" in wf else wf["person_id"]
    names = (wf["first_name"].fillna("") + " " + wf["last_name"].fillna("")).str.strip()
    return {str(k): {"name": n, "department": d, "line_manager_id": m}
            for k, n, d, m in zip(key, names, wf["department"], wf["line_manager_id"]) if isinstance(k, str)}


def run_period(settings: Settings, period: Period, *, engine: str | None = None, actor: str = "cli",
               progress: Progress | None = None, publish: bool = True, store: Store | None = None,
               loaded: connectors.LoadResult | None = None) -> RunOutcome:
    """Run the audit of one period and record it. Raises RunLocked if the period is being run.
    `loaded`: the sources as just read by the caller (audit.period.check_auditable), not read again."""
    note = progress or (lambda stage, detail: None)
    engine = engine or settings.rules.engine
    own_store = store is None
    if settings.store_url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = store or open_store(settings.store_url)
    timings: dict[str, float] = {}

    @contextmanager
    def stage(name: str):
        started = time.perf_counter()
        kill_point(name)  # test-only: INTEGRITY_AUDIT_TEST_KILL_AT=<stage> (audit.faults)
        yield
        timings[name] = time.perf_counter() - started

    load = None
    try:
        # the collector is paused for the run: see audit.collector (a third off the resolve stage of a large force)
        with period_lock(store, str(period)), collector.paused():
            run_id = start_run(store, period, engine, actor)
            if engine == "durable":  # the worker's start-up overlaps with loading
                from rules.engines.isolated import warm

                warm()
            log.info("run %s: period %s started (engine %s)", run_id, period, engine)
            try:
                ordinary, big = streamed.split(settings.sources)
                with stage("load"):
                    note("load", f"{len(settings.sources)} sources")
                    load = loaded or connectors.load_sources(
                        ordinary, settings.base_dir,
                        progress=lambda name, done, total: note("load", f"{name} ({done}/{total})"))
                with stage("ledger"):
                    note("ledger", "what earlier runs saw: late, altered and deleted entries")
                    review = ledger.review(store, load.frames, period,
                                           guard_percent=settings.audit.deletion_guard_percent,
                                           unguarded={s.name for s in settings.sources if s.allow_shrink})
                    health.take_out_unhealthy(store, load, review, period, settings.audit.deletion_guard_percent,
                                              settings.sources)
                with stage("resolve"):
                    library, problems = _load_library(settings)
                    library = shadow.effective_rules(settings, library, shadow_store.promotions(store, strict=True), problems)
                    compiled, rules, problems = _enabled_rules(settings, library, problems)
                    note("resolve", "people and organisations")
                    frames = load.by_register()
                    frames["register_changes"] = _changes_frame(review)
                    keys = RowKeys(frames.get("workforce"), settings.entities, settings.overrides_in_force)
                    resolution = resolve(frames, settings.entities, keys=keys)  # one workforce index for both
                if big:
                    with stage("stream"):  # read after the others: what they hold decides which rows are kept
                        got = _stream(store, settings, period, big, load, review, resolution, compiled, keys, note)
                compiled, rules, not_run = _with_sources(compiled, rules, load)
                with stage("evaluate"):
                    evaluation = rules_api.evaluate(compiled, resolution.frames, period, settings.rules.params,
                                                    engine, progress=lambda name: note("evaluate", name),
                                                    fresh=set(review.fresh), fresh_from=review.fresh_from,
                                                    late_lookback_months=settings.audit.late_lookback_months)
                    evaluation.findings, shadow_found = shadow.split(evaluation.findings, rules, period)  # kept apart
                    evaluation.findings, late_raised = _late_findings(store, evaluation.findings, review, period)
                    evaluation.findings = reliance.with_weakest_links(evaluation.findings, compiled,
                                                                      resolution.links)
            except Exception as exc:  # recorded as a failed run (with what did load), then raised: never silent
                log.exception("run %s failed", run_id)
                record_run(store, RunInput(period=period, engine=engine,
                                           sources=_source_inputs(load) if load else [], rules=[], findings=[],
                                           facts=pd.DataFrame(), links=pd.DataFrame(), people={},
                                           status="failed", error=f"{type(exc).__name__}: {exc}",
                                           actor=actor, run_id=run_id))
                raise
            errors = [p for p in problems if getattr(p, "severity", "error") == "error"]
            problems_text = [str(p) for p in errors]
            failed = [f for f in load.failures if f.required]
            # a ledger changed outside a run: what the run says arrived late, changed or went is in doubt
            status = "partial" if failed or errors or review.broken_seals else "succeeded"
            # a rule the reference engine evaluated because durable crashed is complete, but said
            fallbacks = [f"rule {name} was evaluated with the reference engine because {st.fallback}"
                         for name, st in sorted(evaluation.stats.items()) if st.fallback]
            error = "; ".join([f.message for f in failed] + problems_text + fallbacks + not_run
                              + review.notes + (got.notes if big else [])) or None
            with stage("record"):
                note("record", f"{len(evaluation.findings)} findings")
                facts = _evidence_facts(evaluation.findings, resolution.frames)
                links = resolution.links[resolution.links["fact_id"].isin(set(facts["fact_id"]))] \
                    if not resolution.links.empty else resolution.links
                by_name = {c.name: c for c in compiled}
                summary = record_run(store, RunInput(
                    period=period, engine=engine, sources=_source_inputs(load),
                    rules=[_rule_info(r, by_name[r.name]) for r in rules if r.status != shadow.SHADOW],
                    shadow_rules=[_rule_info(r, by_name[r.name]) for r in rules if r.status == shadow.SHADOW],
                    shadow_findings=shadow_found,
                    deprecated_rules=_deprecated_rule_infos(library), findings=evaluation.findings,
                    facts=facts, links=links, people=_people(resolution.frames), status=status, error=error,
                    actor=actor, run_id=run_id, ledger=review))
                if summary.status != "failed":  # the CCU's timelines of access alerts (own transaction)
                    _record_timelines(store, summary.run_id, settings, big, resolution, keys, got if big else None)
            outcome = RunOutcome(period=period, run_id=summary.run_id, status=summary.status, summary=summary,
                                 load=load, evaluation=evaluation, resolution=resolution, rule_problems=problems,
                                 error=error, stage_seconds=timings, ledger=review, late_raised=late_raised)
            outcome.shadow = shadow.counts(rules, shadow_found)
            if publish:  # still under the period lock: recorded and published, or recorded and not current
                from reports import publish as publish_run

                with stage("publish"):
                    note("publish", "report and exports")
                    result = publish_run(store, settings, summary.run_id, actor=actor)
                outcome.report_path = str(result.report_path)
                outcome.export_paths = [str(p) for p in result.export_paths]
                outcome.deliveries = result.deliveries
        log.info("run %s: period %s %s", summary.run_id, period, summary.status)
        return outcome
    finally:
        if own_store:
            store.dispose()


def _stream(store: Store, settings: Settings, period: Period, sources: list[connectors.SourceConfig],
            load: connectors.LoadResult, review: ledger.LedgerReview, resolution: Resolution,
            compiled: list[rules_api.CompiledRule], keys: RowKeys, note: Progress) -> streamed.Streamed:
    """Read the streamed sources (audit.streamed), keeping the rows the rules can use; check their
    health as the others' was; add what passes to `load` and `resolution`."""
    got = streamed.load(sources, settings.base_dir, resolution.frames, compiled, settings.rules.params, keys,
                        progress=note)
    extra = connectors.LoadResult(frames=got.frames, failures=got.failures)
    health.take_out_unhealthy(store, extra, review, period, settings.audit.deletion_guard_percent, settings.sources)
    load.frames += extra.frames
    load.failures += extra.failures
    load.skipped += [s.name for s in sources if not s.enabled]
    for register, kept in streamed.resolve_kept(extra.frames, keys).items():
        resolution.frames[register] = kept.frames[register]
        resolution.links = pd.concat([resolution.links, kept.links], ignore_index=True)
        resolution.unresolved = pd.concat([resolution.unresolved, kept.unresolved], ignore_index=True)
    return got


def _record_timelines(store: Store, run_id: int, settings: Settings, big: list[connectors.SourceConfig],
                      resolution: Resolution, keys: RowKeys, got: streamed.Streamed | None) -> None:
    """The CCU's access timelines of the run's access alerts: from the access log the run holds, or,
    when it was streamed (and pruned), from the rows of the alerts' (user, record) pairs read again."""
    from audit.store.access_timeline import REGISTER, cited_pairs, record_access_timelines

    if not any(s.register == REGISTER for s in big):
        record_access_timelines(store, run_id, resolution.frames.get(REGISTER))
        return
    pairs = cited_pairs(store, run_id)
    if pairs:
        access = streamed.timeline_rows(big, settings.base_dir, set(pairs), keys)
        record_access_timelines(store, run_id, access, window=got.dates.get(REGISTER) if got else None)


def _changes_frame(review: ledger.LedgerReview) -> pd.DataFrame:
    """The run's register_changes rows with the META columns every register row carries."""
    df = ledger.changes_frame(review)
    df["fact_id"] = ("register_changes:" + df["change_id"].astype(str)).astype(object)
    df["_source"] = pd.Series(["(ledger)"] * len(df), dtype=object)
    df["_file"] = pd.Series([None] * len(df), dtype=object)
    df["_row"] = pd.Series([pd.NA] * len(df), dtype="Int64")
    return df


def _late_findings(store: Store, findings: list[Finding], review: ledger.LedgerReview,
                   period: Period) -> tuple[list[Finding], int]:
    """Keep the late pass's findings (of months before the period) that were never raised before,
    each saying which rows arrived late and by how much; the period's own findings pass unchanged."""
    from dataclasses import replace

    from audit.store.queries import raised_before
    from audit.store.record import fingerprint
    from rules.late import event_months_late

    own = [f for f in findings if f.as_of is None or f.as_of >= period.start]
    late = [f for f in findings if f.as_of is not None and f.as_of < period.start]
    if not late:
        return own, 0
    # raised before by another month's run, or raised by this run as a finding of its own month
    earlier = raised_before(store, {fingerprint(f.rule_id, f.dedup) for f in late}, str(period))
    earlier |= {fingerprint(f.rule_id, f.dedup) for f in own}
    fresh = review.fresh
    kept, month_of = [], {}  # fingerprint -> the month whose findings make its late alert (the earliest)
    for f in sorted(late, key=lambda f: f.as_of):
        month = str(Period.containing(f.as_of))
        # a row seen again after runs that missed it counts for the months it was missing in only
        why = [a for ids in f.facts.values() for fid in ids
               if (a := fresh.get(fid)) and (a.since is None or a.since < month)]
        fp = fingerprint(f.rule_id, f.dedup)
        if not why or fp in earlier or month_of.setdefault(fp, month) != month:
            continue  # findings of one month sharing a fingerprint all stay: the store unites their facts
        entries = [{"register": a.register, "key": a.key, "how": a.how, "entry_field": a.entry_field,
                    "entry_date": a.entry_date.isoformat() if a.entry_date else None,
                    "event_date": a.event_date.isoformat() if a.event_date else None} for a in why]
        kept.append(replace(f, late={"event_date": f.as_of.isoformat(), "event_period": str(Period.containing(f.as_of)),
                                     "reported_period": str(period),
                                     "months_late": event_months_late(f.as_of, period), "entries": entries}))
    return own + kept, len(kept)

