"""Jinja2 for the web app: autoescape always on (register text is untrusted), our templates
first, then the report's (so the alert page includes the report's _alert_card.html.j2 partial
with the same filters), plus the report's stylesheet served as a static file.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from reports import html as report_html

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
REPORT_FILTERS = ("when", "human", "register_label", "fact_values")


def _env() -> Environment:
    env = Environment(loader=ChoiceLoader([FileSystemLoader(str(TEMPLATES)),
                                           FileSystemLoader(str(report_html.TEMPLATES))]),
                      autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update({k: report_html._ENV.filters[k] for k in REPORT_FILTERS})
    env.filters["qs"] = lambda d: urlencode(d)
    env.filters["size"] = lambda n: f"{n / 1024:,.1f} KB" if n >= 1024 else f"{n} bytes"
    env.filters["breakable"] = breakable
    return env


def breakable(name: str) -> Markup:
    """A snake_case name (a rule) that may wrap after each underscore, not mid-word; escaped first."""
    return Markup(str(escape(name)).replace("_", "_<wbr>"))  # escaping never writes an underscore


ENV = _env()


def page(template: str, **context) -> str:
    return ENV.get_template(template).render(**context)


def report_css() -> bytes:
    """The report's stylesheet (reports/templates/_style.css.j2), so both look the same."""
    return ENV.get_template("_style.css.j2").render().encode("utf-8")
