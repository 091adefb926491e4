"""CSV connector: files -> RawTables of strings (pandas never infers a type here).

Handles the source's `encoding` (utf-8-sig reads UTF-8 with or without a BOM; cp1252 for files
saved by Excel on Windows), `delimiter`, `skip_rows` preamble lines and a glob over several
files (each file keeps its own rows). Row numbers are what a person sees in Excel:
`skip_rows + 1 + n` for the n-th data record. Wholly blank records are not rows (they are counted
in the provenance warnings); a record with more non-blank cells than headers is quarantined; a
record with fewer cells is read with the missing cells blank, and counted in a warning.

Nothing lost: the records are counted a second time, independently of the csv module, by a scan of
the same decoded text (`_scan`: line breaks outside quoted cells), and the two counts must agree.
The scan also finds the quoting faults that would make the reader swallow lines into one cell, and
the file is refused, naming the line where the quote opened, instead of quarantining a giant cell:
- a quote that opens a cell and is never closed (everything after it would be one cell);
- a quoted cell that runs over line breaks and then closes in the middle of a cell, or leaves its
  record with the wrong number of cells (a stray quote closed by a later one).
A file with NUL bytes (damaged, or UTF-16 read as UTF-8) and a file whose last record is cut
short with no line break after it (truncated) are refused too.
"""
from __future__ import annotations

import codecs
import csv
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from . import files
from .config import SourceConfig
from .files import label, sha256
from .frame import FileInfo, SourceError
from .mapping import RawTable

csv.field_size_limit(64 * 1024 * 1024)  # very long cells are quarantined, not fatal

_QUOTE = '"'
_UTF8_BOM = b"\xef\xbb\xbf"
_SHOW_LINES = 5  # line numbers listed in a warning
_SHARE_CHECK = 4096  # records between looks at which columns' texts are worth sharing (see _records)


def _codec(encoding: str) -> str:
    """The codec's canonical name ("utf-8-sig", "cp1252", "utf-16-le", ...)."""
    return codecs.lookup(encoding).name


def _line_of(data: bytes, index: int) -> int:
    return data.count(b"\n", 0, index) + 1


def _utf16_hint(data: bytes) -> str | None:
    """'set encoding = ...' when the bytes look like UTF-16 (a UTF-16 BOM, or NUL every other byte)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ('it looks like UTF-16 (it starts with a UTF-16 byte-order mark): set encoding = "utf-16"')
    head = data[:4096]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if len(head) >= 8 and max(even, odd) * 4 >= len(head) and min(even, odd) * 20 < max(even, odd):
        which = "utf-16-le" if odd > even else "utf-16-be"
        return f'it looks like UTF-16 without a byte-order mark (every other byte is NUL): set encoding = "{which}"'
    return None


def _decode(source: SourceConfig, data: bytes, name: str) -> tuple[str, list[str]]:
    """The file's text and any note about how it was decoded. SourceError when it is not text in
    the source's encoding (naming the first bad byte and its line), or holds NUL bytes."""
    notes: list[str] = []
    try:
        codec = _codec(source.encoding)
    except LookupError:
        raise SourceError(source.name, f"unknown encoding {source.encoding!r} (try utf-8-sig or cp1252)") from None
    if data.startswith(_UTF8_BOM) and not codec.startswith(("utf-8", "utf-16", "utf-32")):
        # A UTF-8 byte-order mark under a single-byte encoding: either the file is UTF-8 (read as
        # cp1252, every '£' would become 'Â£': refuse) or a program put a mark on cp1252 text.
        try:
            rest = data[len(_UTF8_BOM):].decode("utf-8")
        except UnicodeDecodeError as e:
            at = len(_UTF8_BOM) + e.start
            notes.append(f"{name}: starts with a UTF-8 byte-order mark but is not UTF-8 text (byte "
                         f"0x{data[at]:02x} on line {_line_of(data, at)}); read as {source.encoding} as "
                         "configured, without the mark")
        else:
            if not rest.isascii():
                raise SourceError(source.name, f"{name}: starts with a UTF-8 byte-order mark and is UTF-8 text: "
                                  f'set encoding = "utf-8-sig" (read as {source.encoding}, a "£" would '
                                  'become "Â£")')
        data = data[len(_UTF8_BOM):]
    try:
        text = data.decode(source.encoding)
    except UnicodeDecodeError as e:
        at = e.start + len(data) - len(e.object)  # utf-8-sig counts from after the byte-order mark
        line = _line_of(data, at)
        utf16 = _utf16_hint(data)
        if utf16:
            hint = f"; {utf16}"
        elif codec.startswith("utf-8"):
            hint = '; files saved by Excel on Windows are usually cp1252: set encoding = "cp1252"'
        else:
            hint = "; check the file's encoding and set `encoding` to match"
        raise SourceError(source.name, f"{name}: is not valid {source.encoding} text (byte "
                          f"0x{data[at]:02x} on line {line}){hint}") from None
    nul = text.count("\x00")
    if nul:
        first = text.index("\x00")
        utf16 = _utf16_hint(data)
        why = (f"; {utf16}" if utf16 else
               "; a text export has none: the file is damaged (a failed save or copy leaves NULs) or "
               "is not a CSV file. Export it again")
        raise SourceError(source.name, f"{name}: contains {nul:,} NUL byte(s) (first on line "
                          f"{text.count(chr(10), 0, first) + 1}){why}")
    if text.startswith("\ufeff"):  # a BOM under a non-utf-8-sig encoding
        text = text[1:]
    return text, notes


@dataclass
class _Scan:
    """What the bytes hold, counted without the csv module (see `_scan`)."""

    records: int = 0  # records, blank ones included: what csv.reader yields
    lines: int = 0  # physical lines
    ends_with_break: bool = True  # the last record is followed by a line break
    unterminated: int | None = None  # line of a quote that opens a cell and never closes
    #: quoted cells holding line breaks: (line it opens on, line it closes on, closed cleanly:
    #: followed by the delimiter, a line break or the end of the file)
    spans: list[tuple[int, int, bool]] = field(default_factory=list)


def _breaks(text: str, start: int, end: int) -> int:
    """Line breaks in text[start:end] (\\r\\n, \\r and \\n each one, as the csv module reads them)."""
    return text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)


def _scan(text: str, delimiter: str) -> _Scan:
    """Count the records of `text` the way the csv module splits them (quotechar '"', doubled
    quotes, strict=False), from quote to quote with str.find: a quote opens a quoted cell only as
    the first character of a cell; inside, '""' is a quote and the next lone '"' closes it; line
    breaks outside quoted cells end records."""
    out = _Scan()
    n, pos, line, breaks = len(text), 0, 1, 0
    starts = (delimiter, "\n", "\r")
    while True:
        q = text.find(_QUOTE, pos)
        end = n if q < 0 else q
        k = _breaks(text, pos, end)
        breaks += k
        line += k
        if q < 0:
            break
        if q > 0 and text[q - 1] not in starts:  # a quote inside an unquoted cell is data
            pos = q + 1
            continue
        opened, c = line, q + 1
        while True:
            c = text.find(_QUOTE, c)
            if c < 0 or text[c + 1: c + 2] != _QUOTE:
                break
            c += 2  # a doubled quote inside the quoted cell
        if c < 0:
            out.unterminated = opened
            line += _breaks(text, q + 1, n)
            pos = n
            break
        inside = _breaks(text, q + 1, c)
        if inside:
            after = text[c + 1: c + 2]
            out.spans.append((opened, opened + inside, after in ("", delimiter, "\n", "\r")))
            line += inside
        pos = c + 1
    # a line break as the last character is outside any quoted cell (one inside is followed by
    # the closing quote); records: one per line break outside quoted cells, plus a last one that
    # no line break follows
    ends_with_break = n > 0 and text[-1] in "\r\n"
    out.ends_with_break = ends_with_break and out.unterminated is None
    out.records = breaks + (0 if out.ends_with_break or n == 0 else 1)
    out.lines = 0 if n == 0 else line - (1 if ends_with_break else 0)
    return out


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _physical_lines(text: str) -> Iterator[str]:
    """The lines of `text` with their line breaks (\r\n, \r or \n), one at a time: what
    io.StringIO(text, newline="") gives the csv module, without the copy of the whole text StringIO
    makes (four bytes a character: 485 MB for a 116 MB access log)."""
    return (m.group() for m in _LINE.finditer(text))


def _records(text: str, delimiter: str, name: str, source: SourceConfig | None) -> Iterator[tuple[list[str], int, int]]:
    """The csv module's records, one by one, each with the physical lines it starts and ends on."""
    reader = csv.reader(_physical_lines(text), delimiter=delimiter, strict=False)
    # Each column's repeated texts share one str object (registers repeat values a lot): the parsers
    # then read a column from a few objects instead of one per row scattered among the other columns',
    # and the table holds less (measured on a scale-5 force's CSV sources: peak memory of the load
    # 254 -> 206 MB; CPU within the noise). A column whose texts are mostly distinct (ids) stops being
    # shared, so its table of texts does not grow with the file.
    seen: list[dict[str, str] | None] = []
    last, count = 0, 0
    try:
        for rec in reader:
            if len(rec) > len(seen):
                seen += [{} for _ in range(len(rec) - len(seen))]
            count += 1
            if not count % _SHARE_CHECK:
                seen = [None if column is None or len(column) * 2 > count else column for column in seen]
            yield ([cell if column is None else column.setdefault(cell, cell) for column, cell in zip(seen, rec)],
                   last + 1, reader.line_num)
            last = reader.line_num
    except csv.Error as e:
        raise SourceError(source.name if source else "", f"{name}: not a readable CSV file near line "
                          f"{reader.line_num}: {e}") from None


def _lines(numbers: list[int], total: int) -> str:
    """The first line numbers of `total`, for a warning."""
    shown = ", ".join(map(str, numbers[:_SHOW_LINES]))
    more = f" and {total - _SHOW_LINES:,} more" if total > _SHOW_LINES else ""
    return f"line{'s' if total > 1 else ''} {shown}{more}"


@dataclass
class CsvFile:
    """One CSV file, decoded, hashed and scanned, whose rows are read by `tables` in chunks.

    Only the decoded text stays in memory while the rows are read (the bytes are let go once hashed
    and decoded): a chunk's records are made, handed on as a RawTable and dropped, so a file of
    millions of rows is read in memory that grows with its text, not with its rows' Python objects.
    `warnings` is complete once `tables` is exhausted; the file-level checks (the two record counts
    agree, the last record is not cut off) run before the last table is given."""

    source: SourceConfig
    name: str
    text: str
    scan: _Scan
    info: FileInfo
    warnings: list[str]


def open_file(source: SourceConfig, path: Path, base_dir: Path) -> CsvFile:
    name = label(path, base_dir)
    data = files.read(source, path, name)
    if not data:
        raise SourceError(source.name, f"{name}: file is empty (0 bytes); expected a header row")
    text, warnings = _decode(source, data, name)
    info = FileInfo(path=name, sha256=sha256(data), rows=0)
    del data
    scan = _scan(text, source.delimiter)
    if scan.unterminated is not None:
        raise SourceError(source.name, f"{name}: the quote that opens a cell on line {scan.unterminated} is "
                          f"never closed: it would swallow the {scan.lines - scan.unterminated:,} line(s) after "
                          f"it into one cell. Fix the quoting on line {scan.unterminated} (a quote inside a "
                          'quoted cell is written twice: "") and export the file again')
    return CsvFile(source, name, text, scan, info, warnings)


def tables(f: CsvFile, rows_per_table: int | None = None,
           wanted: Callable[[list[str]], bool] | None = None) -> Iterator[RawTable]:
    """The file's data rows as RawTables of at most `rows_per_table` rows (None: one table).
    `wanted(cells)`: a cheap test of a record's raw cells; the others are counted and checked but
    never become rows (a second read after a few rows: their row numbers, and so fact ids, stay)."""
    source, name, scan = f.source, f.name, f.scan
    records = _records(f.text, source.delimiter, name, source)
    head = list(itertools.islice(records, source.skip_rows + 1))
    count = len(head)
    if len(head) <= source.skip_rows:
        _check_count(f, count)
        raise SourceError(source.name, f"{name}: no header row after {source.skip_rows} preamble "
                          "line(s); check `skip_rows`")
    headers = [h.strip() for h in head[-1][0]]
    if not any(headers):
        raise SourceError(source.name, f"{name}: the header row (line {source.skip_rows + 1}) is "
                          "blank; check `skip_rows`")
    width = len(headers)
    spans = iter(scan.spans)
    span = next(spans, None)
    while span is not None and span[0] <= head[-1][2]:  # in the preamble or the header: the header checks see it
        span = next(spans, None)

    def table() -> RawTable:
        return RawTable(label=name, headers=headers, rows=rows, row_numbers=numbers, row_errors=row_errors,
                        all_text=True)

    rows, numbers, row_errors = [], [], {}
    blank, short, short_lines, short_sizes, last_short = 0, 0, [], set(), None
    n, start = 0, head[-1][1]
    for n, (rec, start, end) in enumerate(records, start=1):
        count += 1
        while span is not None and span[0] <= end:  # a quoted cell running over line breaks opens in this record
            _check_span(source, name, span, rec, width)
            span = next(spans, None)
        if not "".join(rec).strip():  # every cell blank (one join: this loop sees every record)
            blank += 1
            continue
        if wanted is not None and not wanted(rec):
            continue
        if len(rec) > width and "".join(rec[width:]).strip():
            row_errors[len(rows)] = (f"row has {len(rec)} cells but the header has {width}; check "
                                     "`delimiter` and quoting")
        elif len(rec) < width:
            short += 1
            if len(short_lines) < _SHOW_LINES:
                short_lines.append(start)
            short_sizes.add(len(rec))
            last_short = (start, len(rec))
        rows.append(rec[:width])
        numbers.append(source.skip_rows + 1 + n)
        if rows_per_table and len(rows) >= rows_per_table:
            f.info.rows += len(rows)
            yield table()
            rows, numbers, row_errors = [], [], {}
    _check_count(f, count)
    if last_short and last_short[0] == start and not scan.ends_with_break:
        line, got = last_short
        raise SourceError(source.name, f"{name}: the last record (line {line}) has {got} of {width} cells and "
                          "no line break after it: the file looks cut off (truncated while it was written or "
                          "copied); export it again")
    if blank:
        f.warnings.append(f"{name}: {blank} blank line(s) skipped")
    if short:
        sizes = sorted(short_sizes)
        got = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]} to {sizes[-1]}"
        f.warnings.append(f"{name}: {short:,} record(s) have fewer cells than the header ({got} of {width}; "
                          f"the missing cells are read as blank): {_lines(short_lines, short)}")
    if scan.spans:
        f.warnings.append(f"{name}: {len(scan.spans):,} quoted cell(s) hold line breaks (from line "
                          f"{scan.spans[0][0]}); each record is one row")
    if rows or not f.info.rows:
        f.info.rows += len(rows)
        yield table()


def _check_count(f: CsvFile, count: int) -> None:
    if count != f.scan.records:  # the reader lost (or made up) records: never load that
        raise SourceError(f.source.name, f"{f.name}: the CSV reader produced {count:,} records but the "
                          f"file holds {f.scan.records:,} (header and preamble included); check `delimiter` "
                          "and the quoting")


def read_file(source: SourceConfig, path: Path, base_dir: Path) -> tuple[RawTable, FileInfo, list[str]]:
    f = open_file(source, path, base_dir)
    (table,) = tables(f)
    return table, f.info, f.warnings


def _check_span(source: SourceConfig, name: str, span: tuple[int, int, bool], rec: list[str], width: int) -> None:
    """Refuse a quoted cell that runs over line breaks and then shows it was a stray quote: it
    closes in the middle of a cell, or its record does not have the header's cells."""
    opened, closed, clean = span
    extra = len(rec) > width and "".join(rec[width:]).strip()
    if clean and not extra and len(rec) >= width:  # (trailing empty cells are harmless)
        return
    how = ("a quote closes it in the middle of a cell" if not clean else
           f"its record has {len(rec)} cells where the header has {width}")
    raise SourceError(source.name, f"{name}: the quoted cell opened on line {opened} runs on to line "
                      f"{closed} and {how}: a quote on line {opened} is probably not closed, and the "
                      f"lines after it would be swallowed into one cell. Fix the quoting (a quote inside "
                      'a quoted cell is written twice: "") and export the file again')
