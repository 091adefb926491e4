"""A suggestion as a ready-to-paste TOML `[[sources]]` block, or as data (for --json).

Every string from the file (headers, values) is written as an escaped TOML basic string, and every
comment is kept on one line, so a header such as `Supplier "Name"\\n` cannot break the block. The
block loads with audit.settings as it is; unmapped required fields are loud comments, not keys,
so the load then fails on them with the connector's own message.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import Suggestion

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_str(text: str) -> str:
    """A TOML basic string (escapes quotes, backslashes and every control character)."""
    out = []
    for ch in str(text):
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F or ch in "\u2028\u2029":
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _comment(text: str) -> str:
    """One comment line: no control characters (they would end the comment or be invalid TOML)."""
    return "".join(" " if (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F or c in "\u2028\u2029" else c
                   for c in text)


def _header_comments(s: "Suggestion") -> list[str]:
    p = s.plan
    where = (f"header on line {p.skip_rows + 1}" if p.kind == "csv"
             else f"header on sheet row {p.skip_rows + 1}")
    lines = [f"Suggested by `integrity-audit sources suggest` for register {s.register.name}: check "
             "every line, then paste it into config.toml.",
             "`path` is as given on the command line; in config.toml a relative path is relative to "
             "the config file's folder.",
             f"File: {p.kind}, {s.rows:,} data rows ({s.sampled:,} sampled), {where}."]
    if p.kind == "csv":
        delimiter = "tab" if p.delimiter == "\t" else repr(p.delimiter)
        lines.append(f"Encoding: {p.encoding_note}. Delimiter: {delimiter}.")
    else:
        sheets = ", ".join(f"{toml_str(n)} ({r:,} rows)" for n, r in p.sheets)
        lines.append(f"Sheets: {sheets}; using {toml_str(p.sheet)}.")
    lines += [f"CHECK: {note}" for note in s.checks.get("", [])]
    return [f"# {_comment(line)}" for line in lines]


def _file_keys(s: "Suggestion") -> list[str]:
    p = s.plan
    out = [f"name = {toml_str(s.name)}", f"register = {toml_str(s.register.name)}",
           f"kind = {toml_str(p.kind)}", f"path = {toml_str(s.path_text)}"]
    if p.kind == "csv":
        out.append(f"encoding = {toml_str(p.encoding)}")
        if p.delimiter != ",":
            out.append(f"delimiter = {toml_str(p.delimiter)}")
    else:
        out.append(f"sheet = {toml_str(p.sheet)}")
    out.append(f"skip_rows = {p.skip_rows}")
    if s.row_id:
        out.append(f"row_id = {toml_str(s.row_id)}  # {_comment(s.row_id_reason)}")
    for fname, headers in s.composite_alternative.items():
        out.append(f"# or, if the export may be sorted differently: composite = {{ {fname} = ["
                   + ", ".join(_comment(toml_str(h)) for h in headers) + "] }  (unique in this file; "
                   f"then remove row_id)")
    out.append('duplicate_keys = "quarantine"  # a row repeating an earlier row\'s key is quarantined, '
               'with the reason')
    if s.date_formats:
        out.append("date_formats = [" + ", ".join(map(toml_str, s.date_formats)) + "]")
    elif p.kind == "xlsx" and any(c.field.type == "date" for c in s.candidates):
        out.append("# date_formats: the date cells are real Excel dates; formats are only needed "
                   "for dates typed as text")
    return out


def _checks(s: "Suggestion", header: str) -> list[str]:
    return [f"#   CHECK: {_comment(note)}" for note in s.checks.get(header, [])]


def _closest(s: "Suggestion", fields: list[str]) -> str:
    """"; closest column: ..." for the best column left unmapped, if any looks at all like it."""
    found = [s.closest[f] for f in fields if f in s.closest]
    if not found:
        return ""
    best = max(found, key=lambda c: c.score)
    return f"; closest column: {_comment(toml_str(best.column.header))} ({best.score:.0f})"


def _columns_table(s: "Suggestion") -> list[str]:
    out = ["[sources.columns]"]
    for c in s.candidates:
        header = c.column.header
        if header not in s.columns:
            continue  # split by `extract` instead
        out.append(f"{toml_str(header)} = {toml_str(c.field.name)}  "
                   f"# {_comment(f'{c.score:.0f}: {c.reason}')}")
        out += _checks(s, header)
    for fname in s.missing_required:
        label = s.register.fields[fname].label
        out.append(f"# REQUIRED: map a column to {fname} ({_comment(label)}) or the load will fail"
                   + _closest(s, [fname]))
        values = s.register.fields[fname].values
        if values:  # a register that holds one kind of entry names it nowhere: a default says it
            out.append(f"#   or, if every row is the same, add above [sources.columns]: "
                       f"defaults = {{ {fname} = {toml_str(values[0])} }}  (one of {', '.join(values)})")
    for group in s.missing_groups:
        out.append(f"# REQUIRED: map a column to one of {', '.join(group)} or the load will fail"
                   + _closest(s, list(group)))
    for header, best in s.unmatched:
        closest = (f" (closest: {best.field.name}, {best.score:.0f})" if best is not None else "")
        out.append(f"# not mapped: {_comment(toml_str(header))}{closest}")
    for header in s.ignored_headers:
        out.append(f"# not mappable (blank or repeated header): {_comment(toml_str(header))}")
    return out


def to_toml(s: "Suggestion") -> str:
    """The `[[sources]]` block (with its comments), ending in a newline."""
    lines = _header_comments(s) + ["[[sources]]"] + _file_keys(s) + [""] + _columns_table(s)
    if s.extract:
        lines += ["", "[sources.extract]"]
        for header, pattern in s.extract.items():
            lines.append(f"{toml_str(header)} = {toml_str(pattern)}  "
                         f"# {_comment(s.extract_reasons.get(header, ''))}")
            lines += _checks(s, header)
    for fname, vmap in s.values.items():
        lines += ["", f"[sources.values.{fname}]"]
        how = s.value_reasons.get(fname, {})
        lines += [f"{toml_str(src)} = {toml_str(dst)}  # {_comment(how.get(src, ''))}"
                  for src, dst in vmap.items()]
    return "\n".join(lines) + "\n"


def to_dict(s: "Suggestion") -> dict[str, Any]:
    """The same suggestion as data (the --json output, without the dry run)."""
    p = s.plan
    columns = [{"header": c.column.header, "field": c.field.name, "score": round(c.score, 1),
                "reason": c.reason, "checks": s.checks.get(c.column.header, []),
                "extract": s.extract.get(c.column.header)} for c in s.candidates]
    return {
        "register": s.register.name, "name": s.name,
        "file": {"path": s.path_text, "kind": p.kind, "encoding": p.encoding if p.kind == "csv" else None,
                 "encoding_note": p.encoding_note or None, "delimiter": p.delimiter if p.kind == "csv" else None,
                 "skip_rows": p.skip_rows, "sheet": p.sheet,
                 "sheets": [{"name": n, "rows": r} for n, r in p.sheets], "rows": s.rows, "sampled": s.sampled},
        "columns": columns,
        "mapping": {"columns": s.columns, "extract": s.extract, "values": s.values,
                    "date_formats": s.date_formats, "row_id": s.row_id, "duplicate_keys": "quarantine"},
        "composite_alternative": s.composite_alternative,
        "unmatched": [{"header": h, "closest_field": b.field.name if b else None,
                       "score": round(b.score, 1) if b else None} for h, b in s.unmatched],
        "ignored_headers": s.ignored_headers,
        "missing_required": s.missing_required,
        "closest_columns": {f: {"header": c.column.header, "score": round(c.score, 1)}
                            for f, c in s.closest.items()
                            if f in s.missing_required or any(f in g for g in s.missing_groups)},
        "missing_one_of": [list(g) for g in s.missing_groups],
        "checks": s.checks,
        "complete": s.complete,
        "toml": to_toml(s),
    }
