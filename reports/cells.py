"""Cell values for humans and spreadsheets: formula neutralising, money and date formatting,
and the canonical field type of a fact value (from the register dictionary).

Owns the one rule every spreadsheet-bound string passes through (OWASP CSV injection): a string
starting with = + - @ tab, carriage return or line feed is prefixed with a single quote.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from audit import registers

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(text: str) -> str:
    """Make a string safe to open in Excel / LibreOffice: never read as a formula."""
    if text and text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def pounds(pence: int | None) -> Decimal | None:
    """Integer pence -> exact pounds (Decimal with 2 places)."""
    if pence is None:
        return None
    return (Decimal(int(pence)) / 100).quantize(Decimal("0.01"))


def money_text(pence: int | None) -> str:
    """Integer pence -> "£1,234.50" (negative: "-£12.00")."""
    if pence is None:
        return ""
    value = pounds(pence)
    sign = "-" if value < 0 else ""
    return f"{sign}£{abs(value):,.2f}"


@cache
def field_type(register: str, field: str) -> str:
    """The dictionary type of register.field ("string" when the register or field is unknown)."""
    reg = registers.registers().get(register)
    if reg is None or field not in reg.fields:
        return "string"
    return reg.fields[field].type


@cache
def field_label(register: str, field: str) -> str:
    reg = registers.registers().get(register)
    if reg is None or field not in reg.fields:
        return field
    return reg.fields[field].label


def register_label(register: str) -> str:
    reg = registers.registers().get(register)
    return reg.label if reg else register


def typed(value: Any, ftype: str) -> Any:
    """A stored fact value -> the Python value of its dictionary type (date for dates, int pence
    for money, ...). Values that do not fit the type are returned unchanged (shown as text)."""
    if value is None or value == "":
        return None
    try:
        if ftype == "date":
            if isinstance(value, datetime):
                return value.date()
            if isinstance(value, date):
                return value
            return date.fromisoformat(str(value)[:10])
        if ftype in ("money", "int"):
            if isinstance(value, bool):
                return value
            if isinstance(value, float) and not value.is_integer():
                return value
            return int(value)
        if ftype == "number":
            return float(value)
        if ftype == "bool":
            return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes")
    except (TypeError, ValueError):
        return value
    return value


def display(value: Any, ftype: str) -> str:
    """A fact value as a person reads it in the HTML report."""
    value = typed(value, ftype)
    if value is None:
        return ""
    if ftype == "money" and isinstance(value, int) and not isinstance(value, bool):
        return money_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)
