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

import bisect
import codecs
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from . import files
from .config import SourceConfig
from .files import label, sha256
from .frame import FileInfo, SourceError
from .mapping import RawTable

csv.field_size_limit(64 * 1024 * 1024)  # very long cells are quarantined, not fatal

_QUOTE = '"'
_UTF8_BOM = b"\xef\xbb\xbf"
_SHOW_LINES = 5  # line numbers listed in a warning
_SHARE_CHECK = 4096  # records between looks at which columns' texts are worth sharing (see _read_records)


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


def _read_records(text: str, delimiter: str, name: str, source: SourceConfig) -> tuple[list[list[str]], list[int]]:
    """The csv module's records and the physical line each starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    records: list[list[str]] = []
    starts: list[int] = []
    last = 0
    # Each column's repeated texts share one str object (registers repeat values a lot): the parsers
    # then read a column from a few objects instead of one per row scattered among the other columns',
    # and the table holds less (measured on a scale-5 force's CSV sources: peak memory of the load
    # 254 -> 206 MB; CPU within the noise). A column whose texts are mostly distinct (ids) stops being
    # shared, so its table of texts does not grow with the file.
    seen: list[dict[str, str] | None] = []
    try:
        for rec in reader:
            if len(rec) > len(seen):
                seen += [{} for _ in range(len(rec) - len(seen))]
            records.append([cell if column is None else column.setdefault(cell, cell)
                            for column, cell in zip(seen, rec)])
            if not len(records) % _SHARE_CHECK:
                seen = [None if column is None or len(column) * 2 > len(records) else column for column in seen]
            starts.append(last + 1)
            last = reader.line_num
    except csv.Error as e:
        raise SourceError(source.name, f"{name}: not a readable CSV file near line "
                          f"{reader.line_num}: {e}") from None
    return records, starts


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:_SHOW_LINES]))
    more = f" and {len(numbers) - _SHOW_LINES:,} more" if len(numbers) > _SHOW_LINES else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"


def read_file(source: SourceConfig, path: Path, base_dir: Path) -> tuple[RawTable, FileInfo, list[str]]:
    name = label(path, base_dir)
    data = files.read(source, path, name)
    if not data:
        raise SourceError(source.name, f"{name}: file is empty (0 bytes); expected a header row")
    text, warnings = _decode(source, data, name)
    scan = _scan(text, source.delimiter)
    if scan.unterminated is not None:
        raise SourceError(source.name, f"{name}: the quote that opens a cell on line {scan.unterminated} is "
                          f"never closed: it would swallow the {scan.lines - scan.unterminated:,} line(s) after "
                          f"it into one cell. Fix the quoting on line {scan.unterminated} (a quote inside a "
                          'quoted cell is written twice: "") and export the file again')
    records, starts = _read_records(text, source.delimiter, name, source)
    if len(records) != scan.records:  # the reader lost (or made up) records: never load that
        raise SourceError(source.name, f"{name}: the CSV reader produced {len(records):,} records but the "
                          f"file holds {scan.records:,} (header and preamble included); check `delimiter` "
                          "and the quoting")
    if len(records) <= source.skip_rows:
        raise SourceError(source.name, f"{name}: no header row after {source.skip_rows} preamble "
                          "line(s); check `skip_rows`")
    headers = [h.strip() for h in records[source.skip_rows]]
    if not any(headers):
        raise SourceError(source.name, f"{name}: the header row (line {source.skip_rows + 1}) is "
                          "blank; check `skip_rows`")
    width = len(headers)
    _check_quoted_spans(source, name, scan, records, starts, width)

    rows, numbers, row_errors, blank, short = [], [], {}, 0, []
    first = source.skip_rows + 1
    for n, rec in enumerate(records[first:], start=1):
        if not "".join(rec).strip():  # every cell blank (one join: this loop sees every record)
            blank += 1
            continue
        if len(rec) > width and "".join(rec[width:]).strip():
            row_errors[len(rows)] = (f"row has {len(rec)} cells but the header has {width}; check "
                                     "`delimiter` and quoting")
        elif len(rec) < width:
            short.append((starts[first + n - 1], len(rec)))
        rows.append(rec[:width])
        numbers.append(source.skip_rows + 1 + n)
    if short and short[-1][0] == starts[-1] and not scan.ends_with_break:
        line, got = short[-1]
        raise SourceError(source.name, f"{name}: the last record (line {line}) has {got} of {width} cells and "
                          "no line break after it: the file looks cut off (truncated while it was written or "
                          "copied); export it again")
    if blank:
        warnings.append(f"{name}: {blank} blank line(s) skipped")
    if short:
        sizes = sorted({got for _, got in short})
        got = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]} to {sizes[-1]}"
        warnings.append(f"{name}: {len(short):,} record(s) have fewer cells than the header ({got} of {width}; "
                        f"the missing cells are read as blank): {_lines([line for line, _ in short])}")
    if scan.spans:
        warnings.append(f"{name}: {len(scan.spans):,} quoted cell(s) hold line breaks (from line "
                        f"{scan.spans[0][0]}); each record is one row")
    table = RawTable(label=name, headers=headers, rows=rows, row_numbers=numbers, row_errors=row_errors,
                     all_text=True)
    return table, FileInfo(path=name, sha256=sha256(data), rows=len(rows)), warnings


def _check_quoted_spans(source: SourceConfig, name: str, scan: _Scan, records: list[list[str]],
                        starts: list[int], width: int) -> None:
    """Refuse a quoted cell that runs over line breaks and then shows it was a stray quote: it
    closes in the middle of a cell, or its record does not have the header's cells."""
    if not scan.spans:
        return
    header_at = source.skip_rows
    for opened, closed, clean in scan.spans:
        i = bisect.bisect_right(starts, opened) - 1  # the record holding the span starts on or before it
        if i <= header_at:
            continue  # in the preamble or the header: the header checks see it
        rec = records[i]
        extra = len(rec) > width and "".join(rec[width:]).strip()
        if clean and not extra and len(rec) >= width:  # (trailing empty cells are harmless)
            continue
        how = ("a quote closes it in the middle of a cell" if not clean else
               f"its record has {len(rec)} cells where the header has {width}")
        raise SourceError(source.name, f"{name}: the quoted cell opened on line {opened} runs on to line "
                          f"{closed} and {how}: a quote on line {opened} is probably not closed, and the "
                          f"lines after it would be swallowed into one cell. Fix the quoting (a quote inside "
                          'a quoted cell is written twice: "") and export the file again')
