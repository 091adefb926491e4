"""The end of a run: render the HTML report, write every export format, deliver to every
configured destination and record each delivery on the run. One call for the pipeline and the
scheduler: `publish(store, settings, run_id)`.

Everything is first written to the run's output folder (exports.out_dir/<period>/), so a failed
delivery never loses the export. Destinations with `pseudonymise = true` receive a pseudonymised
set (report and exports) written under <period>/pseudonymised/.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from audit.settings import Settings
from audit.store import lifecycle, queries
from audit.store.db import Store
from audit.store.views import RunView

from reports.deliver import DeliveryResult, deliver
from reports.export import FORMATS, ExportFiles, export
from reports.html import write_report
from reports.pseudonym import PseudonymError, Pseudonymiser, pseudonymise


@dataclass
class PublishResult:
    report_path: Path
    export_paths: list[Path]
    manifest_path: Path
    deliveries: list[DeliveryResult] = field(default_factory=list)
    reviewer_report_path: Path | None = None  # the variant without sensitive registers


def output_dir(settings: Settings, period: str) -> Path:
    return settings.resolve_path(settings.exports.out_dir) / period


def report_name(period: str, variant: str = "") -> str:
    return f"report-{period}{'-' + variant if variant else ''}.html"


def write_outputs(run: RunView, folder: Path, force_name: str, *,
                  pseudonymised: Pseudonymiser | None = None) -> tuple[Path, ExportFiles]:
    """Report + all export formats + manifest for one run into `folder`."""
    shown = pseudonymise(run, pseudonymised) if pseudonymised else run
    report = write_report(shown, folder / report_name(run.period, "pseudonymised" if pseudonymised else ""),
                          force_name=force_name)
    files = export(run, folder, FORMATS, pseudonymise_names=pseudonymised is not None,
                   pseudonymiser=pseudonymised, extra_files=[report])
    return report, files


def publish(store: Store, settings: Settings, run_id: int, *, backoff: float = 2.0,
            actor: str = "publish") -> PublishResult:
    run = queries.run_view(store, run_id)
    folder = output_dir(settings, run.period)
    force = settings.audit.force_name
    report, files = write_outputs(run, folder, force)
    reviewer = write_report(run, folder / report_name(run.period, "reviewers"), force_name=force,
                            include_sensitive=False)
    dests = settings.exports.destinations
    results = deliver(run, files, [d for d in dests if not d.pseudonymise], report=report,
                      force_name=force, backoff=backoff)
    pseudo_dests = [d for d in dests if d.pseudonymise]
    if pseudo_dests:
        try:
            p_report, p_files = write_outputs(run, folder / "pseudonymised", force,
                                              pseudonymised=Pseudonymiser.from_env())
            results += deliver(run, p_files, pseudo_dests, report=p_report, force_name=force,
                               backoff=backoff)
        except PseudonymError as e:  # recorded as failed deliveries, the full set is kept
            results += [_failed(d.name, d.kind, str(e)) for d in pseudo_dests]
    for r in results:
        lifecycle.record_delivery(store, run_id, r.destination, r.status, r.error, r.attempts,
                                  actor=actor)
    return PublishResult(report_path=report, export_paths=files.paths,
                         manifest_path=files.manifest_path, deliveries=results,
                         reviewer_report_path=reviewer)


def _failed(name: str, kind: str, error: str) -> DeliveryResult:
    from datetime import datetime, timezone

    return DeliveryResult(destination=name, kind=kind, status="failed", attempts=0,
                          at=datetime.now(timezone.utc), error=error)
