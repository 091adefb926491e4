"""The monthly schedule: APScheduler 3 with its job store in the store's own database.

A cron trigger from config.toml ([schedule] cron, timezone; default "0 2 1 * *" Europe/London),
coalesce=True, max_instances=1 and a misfire grace of misfire_grace_days, so a run missed while
the server was down happens exactly once on restart (the job's stored next run time is kept across
restarts instead of being reset by replace_existing). Each firing runs the previous calendar month
through `audit.pipeline.run_period(settings, period, actor="scheduler")` (imported lazily; tests
inject another runner by reference) under the period lock, skipping a period that already has a
successful run that was published, so two schedulers on one database run a period once. A period
whose run was recorded but not published (the process was killed while publishing) is published
by the next firing or `run-due` instead of being run again. A due period whose data has not
arrived ("waiting for data") is tried again by the daemon every RETRY_WAITING_HOURS (retry_waiting).

Two schedulers started at once on a fresh store: the schema is migrated under the migrations' own
lock, and APScheduler's job table is created here under a lock of its own (ensure_jobs_table)
before APScheduler looks for it, so neither dies with "table apscheduler_jobs already exists".
"""
from __future__ import annotations

import logging
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import ref_to_obj
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError

from audit import settings as settings_mod
from audit.period import Period, PeriodRefused, check_auditable
from audit.store import RunLocked, Store, open_store, period_lock, trail
from audit.store.db import make_engine
from audit.store.models import Delivery, Run
from audit.store.queries import unpublished_run_id
from audit.store.record import mark_crashed_runs

JOB_ID = "monthly-audit"
JOBS_TABLE = "apscheduler_jobs"
DEFAULT_RUNNER = "audit.pipeline:run_period"
MAX_CATCH_UP = 12  # run-due never runs more than this many periods at once
RETRY_JOB_ID = "retry-waiting"
RETRY_WAITING_HOURS = 6  # the daemon tries a due period that is waiting for its data again this often
JOBS_TABLE_LOCK_KEY = 7_304_211_008  # PostgreSQL advisory lock: "integrity-audit scheduler job table"
log = logging.getLogger("audit.scheduler")


def setup_logging(settings: settings_mod.Settings) -> None:
    """Log to stderr and to <data dir>/logs/scheduler.log."""
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s pid=%(process)d %(message)s")
    handlers = [logging.FileHandler(logs / "scheduler.log", encoding="utf-8"), logging.StreamHandler(sys.stderr)]
    for h in handlers:
        h.setFormatter(fmt)
    log.handlers[:] = handlers
    log.setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.INFO)
    logging.getLogger("apscheduler").handlers[:] = handlers


def trigger_for(settings: settings_mod.Settings) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(settings.schedule.cron, timezone=ZoneInfo(settings.schedule.timezone))
    except (ValueError, KeyError) as e:
        raise settings_mod.SettingsError(
            f"[schedule] cron {settings.schedule.cron!r} / timezone {settings.schedule.timezone!r}: {e}") from None


def period_done(store: Store, period: Period | str) -> bool:
    """True when the period's current run succeeded (or was partial) and was published."""
    with store.read() as s:
        return s.execute(select(Run.id).where(Run.period == str(period), Run.superseded_by.is_(None),
                                              Run.status.in_(("succeeded", "partial")),
                                              Run.published_at.is_not(None)).limit(1)).first() is not None


def run_once(settings: settings_mod.Settings, period: Period, runner: str = DEFAULT_RUNNER) -> str:
    """Run one period under its lock unless it is done:
    "ran" | "skipped" | "published" | "locked" | "error" | "waiting for data: ..." | "not due: ...".

    A period after the current month, or after the end of every source's data, is never audited
    (audit.period.check_auditable, the same check as `run`): "waiting for data: <why>".

    "published": the period's run was recorded but its publishing was interrupted; it is published
    (report, exports, delivery) instead of running the period again."""
    store = open_store(settings.store_url)
    try:
        with period_lock(store, str(period)):  # also marks runs of dead processes failed
            if period_done(store, period):
                log.info("period %s already has a successful run; not running it again", period)
                return "skipped"
            pending = unpublished_run_id(store, str(period))
            if pending is not None:
                return _republish(store, settings, period, pending)
            try:
                check_auditable(settings, period, store.today())
            except PeriodRefused as e:
                log.warning("not running period %s: %s", period, e)
                if e.reason == "beyond_data":
                    return (f"waiting for data: no source has data dated in {period} or later yet "
                            f"(the data reaches {e.data_end:%Y-%m-%d}); not audited")
                return f"not due: {e}"
            log.info("running period %s", period)
            try:
                result = ref_to_obj(runner)(settings, period, actor="scheduler")
            except Exception as exc:
                log.exception("the run of period %s failed", period)
                trail.log(store, actor="scheduler", action="schedule.error", obj=f"period:{period}",
                          details={"error": repr(exc)})
                return "error"
            run_id = getattr(result, "run_id", None)
            status = getattr(result, "status", None)
            log.info("period %s finished: run %s, status %s", period, run_id, status)
            return "ran"
    except RunLocked as e:
        log.warning("%s; this scheduler leaves it to that process", e)
        return "locked"
    finally:
        store.dispose()


def _republish(store: Store, settings: settings_mod.Settings, period: Period, run_id: int) -> str:
    from reports.publishing import publish

    log.warning("run %s of %s was recorded but its report and exports were never published "
                "(publishing was interrupted): publishing it now", run_id, period)
    try:
        result = publish(store, settings, run_id, actor="scheduler")
    except Exception as exc:
        log.exception("publishing run %s of %s failed", run_id, period)
        trail.log(store, actor="scheduler", action="schedule.error", obj=f"period:{period}",
                  details={"error": repr(exc), "run": run_id})
        return "error"
    log.info("period %s: run %s published to %s", period, run_id, result.manifest_path.parent)
    return "published"


def scheduled_job(config_path: str | None, runner: str = DEFAULT_RUNNER) -> str:
    """What the cron trigger fires: run the previous calendar month."""
    settings = settings_mod.load(config_path)
    now = datetime.now(ZoneInfo(settings.schedule.timezone))
    return run_once(settings, Period.containing(now.date()).previous(), runner)


def stored_next_run_time(url: str) -> datetime | None:
    """The job's next run time as the job store holds it (None if absent or paused)."""
    store = Store(url)
    try:
        if not inspect(store.engine).has_table(JOBS_TABLE):
            return None
        with store.read() as s:
            ts = s.execute(text(f"SELECT next_run_time FROM {JOBS_TABLE} WHERE id = :id"), {"id": JOB_ID}).scalar()
        return datetime.fromtimestamp(ts, timezone.utc) if ts is not None else None
    finally:
        store.dispose()


def ensure_jobs_table(url: str, jobstore: SQLAlchemyJobStore | None = None, attempts: int = 5) -> None:
    """Create APScheduler's job table unless it exists, safely when several schedulers start at
    once: the check and the CREATE run in one transaction under a lock (PostgreSQL: an advisory
    lock; SQLite: the store's BEGIN IMMEDIATE), and on any other database a creation that lost the
    race is retried, which then finds the table."""
    table = (jobstore or SQLAlchemyJobStore(url=url, tablename=JOBS_TABLE)).jobs_t
    engine = make_engine(url, immediate=True)
    try:
        for attempt in range(attempts):
            try:
                with engine.begin() as conn:
                    if conn.dialect.name == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": JOBS_TABLE_LOCK_KEY})
                    table.create(conn, checkfirst=True)
                return
            except DBAPIError:
                if inspect(engine).has_table(JOBS_TABLE):
                    return  # another scheduler created it meanwhile
                if attempt == attempts - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))
    finally:
        engine.dispose()


def build_scheduler(settings: settings_mod.Settings, runner: str = DEFAULT_RUNNER,
                    scheduler_cls: type = BlockingScheduler) -> Any:
    """A scheduler with the monthly job, keeping a missed run time so it catches up once."""
    trigger = trigger_for(settings)
    tz = ZoneInfo(settings.schedule.timezone)
    url = settings.store_url
    open_store(url).dispose()  # the schema exists before APScheduler adds its table
    # APScheduler's own engine, with the store's SQLite settings (busy timeout, WAL), and its table
    # made here under a lock: its start() would otherwise check-then-create and race another scheduler
    jobstore = SQLAlchemyJobStore(engine=make_engine(url, immediate=False), tablename=JOBS_TABLE)
    ensure_jobs_table(url, jobstore)
    grace = max(1, settings.schedule.misfire_grace_days * 86400)
    sched = scheduler_cls(jobstores={"default": jobstore, "memory": MemoryJobStore()}, timezone=tz,
                          job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace})
    upcoming = trigger.get_next_fire_time(None, datetime.now(tz))
    pending = stored_next_run_time(url)
    next_run = pending if pending is not None and pending <= upcoming else upcoming
    if pending is not None and pending < datetime.now(timezone.utc):
        log.info("a scheduled run was due at %s while no scheduler was running; it runs now if within "
                 "the %d-day grace period", pending, settings.schedule.misfire_grace_days)
    config = str(settings.config_path) if settings.config_path else None
    sched.add_job(scheduled_job, trigger, id=JOB_ID, name="monthly integrity audit", replace_existing=True,
                  kwargs={"config_path": config, "runner": runner}, next_run_time=next_run)
    sched.add_job(retry_waiting, IntervalTrigger(hours=RETRY_WAITING_HOURS, timezone=tz), id=RETRY_JOB_ID,
                  name="retry periods waiting for data", jobstore="memory", replace_existing=True,
                  kwargs={"config_path": config, "runner": runner})
    sched.add_listener(_on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return sched


def retry_waiting(config_path: str | None, runner: str = DEFAULT_RUNNER) -> list[tuple[str, str]]:
    """What the daemon runs every RETRY_WAITING_HOURS: each due period with no run recorded at all
    (its firing found no data for it yet: "waiting for data") is tried again, so a month whose data
    arrives a few days late is audited when it arrives, not a month later. A period whose run
    failed is left to the next firing or `schedule run-due`; [(period, outcome)]."""
    settings = settings_mod.load(config_path)
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            tried = set(s.execute(select(Run.period).distinct()).scalars())
    finally:
        store.dispose()
    return [(str(p), run_once(settings, p, runner)) for p in due_periods(settings) if str(p) not in tried]


def _on_event(event) -> None:
    if event.code == EVENT_JOB_MISSED:
        log.error("the run due at %s was missed by more than the grace period and is skipped; "
                  "use `integrity-audit schedule run-due` or run the period by hand", event.scheduled_run_time)
    else:
        log.error("the scheduled job raised %r", event.exception)


def due_periods(settings: settings_mod.Settings, now: datetime | None = None) -> list[Period]:
    """Periods the cron says should have run by now since the last successful scheduled run."""
    trigger, tz = trigger_for(settings), ZoneInfo(settings.schedule.timezone)
    now = (now or datetime.now(timezone.utc)).astimezone(tz)
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            last = s.execute(select(Run.period).where(Run.actor == "scheduler", Run.superseded_by.is_(None),
                                                      Run.status.in_(("succeeded", "partial")),
                                                      Run.published_at.is_not(None))
                             .order_by(Run.period.desc()).limit(1)).scalar()
        start = (datetime.combine(Period.parse(last).next().next().start, datetime.min.time(), tz) if last
                 else now - timedelta(days=366))
        fires, t = [], trigger.get_next_fire_time(None, start)
        while t is not None and t <= now and len(fires) < 10_000:
            fires.append(t)
            t = trigger.get_next_fire_time(t, t + timedelta(seconds=1))
        if not last:
            fires = fires[-1:]  # first use: only the latest due run, not a year of history
        periods = sorted({Period.containing(f.date()).previous() for f in fires})
        periods = [p for p in periods if not period_done(store, p)]
    finally:
        store.dispose()
    if len(periods) > MAX_CATCH_UP:
        log.warning("%d periods are due; running the latest %d (run older ones by hand)", len(periods), MAX_CATCH_UP)
        periods = periods[-MAX_CATCH_UP:]
    return periods


def run_due(settings: settings_mod.Settings, runner: str = DEFAULT_RUNNER,
            now: datetime | None = None) -> list[tuple[str, str]]:
    """Run each due period once; [(period, outcome)]."""
    return [(str(p), run_once(settings, p, runner)) for p in due_periods(settings, now)]


def catch_up_on_first_start(settings: settings_mod.Settings, runner: str = DEFAULT_RUNNER,
                            now: datetime | None = None) -> list[tuple[str, str]]:
    """What the daemon does before it starts on a store that has never had a scheduler (no job
    stored): the cron's latest firing before now never ran here, and the job it creates would
    only fire at the next one, a month later, leaving that period unaudited without a word. So
    the overdue period is run now, like `run-due` (once, under its lock); [(period, outcome)]."""
    if stored_next_run_time(settings.store_url) is not None:
        return []  # a scheduler ran before: its stored next run time catches up (misfire grace)
    periods = due_periods(settings, now)
    for p in periods:
        log.warning("period %s is overdue: the schedule should have audited it already but no scheduler "
                    "has run on this store; running it now", p)
    return [(str(p), run_once(settings, p, runner)) for p in periods]


def status(settings: settings_mod.Settings, limit: int = 5) -> dict[str, Any]:
    """Next run time, the last runs and their outcomes, and failed deliveries."""
    trigger, tz = trigger_for(settings), ZoneInfo(settings.schedule.timezone)
    store = open_store(settings.store_url)
    try:
        mark_crashed_runs(store, actor="scheduler")
        stored = stored_next_run_time(settings.store_url)
        overdue = [str(p) for p in due_periods(settings)]
        with store.read() as s:
            runs = s.execute(select(Run).order_by(Run.id.desc()).limit(limit)).scalars().all()
            failed = s.execute(select(Delivery).where(Delivery.status == "failed")
                               .order_by(Delivery.id.desc()).limit(10)).scalars().all()
            return {
                "enabled": settings.schedule.enabled,
                "cron": settings.schedule.cron, "timezone": settings.schedule.timezone,
                "next_run": (stored or trigger.get_next_fire_time(None, datetime.now(tz))),
                "next_run_source": "job store" if stored else "cron (no scheduler has started yet)",
                "overdue": overdue,  # due by the cron, not yet audited (due_periods)
                "last_runs": [{"id": r.id, "period": r.period, "status": r.status, "actor": r.actor,
                               "finished_at": r.finished_at, "error": r.error,
                               "superseded_by": r.superseded_by, "published_at": r.published_at}
                              for r in runs],
                "failed_deliveries": [{"run_id": d.run_id, "destination": d.destination, "at": d.at,
                                       "attempts": d.attempts, "error": d.error} for d in failed],
            }
    finally:
        store.dispose()
