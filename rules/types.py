"""How register field types behave in rules: comparison kinds and literal checks.

Owns: the mapping dictionary type -> comparison kind (date, money, int, number, rank, string, bool),
which kinds may be compared, and whether a literal fits a field. Shared by the validators, the
compiler and the selection/normalisation code so that they never disagree.
"""
from __future__ import annotations

import re
from typing import Any

from audit.registers import Field

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NUMERIC = ("money", "int", "number")

#: param type -> the comparison kind of its value
PARAM_KINDS = {"money": "money", "int": "int", "days": "int", "number": "number", "date": "date",
               "string": "string", "bool": "bool"}


def kind_of(f: Field) -> str:
    """The comparison kind of a register field."""
    if f.type == "enum":
        return "rank" if f.ordered else "string"
    if f.type == "hash":
        return "string"
    return f.type


def comparable(a: str, b: str) -> bool:
    """May values of kind a and kind b be compared? (int and number mix; money only with money)."""
    if a == b:
        return True
    return {a, b} <= {"int", "number"}


def is_date_text(v: Any) -> bool:
    if not isinstance(v, str) or not DATE_RE.match(v):
        return False
    from datetime import date

    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return True


def literal_problem(f: Field, value: Any) -> str | None:
    """Why `value` is not a valid literal for field f, or None."""
    kind = kind_of(f)
    if isinstance(value, bool) and kind != "bool":
        return f"{f.name} is {f.type}; got the boolean {value!r} (quote it if you meant the text)"
    if kind == "date":
        return None if is_date_text(value) else f"{f.name} is a date; write it as YYYY-MM-DD (got {value!r})"
    if kind == "money":
        return None if isinstance(value, int) else f"{f.name} is money: write integer pence (got {value!r})"
    if kind == "int":
        return None if isinstance(value, int) else f"{f.name} is an integer (got {value!r})"
    if kind == "number":
        return None if isinstance(value, (int, float)) else f"{f.name} is a number (got {value!r})"
    if kind == "bool":
        return None if isinstance(value, bool) else f"{f.name} is true/false (got {value!r})"
    if not isinstance(value, str):
        hint = " (ids are strings: quote it, e.g. \"012345\", so leading zeros survive)" if isinstance(value, int) else ""
        return f"{f.name} is {f.type}; got {type(value).__name__} {value!r}{hint}"
    if f.type == "enum" and value not in f.values:
        return f"{f.name}: {value!r} is not one of {', '.join(f.values)}"
    return None


def param_fits(param_type: str, kind: str) -> bool:
    pk = PARAM_KINDS.get(param_type)
    return pk is not None and comparable(pk, kind)


def default_problem(param_type: str, value: Any) -> str | None:
    if param_type in ("money", "int", "days"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif param_type == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif param_type == "date":
        ok = is_date_text(value)
    elif param_type == "bool":
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    return None if ok else f"value {value!r} does not fit param type {param_type}"
