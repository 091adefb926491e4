"""Cell parsers: one raw source cell -> one canonical value, or a reason a person can act on.

Owns the value rules of every register field type (see connectors/frame.py for the dtypes):
  string  text exactly as written, stripped ("000417" stays "000417"; a number cell 417.0 -> "417");
          cells starting with = + - @ are kept as literal text (exports neutralise them)
  date    the source's date_formats, ISO dates, Excel serial numbers, datetime cells; in an
          open-ended field (registers.toml `open_ended`) a date from OPEN_END_FROM on, or one of
          the source's `open_end_dates`, is OPEN_END: "no end date", read as blank and counted
  money   integer pence via Decimal: "£1,234.00", "1234.5", "(12.50)" and "-12.50" (credits), "£ 12"
  enum    the source's value map (case/space-insensitive), else a canonical value; anything else is
          left as written so validation names it ("value 'X' is not one of ...")
  int / number / bool
  hash    HMAC-SHA-256 hex of the value normalised to upper-case letters and digits; the raw value
          is never kept. Key from INTEGRITY_AUDIT_HASH_KEY, else DEV_HASH_KEY (with a warning).
Blank and redacted cells are missing (None); redaction is reported by the caller for required fields.
An UnreadableCell (an xlsx formula with no saved value, an Excel error) is quarantined in every field.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

MAX_CHARS = 10_000
HASH_KEY_ENV = "INTEGRITY_AUDIT_HASH_KEY"
#: Used only when INTEGRITY_AUDIT_HASH_KEY is unset (development and tests). Hashes made with it
#: are reproducible by anyone, so provenance carries a warning whenever it is used.
DEV_HASH_KEY = "integrity-audit-development-key-NOT-FOR-PRODUCTION"
DEV_KEY_WARNING = (f"{HASH_KEY_ENV} is not set: hashed fields use the fixed development key; "
                   "set the variable to a secret before loading real bank details")

_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_MAX_SERIAL = 2_958_465  # 9999-12-31
_FIRST_DAY, _LAST_DAY = date(1677, 9, 22), date(2262, 4, 11)  # what datetime64[ns] holds
#: In an open-ended field a date from this day on means "no end date": HR, vetting and register
#: exports write 31/12/9999, 9999-12-31 00:00:00, 01/01/3000, 31/12/2999 ... (no real end, expiry
#: or review date is over 200 years away). It is also the first year datetime64[ns] cannot hold whole.
OPEN_END_FROM = date(2262, 1, 1)
#: whole numbers and pence must fit the Int64 columns (checked before int(): "1e999999999" would
#: otherwise take forever to expand)
_INT_LIMIT = 2 ** 63
_SERIAL_TEXT = re.compile(r"^\d{5}(\.\d+)?$")  # serials typed as text: 10000..99999 (1927..2173)
_MONEY_TEXT = re.compile(r"^[+-]?(\d+|\d{1,3}(,\d{3})+)?(\.\d*)?$")
_TRUE = {"y", "yes", "true", "t", "1"}
_FALSE = {"n", "no", "false", "f", "0"}


class CellError(ValueError):
    """A cell that cannot be read as its field's type; the message is the quarantine reason."""


@dataclass(frozen=True)
class UnreadableCell:
    """A cell whose value the reader cannot know: always quarantined with `reason`, in every field
    type and on both parsing paths (parse_cells, connectors.vector), never read as blank and never
    as its text. `text` is what the cell holds (a formula, an error code); str() gives it."""

    text: str

    def __str__(self) -> str:
        return self.text

    @property
    def reason(self) -> str:  # pragma: no cover - every kind says its own
        return f"{self.text} cannot be read"


@dataclass(frozen=True)
class UncachedFormula(UnreadableCell):
    """An xlsx formula cell saved without its value (written by a program that cannot compute it,
    e.g. openpyxl or a script): the value it shows in Excel is not in the file."""

    @property
    def reason(self) -> str:
        return (f"formula {self.text} has no saved value: open and save the workbook in Excel, or "
                "export values")


@dataclass(frozen=True)
class ExcelError(UnreadableCell):
    """An xlsx cell holding an Excel error value (#N/A, #REF!, #VALUE!, ...), not data."""

    @property
    def reason(self) -> str:
        return f"the cell holds the Excel error {self.text}, not a value: correct it in the workbook"


class _OpenEnd:
    """What a date parser returns for a "no end date" sentinel (the cell is then left blank)."""

    def __repr__(self) -> str:
        return "OPEN_END"


OPEN_END = _OpenEnd()


def norm_key(value: str) -> str:
    """Case- and whitespace-insensitive lookup key ("  Single  Tender " -> "single tender")."""
    return " ".join(str(value).split()).casefold()


def hash_key() -> tuple[bytes, str | None]:
    """The HMAC key and a warning if the development key is used."""
    key = os.environ.get(HASH_KEY_ENV)
    if key:
        return key.encode(), None
    return DEV_HASH_KEY.encode(), DEV_KEY_WARNING


def as_text(raw: Any) -> str:
    """A cell as the text a person sees: numbers without a spurious .0, dates as ISO."""
    kind = type(raw)  # the common exact types first (row identity hashes every cell of SQL and xlsx rows)
    if kind is str:
        return raw.strip()
    if kind is int:
        return str(raw)
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, float):
        if raw != raw:  # NaN
            return ""
        if raw.is_integer():
            return str(int(raw))
        shortest = repr(raw)  # without an exponent (or inf) it is already the plain decimal text
        return shortest if "e" not in shortest and "n" not in shortest else format(Decimal(shortest), "f")
    if isinstance(raw, Decimal):
        return format(raw.normalize(), "f") if raw == raw.to_integral_value() else format(raw, "f")
    if isinstance(raw, datetime):
        return raw.date().isoformat() if raw.time() == time(0) else raw.isoformat(sep=" ")
    if isinstance(raw, (date, time)):
        return raw.isoformat()
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace").strip()
    return str(raw).strip()


def parse_string(raw: Any) -> str:
    return as_text(raw)


def _serial_to_date(serial: float) -> date:
    if not 1 <= serial <= _EXCEL_MAX_SERIAL:
        raise CellError(f"number {serial:g} is not a date (Excel serial numbers run 1 to {_EXCEL_MAX_SERIAL})")
    return (_EXCEL_EPOCH + timedelta(days=int(serial))).date()


def make_date_parser(formats: list[str], open_ended: bool = False,
                     open_end_dates: frozenset[date] = frozenset()) -> Callable[[Any], date | _OpenEnd]:
    """A date parser; with `open_ended`, sentinel dates (see OPEN_END_FROM) give OPEN_END."""
    shown = ", ".join(formats + ["ISO yyyy-mm-dd", "Excel serial number"])

    def parse_date(raw: Any) -> date | _OpenEnd:
        value = read_date(raw)
        if open_ended and (value >= OPEN_END_FROM or value in open_end_dates):
            return OPEN_END
        if not _FIRST_DAY <= value <= _LAST_DAY:  # beyond datetime64[ns]: would crash the load
            raise CellError(f"'{as_text(raw)}' is outside the dates this tool can hold "
                            f"({_FIRST_DAY.isoformat()} to {_LAST_DAY.isoformat()})")
        return value

    def read_date(raw: Any) -> date:
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        if isinstance(raw, bool):
            raise CellError(f"'{raw}' is not a date")
        if isinstance(raw, (int, float, Decimal)):
            return _serial_to_date(float(raw))
        text = as_text(raw)
        for fmt in formats:
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                pass
        try:
            return datetime.fromisoformat(text).date()
        except ValueError:
            pass
        if _SERIAL_TEXT.match(text):
            return _serial_to_date(float(text))
        raise CellError(f"'{text}' is not a date in any of the formats: {shown}")

    return parse_date


def read_open_end_dates(texts: list[str], formats: list[str]) -> frozenset[date]:
    """A source's own "no end date" sentinels (config `open_end_dates`, e.g. "01/01/2100").

    Read with the source's date formats; raises CellError naming a text that is not a date.
    Dates from OPEN_END_FROM on are open-ended anyway and need no listing.
    """
    parse = make_date_parser(formats, open_ended=True)
    return frozenset(d for d in map(parse, texts) if d is not OPEN_END)


def parse_money(raw: Any) -> int:
    """Integer pence, exactly. Negative (credit) when written with a minus or in brackets."""
    if isinstance(raw, bool):
        raise CellError(f"'{raw}' is not an amount")
    if isinstance(raw, float):
        value = Decimal(repr(raw))
    elif isinstance(raw, (int, Decimal)):
        value = Decimal(raw)
    else:
        text = as_text(raw)
        body = text.replace("£", "").replace(" ", "").replace("\u00a0", "")
        negative = False
        if body.startswith("(") and body.endswith(")"):
            negative, body = True, body[1:-1]
        if body.startswith("-") and negative:
            raise CellError(f"'{text}' is not an amount (both brackets and a minus sign)")
        if not body or not _MONEY_TEXT.match(body) or body in {"+", "-", ".", "-.", "+."}:
            raise CellError(f"'{text}' is not an amount (expected e.g. 1234.50, £1,234.50 or (12.50))")
        try:
            value = Decimal(body.replace(",", ""))
        except InvalidOperation:
            raise CellError(f"'{text}' is not an amount") from None
        if negative:
            value = -value
    if not value.is_finite():
        raise CellError(f"'{as_text(raw)}' is not an amount")
    pence = value * 100
    if pence != pence.to_integral_value():
        raise CellError(f"'{as_text(raw)}' has fractions of a penny; amounts must have at most 2 decimal places")
    if pence.copy_abs() >= _INT_LIMIT:
        raise CellError(f"'{as_text(raw)}' is too large for an amount")
    return int(pence)


def _parse_decimal(raw: Any, what: str) -> Decimal:
    if isinstance(raw, bool):
        raise CellError(f"'{raw}' is not {what}")
    if isinstance(raw, float):
        return Decimal(repr(raw))
    if isinstance(raw, (int, Decimal)):
        return Decimal(raw)
    text = as_text(raw).replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CellError(f"'{as_text(raw)}' is not {what}") from None
    if not value.is_finite():
        raise CellError(f"'{as_text(raw)}' is not {what}")
    return value


def parse_int(raw: Any) -> int:
    value = _parse_decimal(raw, "a whole number")
    if value.copy_abs() >= _INT_LIMIT:
        raise CellError(f"'{as_text(raw)}' is too large for a whole number")
    if value != value.to_integral_value():
        raise CellError(f"'{as_text(raw)}' is not a whole number")
    return int(value)


def parse_number(raw: Any) -> float:
    return float(_parse_decimal(raw, "a number"))


def parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    key = norm_key(as_text(raw))
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise CellError(f"'{as_text(raw)}' is not yes/no (expected Y/N, yes/no, true/false or 1/0)")


def make_enum_parser(canonical: tuple[str, ...], value_map: dict[str, str]) -> Callable[[Any], str]:
    lookup = {norm_key(k): v for k, v in value_map.items()}
    for v in canonical:
        lookup.setdefault(norm_key(v), v)
        lookup.setdefault(norm_key(v.replace("_", " ")), v)

    def parse_enum(raw: Any) -> str:
        text = as_text(raw)
        key = norm_key(text)
        return lookup.get(key) or lookup.get(key.replace("-", " ").replace("_", " ")) or text

    return parse_enum


def make_hash_parser(key: bytes) -> Callable[[Any], str]:
    def parse_hash(raw: Any) -> str:
        normalised = re.sub(r"[^0-9A-Za-z]", "", as_text(raw)).upper()
        if not normalised:
            raise CellError("has no letters or digits to hash")
        return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()

    return parse_hash


@dataclass
class CellContext:
    """Per-source settings the parsers need."""

    date_formats: list[str]
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    redacted: list[str] = field(default_factory=list)
    hash_key: bytes = DEV_HASH_KEY.encode()
    #: extra "no end date" sentinels of this source (see read_open_end_dates)
    open_end_dates: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        self.redacted_keys = {norm_key(r) for r in self.redacted}


def parser_for(ftype: str, name: str, enum_values: tuple[str, ...], ctx: CellContext,
               open_ended: bool = False) -> Callable[[Any], Any]:
    """The parser for a field of type `ftype`; raises CellError on a bad cell.

    `open_ended`: the field is an open-ended date (registers.toml), whose sentinels give OPEN_END.
    """
    if ftype == "string":
        return parse_string
    if ftype == "date":
        return make_date_parser(ctx.date_formats, open_ended, ctx.open_end_dates)
    if ftype == "money":
        return parse_money
    if ftype == "enum":
        return make_enum_parser(enum_values, ctx.values.get(name, {}))
    if ftype == "int":
        return parse_int
    if ftype == "number":
        return parse_number
    if ftype == "bool":
        return parse_bool
    if ftype == "hash":
        return make_hash_parser(ctx.hash_key)
    raise ValueError(f"no parser for field type {ftype!r}")


BLANK, REDACTED, OPEN = "blank", "redacted", "open-ended"


def classify(raw: Any, ctx: CellContext) -> str | None:
    """BLANK, REDACTED, or None for a cell with a value."""
    if raw is None or (isinstance(raw, float) and raw != raw):
        return BLANK
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return BLANK
        if ctx.redacted_keys and norm_key(text) in ctx.redacted_keys:
            return REDACTED
    return None


def parse_cells(cells: list[Any], parse: Callable[[Any], Any], ctx: CellContext
                ) -> tuple[list[Any], dict[int, str], set[int], set[int]]:
    """Parse a column. Returns (values, {position: reason}, positions of redacted cells,
    positions of open-ended sentinels). Redacted and open-ended cells are left blank (None).

    Each distinct cell is parsed once (registers repeat values a lot), keyed by type and value.
    """
    values: list[Any] = [None] * len(cells)
    errors: dict[int, str] = {}
    redacted: set[int] = set()
    open_ended: set[int] = set()
    cache: dict[tuple[type, Any], tuple[Any, str | None, str | None]] = {}
    for i, raw in enumerate(cells):
        ck = (type(raw), raw)
        hit = cache.get(ck)
        if hit is None:
            if isinstance(raw, UnreadableCell):  # an uncached formula, an Excel error: never a value
                hit = (None, raw.reason, None)
            elif (state := classify(raw, ctx)) is not None:
                hit = (None, None, state)
            elif isinstance(raw, str) and len(raw) > MAX_CHARS:
                hit = (None, f"longer than {MAX_CHARS:,} characters ({len(raw):,})", None)
            else:
                try:
                    value = parse(raw)
                    hit = (None, None, OPEN) if value is OPEN_END else (value, None, None)
                except CellError as e:
                    hit = (None, str(e), None)
            cache[ck] = hit
        value, err, state = hit
        if state is not None:
            if state == REDACTED:
                redacted.add(i)
            elif state == OPEN:
                open_ended.add(i)
            continue
        values[i] = value
        if err:
            errors[i] = err
    return values, errors, redacted, open_ended
