"""Source health against history: a source that comes back much smaller than before fails loud.

A source that loads but holds far fewer rows than the last audit read (a truncated export, a
filter changed at the source, the wrong file) would otherwise be audited as if it were whole: rules
over it fall silent, and an `absent` rule accuses everyone it no longer lists. Two checks, both
against `[audit] deletion_guard_percent` (default 10) and more than a handful of rows:
- rows: fewer rows accepted than the last audit accepted from the same source;
- entries (registers the ledger follows): entries earlier audits saw that are missing now
  (audit.store.ledger's guard), which also catches an extract of the same size but other rows.
Such a source is taken out of the run as failed (the run is partial and the report says why; rules
over its register run on its other sources only, see audit.pipeline._with_sources). Its rows are not
marked as seen, so when it comes back whole the months it missed are caught up (late arrivals). A source whose config says `allow_shrink = true` is exempt.
"""
from __future__ import annotations

import connectors
from audit.period import Period
from audit.store import ledger
from audit.store.db import Store
from audit.store.queries import source_history

#: fewer rows lost than this is never read as a broken extract, whatever the share
MIN_ROWS = ledger.GUARD_MIN_ROWS


def take_out_unhealthy(store: Store, load: connectors.LoadResult, review: ledger.LedgerReview, period: Period,
                       percent: float, sources: list[connectors.SourceConfig]) -> list[connectors.SourceFailure]:
    """Move every shrunken source of `load` (and its ledger review) to the failures; return them."""
    configs = {s.name: s for s in sources}
    last_period, before = source_history(store, str(period))
    guarded = {s.source: s for s in review.sources if s.guarded}
    failures = []
    for frame in list(load.frames):
        config = configs.get(frame.source)
        if config is not None and config.allow_shrink:
            continue
        was, now = before.get(frame.source), frame.rows_accepted
        reason = None
        if was and was - now > MIN_ROWS and 100.0 * (was - now) / was > percent:
            reason = (f"accepted {now:,} rows where the audit of {last_period} accepted {was:,} "
                      f"({100.0 * (was - now) / was:.0f}% fewer)")
        elif frame.source in guarded:
            reason = guarded[frame.source].guard_note
        if reason is None:
            continue
        message = (f"source {frame.source!r} {reason}: read as a truncated or wrong extract, so its rules were not "
                   f"run; check the export (or set allow_shrink = true on the source if the drop is real)")
        failures.append(connectors.SourceFailure(frame.source, frame.register, message,
                                                 required=config.required if config is not None else True))
        load.frames.remove(frame)
    load.failures += failures
    review.drop_sources({f.source for f in failures})  # not audited: its rows do not count as seen
    return failures

