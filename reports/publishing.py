"""The end of a run: render the HTML report, write every export format, deliver to every
configured destination, record each delivery on the run, and mark the run published. One call for
the pipeline, the scheduler and `report --period` (which republishes a run whose publishing was
interrupted): `publish(store, settings, run_id)`.

Publishing is part of a run's success, and it is all or nothing on disk:

1. under the period lock (so a run and a republish never publish the period at once), what an
   earlier interrupted publish left next to the output folder is settled (reports.atomic.settle);
2. the whole set (report, reviewers' report, exports and manifest, the pseudonymised set under
   pseudonymised/ when a destination asks for one) is written to a temporary folder next to the
   run's output folder (exports.out_dir/<period>/);
3. that folder is swapped in for the output folder in one step (reports.atomic.swap_dir): a crash
   at any point leaves the previous complete set or the new complete set, never a mixture;
4. the set is delivered from the output folder (a failed delivery never loses the export) and
   each delivery is recorded on the run;
5. only then is the run marked published (runs.published_at, a run.publish audit event).

A run killed before step 5 stays recorded but unpublished: report, export and the web app's
downloads keep to the period's last published files, and `report --period` (or the next run of the
period) publishes it. Only the period's recorded run (succeeded or partial, not replaced by a
rerun) can be published. Destinations with `pseudonymise = true` receive the pseudonymised set.
"""
from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from audit.faults import kill_point
from audit.settings import Settings
from audit.store import anchor, lifecycle, queries
from audit.store.db import Store
from audit.store.locks import period_lock
from audit.store.record import mark_published
from audit.store.views import RunView

from reports import atomic
from reports.deliver import DeliveryResult, deliver
from reports.export import FORMATS, MANIFEST, ExportFiles, export
from reports.html import write_report
from reports.pseudonym import PseudonymError, Pseudonymiser, pseudonymise

log = logging.getLogger("integrity_audit.publish")


class NotPublishable(ValueError):
    """The run is not its period's recorded run (running, failed, or replaced by a rerun)."""


@dataclass
class PublishResult:
    report_path: Path
    export_paths: list[Path]
    manifest_path: Path
    deliveries: list[DeliveryResult] = field(default_factory=list)
    reviewer_report_path: Path | None = None  # the variant without sensitive registers
    notes: list[str] = field(default_factory=list)  # what publishing repaired or replaced, in words


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


def folder_run_id(folder: Path) -> int | None:
    """The run whose outputs are in `folder`, as its manifest.json says (None: no readable manifest)."""
    import json

    try:
        run_id = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8")).get("run_id")
    except (OSError, ValueError, AttributeError):
        return None
    return run_id if isinstance(run_id, int) else None


def settle_outputs(store: Store, settings: Settings, period: str) -> list[str]:
    """Clean up after an interrupted publish of `period` (reports.atomic.settle) before a command
    writes into its output folder; skipped while another process holds the period (it settles
    them itself when it publishes). Returns what was done, in words."""
    from audit.store.locks import RunLocked

    final = output_dir(settings, period)
    staging, aside = atomic.leftovers(final)
    if not staging and not aside:
        return []
    try:
        with period_lock(store, period):
            return atomic.settle(final)
    except RunLocked:
        return []


def _check(store: Store, run: RunView) -> None:
    recorded = queries.latest_run_id(store, run.period)
    if recorded != run.id:
        why = (f"it is {run.status}" if run.status not in queries.DONE
               else f"run {recorded} replaced it" if recorded else "it was replaced")
        raise NotPublishable(f"run {run.id} of {run.period} cannot be published: {why}; only the "
                             "period's current results are published")


def _moved(path: Path, staging: Path, final: Path) -> Path:
    return final / Path(path).relative_to(staging)


def _relocated(files: ExportFiles, staging: Path, final: Path) -> ExportFiles:
    return ExportFiles(folder=_moved(files.folder, staging, final),
                       by_format={k: [_moved(p, staging, final) for p in ps] for k, ps in files.by_format.items()},
                       manifest_path=_moved(files.manifest_path, staging, final) if files.manifest_path else None,
                       manifest=files.manifest)


def publish(store: Store, settings: Settings, run_id: int, *, backoff: float = 2.0,
            actor: str = "publish") -> PublishResult:
    """Publish the run (see the module docstring); raises NotPublishable for a run that is not
    its period's current results, RunLocked if another process holds the period."""
    with period_lock(store, queries.period_of(store, run_id)):
        run = queries.run_view(store, run_id)
        _check(store, run)
        final = output_dir(settings, run.period)
        notes = atomic.settle(final)
        notes += [f"run {old} of {run.period} was recorded but its report and exports were never published "
                  f"(publishing was interrupted, or it ran with --no-publish); run {run.id} replaces it"
                  for old in queries.replaced_unpublished(store, run.id)]
        for note in notes:
            log.warning("%s", note)
        force = settings.audit.force_name
        dests = settings.exports.destinations
        pseudo_dests = [d for d in dests if d.pseudonymise]
        anchor.stamp(store, settings.data_dir, run)  # the trail head: data/trail-anchor.json + manifest
        staging = atomic.staging_dir(final)
        try:
            report, files = write_outputs(run, staging, force)
            kill_point("publish.write")
            reviewer = write_report(run, staging / report_name(run.period, "reviewers"), force_name=force,
                                    include_sensitive=False)
            p_report = p_files = pseudo_error = None
            if pseudo_dests:
                try:
                    p_report, p_files = write_outputs(run, staging / "pseudonymised", force,
                                                      pseudonymised=Pseudonymiser.from_env())
                except PseudonymError as e:  # recorded as failed deliveries, the full set is kept
                    pseudo_error = str(e)
            atomic.swap_dir(staging, final, on_aside=lambda: kill_point("publish.aside"))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        kill_point("publish.swap")
        report, reviewer = _moved(report, staging, final), _moved(reviewer, staging, final)
        files = _relocated(files, staging, final)
        results = deliver(run, files, [d for d in dests if not d.pseudonymise], report=report,
                          force_name=force, backoff=backoff)
        if pseudo_dests and p_files is not None:
            results += deliver(run, _relocated(p_files, staging, final), pseudo_dests,
                               report=_moved(p_report, staging, final), force_name=force, backoff=backoff)
        elif pseudo_dests:
            results += [_failed(d.name, d.kind, pseudo_error or "") for d in pseudo_dests]
        for r in results:
            lifecycle.record_delivery(store, run_id, r.destination, r.status, r.error, r.attempts,
                                      actor=actor)
        manifest_sha = hashlib.sha256(files.manifest_path.read_bytes()).hexdigest()
        mark_published(store, run_id, actor=actor,
                       details={"folder": str(final), "files": len(files.manifest.get("files", [])),
                                "manifest_sha256": manifest_sha})
    return PublishResult(report_path=report, export_paths=files.paths,
                         manifest_path=files.manifest_path, deliveries=results,
                         reviewer_report_path=reviewer, notes=notes)


def _failed(name: str, kind: str, error: str) -> DeliveryResult:
    from datetime import datetime, timezone

    return DeliveryResult(destination=name, kind=kind, status="failed", attempts=0,
                          at=datetime.now(timezone.utc), error=error)
