"""The monthly HTML report: one self-contained file per run (inline CSS and SVG, no JavaScript,
no network), rendered with Jinja2 with autoescaping always on, because register text is untrusted.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from audit import display
from audit.store.views import FactView, RunView

from reports import charts, summary
from reports.atomic import write_atomic
from reports.cells import register_label

TEMPLATES = Path(__file__).with_name("templates")


def _when(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d %b %Y %H:%M") + (" UTC" if value.utcoffset() is not None
                                                    and not value.utcoffset() else "")
    return value.strftime("%d %b %Y")


def _human(value: str | None) -> str:
    """A review status by its label ("referred_to_ccu" -> "Referred to CCU"); another code in words."""
    if value in display.STATUS_WORDS:
        return display.status_label(value)
    return (value or "").replace("_", " ")


def _fact_values(fact: FactView) -> list[tuple[str, str]]:
    """(label, display value) for each non-empty value, in the register's field order (audit.display)."""
    return display.evidence(_Facts([fact]))[0]["all"]


class _Facts:
    """Just enough of an alert for display.evidence: its facts, no values (so every field shows)."""

    def __init__(self, facts: list[FactView]):
        self.facts, self.values = facts, {}


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=_when, human=_human, register_label=register_label,
                       fact_values=_fact_values)
    env.globals["show"] = display  # the one display layer (the web app passes it in its context)
    return env


_ENV = _env()


def _period_label(period: str) -> str:
    try:
        return datetime.strptime(period, "%Y-%m").strftime("%B %Y")
    except ValueError:
        return period


def _sort_key(a) -> tuple:
    lv = summary.LEVELS.index(a.level) if a.level in summary.LEVELS else len(summary.LEVELS)
    return (lv, a.rule_name, a.id)


def start_here(alerts: list, limit: int = 12) -> dict:
    """What to read first: the new (and late) critical and high alerts, most severe first, at most
    `limit` of them (and how many more), and the people with the highest combined risk."""
    urgent = [a for a in alerts if a.novelty in ("new", "late") and a.level in ("critical", "high")]
    return {"alerts": urgent[:limit], "more": max(0, len(urgent) - limit),
            "people": summary.top_people(alerts, limit=5)}


def render(run: RunView, *, force_name: str = "", include_sensitive: bool = True) -> str:
    """The report for one run as an HTML string.

    include_sensitive=False leaves out alerts about sensitive registers (associations, vetting)
    so the report can circulate to reviewers without need-to-know access."""
    shown = run if include_sensitive else summary.without_sensitive(run)
    alerts = sorted(shown.alerts, key=_sort_key)
    levels = summary.by_level(alerts)
    rules = summary.by_rule(alerts)
    by_register = summary.count_by(alerts, "registers")
    departments = summary.count_by(alerts, "department")
    # Charts only where they show what a table does not: the trend's shape over the months. The
    # counts by level, rule, register and department are tables (a chart of each repeated them).
    svg = {"trend": charts.trend_chart(run.trend, "Alerts per month") if run.trend else ""}
    peers = {a.id: {**drawn, "svg": Markup(drawn["svg"])}  # trawling: the baseline drawn (or why it is not)
             for a in alerts if (drawn := charts.peer_figure(a.values))}
    return _ENV.get_template("report.html.j2").render(
        run=run, force_name=force_name or "Force not named", period_label=_period_label(run.period),
        include_sensitive=include_sensitive, excluded=len(run.alerts) - len(shown.alerts),
        failures=summary.failures(run), alerts=alerts, levels=levels, rules=rules,
        registers=by_register, departments=departments,
        charts={k: Markup(v) for k, v in svg.items()},  # produced by matplotlib, XML-escaped
        peer_charts=peers,
        novelty=summary.novelty(run, alerts, shown.resolved), resolved=shown.resolved,
        people=summary.top_people(alerts), orgs=summary.top_organisations(alerts, force_name=force_name),
        start=start_here(alerts),
        weights=summary.LEVEL_WEIGHTS, quality=summary.quality(run),
        sources_loaded=sum(s.status != "failed" for s in run.sources),
        rule_versions=run.rule_versions,
    )


def write_report(run: RunView, path: str | Path, *, force_name: str = "",
                 include_sensitive: bool = True) -> Path:
    html = render(run, force_name=force_name, include_sensitive=include_sensitive)
    return write_atomic(Path(path), html.encode("utf-8"))
