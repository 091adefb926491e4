"""Value evidence: what the sampled cells of one column look like, read with the connector's parsers.

Shares are of the column's non-blank, non-redacted cells in the sample (row-weighted). Each check
uses the cell parser a load would use (connectors.parse), so "parses as money" here means the
connector will accept it as money. Dates are tried against DATE_FORMATS; the formats proposed are
the fewest that read every date-like cell, and a day/month format is flagged ambiguous when every
cell would also read month-first (every day is 12 or less).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, Callable

from ..config import DEFAULT_REDACTED
from ..parse import CellContext, CellError, as_text, classify, parse_bool, parse_money, parse_number

#: Formats tried for text dates, in order of preference (UK day-first before US month-first).
DATE_FORMATS = (
    "%d/%m/%Y", "%Y-%m-%d", "%d-%b-%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%d %b %Y",
    "%d %B %Y", "%d-%b-%y", "%Y/%m/%d", "%m/%d/%Y", "%m/%d/%y",
    "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
    "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S",
)
_DATE_LIKE = re.compile(r"\d{1,4}[-/. ][A-Za-z0-9]{1,9}[-/. ]\d{2,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?")
_DECIMAL_MONEY = re.compile(r"£|\.\d{1,2}\)?$|\d,\d{3}|^\(.*\)$")  # pence, £, 1,234 or (credit)
#: "<id> - <line>": one cell holding a transaction and its line ("1040187 - 2")
COMPOSITE = re.compile(r"(.+?)\s+-\s+(\d{1,6})")
#: "SMITH, John" / "O'Brien, Mary Anne": a surname, a comma, forenames (letters, no digits)
SURNAME_FIRST = re.compile(r"[^\W\d_][^,\d]*,\s*[^\W\d_][^,\d]*")
CONSTANT_MIN = 20  # cells needed before a column with one value counts as constant (a small file may
#: hold one donor or one outcome throughout)
SINGLE_VALUE_MIN = 5  # cells with one value before an enum column is found by that value
HONORIFICS = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "sir", "dame", "lord", "lady"}
_MAX_DATE_TRIES = 1000  # distinct date-like cells tried against each format
_CTX = CellContext(date_formats=[], redacted=list(DEFAULT_REDACTED))


@dataclass
class DateEvidence:
    share: float = 0.0  # of non-blank cells read as dates (real dates, or text in `formats`)
    formats: list[str] = field(default_factory=list)
    ambiguous: str | None = None  # a day-first format whose cells all read month-first too
    unread: list[str] = field(default_factory=list)  # date-like cells no format reads (examples)


def swap_day_month(fmt: str) -> str:
    """"%d/%m/%Y" -> "%m/%d/%Y" (and back)."""
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def _strptime_ok(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
        return True
    except ValueError:
        return False


def date_evidence(texts: Counter, native: int, n: int) -> DateEvidence:
    """Which formats read the text cells (Counter text -> rows); `native` cells are real dates."""
    if not n:
        return DateEvidence()
    like = [t for t in texts if _DATE_LIKE.fullmatch(t)][:_MAX_DATE_TRIES]
    read_by = {fmt: {t for t in like if _strptime_ok(t, fmt)} for fmt in DATE_FORMATS}
    chosen: list[str] = []
    covered: set[str] = set()
    while True:  # greedy cover: the format adding the most rows, earlier formats first on a tie
        gains = [(sum(texts[t] for t in read_by[f] - covered), -i, f) for i, f in enumerate(DATE_FORMATS)]
        gain, _, fmt = max(gains) if gains else (0, 0, None)
        if not gain:
            break
        chosen.append(fmt)
        covered |= read_by[fmt]
    ambiguous = None
    for fmt in chosen:
        swapped = swap_day_month(fmt)
        if fmt.startswith("%d") and "%m" in fmt and read_by[fmt] <= read_by.get(swapped, set()):
            ambiguous = fmt
    unread = [t for t in like if t not in covered][:5]
    share = (native + sum(texts[t] for t in covered)) / n
    return DateEvidence(share=share, formats=chosen, ambiguous=ambiguous, unread=unread)


def _row_share(cells: Counter, test: Callable[[Any], bool], n: int) -> float:
    return sum(count for value, count in cells.items() if test(value)) / n if n else 0.0


def _parses(parser: Callable[[Any], Any]) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        try:
            parser(value)
            return True
        except (CellError, ValueError, ArithmeticError):
            return False
    return test


def _id_like(value: Any) -> bool:
    text = as_text(value)
    return (any(c.isdigit() for c in text) and len(text) <= 40 and text.count(" ") <= 2
            and not (isinstance(value, (float, Decimal)) and not float(value).is_integer()))


def _has_letters(value: Any) -> bool:
    return isinstance(value, str) and sum(c.isalpha() for c in value) >= 2


class ColumnProfile:
    """The sampled cells of one source column and what they look like."""

    def __init__(self, header: str, position: int, raw: list[Any]):
        self.header = header
        self.position = position
        self.blank = 0
        self.redacted = 0
        cells: Counter = Counter()  # typed non-blank cells (str stripped) -> rows
        for value in raw:
            state = classify(value, _CTX)
            if state == "blank":
                self.blank += 1
            elif state == "redacted":
                self.redacted += 1
            else:
                cells[value.strip() if isinstance(value, str) else value] += 1
        self.cells = cells
        self.n = sum(cells.values())
        self.texts: Counter = Counter({v: c for v, c in cells.items() if isinstance(v, str)})

    # -- shares of the non-blank cells ------------------------------------------------------
    @cached_property
    def dates(self) -> DateEvidence:
        native = sum(c for v, c in self.cells.items() if isinstance(v, (date, datetime)))
        return date_evidence(self.texts, native, self.n)

    @cached_property
    def money_share(self) -> float:
        return _row_share(self.cells, _parses(parse_money), self.n)

    @cached_property
    def decimal_money_share(self) -> float:
        """Amounts written with pence, a £ or thousands separators (ids rarely are)."""
        def test(v: Any) -> bool:
            if isinstance(v, float) and not v.is_integer():
                return True
            return isinstance(v, str) and bool(_DECIMAL_MONEY.search(v)) and _parses(parse_money)(v)
        return _row_share(self.cells, test, self.n)

    @cached_property
    def number_share(self) -> float:
        return _row_share(self.cells, _parses(parse_number), self.n)

    @cached_property
    def bool_share(self) -> float:
        return _row_share(self.cells, _parses(parse_bool), self.n)

    @cached_property
    def id_share(self) -> float:
        return _row_share(self.cells, _id_like, self.n)

    @cached_property
    def letters_share(self) -> float:
        return _row_share(self.cells, _has_letters, self.n)

    @cached_property
    def unique_share(self) -> float:
        """Distinct values / non-blank cells (1.0: every value once)."""
        return len(self.cells) / self.n if self.n else 0.0

    @property
    def single_valued(self) -> bool:
        """One value throughout, in enough cells to find an enum column by it."""
        return self.n >= SINGLE_VALUE_MIN and len(self.cells) == 1

    @cached_property
    def honorific_share(self) -> float:
        """Cells that are a title before a name ("Mr", "Mrs", "Dr"): a Title column."""
        return _row_share(self.texts, lambda v: v.casefold().rstrip(".") in HONORIFICS, self.n)

    @property
    def constant(self) -> bool:
        """Every sampled cell holds the same value (and there are enough cells to say so)."""
        return self.n >= CONSTANT_MIN and len(self.cells) == 1

    @cached_property
    def composite_share(self) -> float:
        return _row_share(self.texts, lambda t: COMPOSITE.fullmatch(t) is not None, self.n)

    @cached_property
    def composite_numeric(self) -> bool:
        """Every "<id> - <line>" cell has a numeric id part."""
        return all(m is not None and m.group(1).isdigit()
                   for m in map(COMPOSITE.fullmatch, self.texts))

    def examples(self, k: int = 3) -> list[str]:
        return [as_text(v) for v, _ in self.cells.most_common(k)]
