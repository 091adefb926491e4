"""Rendering values for people: alert titles and the values recorded on a finding.

Money renders as £1,234.56, dates as YYYY-MM-DD, blanks as "(blank)". Templates hold only
{alias.field}, {params.name} and, for aggregates, {count}, {sum} and {group.field}: nothing is
evaluated, placeholders are looked up. A date placeholder may carry two words,
{alias.field|past/future} (e.g. `{clearance.expiry_date|expired/expires}`): the first word is shown
before a date earlier than the audit period's end, the second otherwise ("expired 2026-05-11").
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import pandas as pd

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
BLANK = "(blank)"


def is_blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip()
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def as_date(v: Any) -> date | None:
    if is_blank(v):
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return pd.Timestamp(v).date()


def stored(v: Any, ftype: str) -> Any:
    """A value as findings and the store keep it: money int pence, dates ISO text, blanks None."""
    if is_blank(v):
        return None
    if ftype == "date":
        return as_date(v).isoformat()
    if ftype in ("money", "int"):
        return int(v)
    if ftype == "number":
        return float(v)
    if ftype == "bool":
        return bool(v)
    return str(v)


def money(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    pounds, p = divmod(abs(int(pence)), 100)
    return f"{sign}£{pounds:,}.{p:02d}"


def display(v: Any, ftype: str) -> str:
    value = stored(v, ftype)
    if value is None:
        return BLANK
    if ftype == "money":
        return money(value)
    if ftype == "number":
        return f"{value:g}"
    return str(value)


def tense(ph: str) -> tuple[str, tuple[str, str] | None]:
    """A placeholder's reference and its (past, future) words: "a.f|expired/expires" ->
    ("a.f", ("expired", "expires")); a placeholder without words -> (ph, None)."""
    ref, bar, words = ph.partition("|")
    if not bar:
        return ph, None
    past, _, future = words.partition("/")
    return ref, (past.strip(), future.strip())


def dated(words: tuple[str, str], value: Any, shown: str, period_end: date | None) -> str:
    """`shown` (a rendered date) preceded by the past word if the date is before `period_end`."""
    d = as_date(value)
    if d is None:
        return shown
    return f"{words[0] if period_end is not None and d < period_end else words[1]} {shown}"


#: a title's last placeholder, blank, after its separator ("...: (blank)"): left out, not shown
_BLANK_TAIL = re.compile(r"\s*[:;,\u2013-]\s*" + re.escape(BLANK) + r"$")


def render(template: str, lookup) -> str:
    """Replace each {placeholder} with lookup(placeholder) (a display string). A blank value that
    ends the text after a separator is left out with its separator: "Interest 7 of P1: (blank)"
    reads "Interest 7 of P1"."""
    return _BLANK_TAIL.sub("", PLACEHOLDER.sub(lambda m: lookup(m.group(1)), template))
