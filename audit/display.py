"""Values as a person reads them: money in pounds, dates, enum codes, field values by their
dictionary type, and small mappings in words.

Owns no data and formats nothing for machines (JSON keeps stored values: money in integer pence).
Imports only audit.registers, so the command line, the web app and the reports can all use it.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Mapping

from audit import registers

NONE = "-"  # what a blank value reads as


def pounds(pence: int | float | str | None) -> str:
    """Integer pence -> "£1,234.50" ("-£12.00" below zero; "-" when blank)."""
    if pence is None or pence == "":
        return NONE
    sign, (whole, part) = ("-" if int(pence) < 0 else ""), divmod(abs(int(pence)), 100)
    return f"{sign}£{whole:,}.{part:02d}"


def day(value: date | datetime | str | None) -> str:
    """A date as YYYY-MM-DD; a date and time as YYYY-MM-DD HH:MM; text as given; blank -> "-"."""
    if value is None or value == "":
        return NONE
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def code(value: Any) -> str:
    """An enum code or identifier-like label in words: "private_investigation" -> "private investigation"."""
    return NONE if value is None or value == "" else str(value).replace("_", " ")


def field_type(register: str, field: str) -> str:
    """The dictionary type of register.field ("string" when either is unknown)."""
    reg = registers.registers().get(register)
    return reg.fields[field].type if reg is not None and field in reg.fields else "string"


def typed(value: Any, ftype: str) -> str:
    """A value of dictionary type `ftype` (money, date, enum, ...) in words."""
    if value is None or value == "":
        return NONE
    if ftype == "money":
        return pounds(value)
    if ftype == "date":
        return day(value)
    if ftype == "enum":
        return code(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def field_value(register: str, field: str, value: Any) -> str:
    """A stored fact value in words, by its field's type in the register dictionary."""
    return typed(value, field_type(register, field))


def mapping(values: Mapping[str, Any] | None, types: Mapping[str, str] | None = None, sep: str = "; ") -> str:
    """{"a": 1, "b_c": 2} -> "a = 1; b_c = 2" (each value by its type in `types`, if given); {} -> "none"."""
    if not values:
        return "none"
    types = types or {}
    return sep.join(f"{k} = {typed(v, types.get(k, ''))}" for k, v in values.items())


def counts(values: Mapping[str, int] | None) -> str:
    """{"unknown_id": 89, "no_match": 1} -> "unknown id 89, no match 1"; {} -> "none"."""
    if not values:
        return "none"
    return ", ".join(f"{code(k)} {n:,}" for k, n in values.items())
