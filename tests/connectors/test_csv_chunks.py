"""A CSV file read in chunks (csv_source.tables, as the streamed access log is read) gives exactly the
rows, row numbers, row errors, warnings and refusals of the file read whole, at any chunk size."""
from __future__ import annotations

import random
import re

import pytest

from connectors import csv_source
from connectors.config import SourceConfig
from connectors.frame import SourceError


def _source(**kw) -> SourceConfig:
    return SourceConfig(**{"name": "log", "register": "system_access", "kind": "csv", "path": "log.csv", **kw})


def _read(tmp_path, text: str, size: int | None, **kw):
    (tmp_path / "log.csv").write_text(text, encoding="utf-8", newline="")
    f = csv_source.open_file(_source(**kw), tmp_path / "log.csv", tmp_path)
    got = list(csv_source.tables(f, size))
    rows = [r for t in got for r in t.rows]
    numbers = [n for t in got for n in t.row_numbers]
    errors = {numbers[sum(len(x.rows) for x in got[:i]) + p]: why
              for i, t in enumerate(got) for p, why in t.row_errors.items()}
    return rows, numbers, errors, f.warnings, f.info.rows, len(got)


def _messy(seed: int) -> str:
    """Header, preamble-free, with blank lines, short and long records, quoted cells holding the
    delimiter, doubled quotes and line breaks."""
    rnd = random.Random(seed)
    lines = ["Audit Ref,User,Date,Note"]
    for i in range(rnd.randint(5, 60)):
        kind = rnd.random()
        if kind < 0.08:
            lines.append("")
        elif kind < 0.16:
            lines.append(f"A{i},U1")  # short
        elif kind < 0.22:
            lines.append(f"A{i},U1,01/10/2026,x,spill")  # long: a row error
        elif kind < 0.35:
            lines.append(f'A{i},U2,01/10/2026,"two\nlines, and ""quotes"""')
        else:
            lines.append(f"A{i},U{rnd.randint(1, 9)},0{rnd.randint(1, 9)}/10/2026,plain")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(8))
def test_chunks_read_what_the_whole_file_reads(tmp_path, seed):
    text = _messy(seed)
    whole = _read(tmp_path, text, None)
    assert whole[5] == 1
    for size in (1, 2, 3, 7):
        chunked = _read(tmp_path, text, size)
        assert chunked[:5] == whole[:5], size
        assert chunked[5] == max(1, -(-len(whole[0]) // size))  # chunks of `size` rows, none empty


def test_preamble_and_header_only_files(tmp_path):
    text = "Exported 01/11/2026\nby the audit system\nAudit Ref,User,Date\nA1,U1,01/10/2026\n"
    assert _read(tmp_path, text, 1, skip_rows=2)[:2] == ([["A1", "U1", "01/10/2026"]], [4])
    rows, _, _, _, n, tables = _read(tmp_path, "Audit Ref,User,Date\n", 1)
    assert (rows, n, tables) == ([], 0, 1)  # a header-only file is one empty table, as read whole


@pytest.mark.parametrize("text, says", [
    ("Audit Ref,User,Date\nA1,U1,01/10/2026\nA2,U2", "the last record (line 3) has 2 of 3 cells"),
    ('Audit Ref,User,Note\nA1,U1,"open\nA2,U2,x"y\nA3,U3,z\n', "runs on to line 3"),
    ('Audit Ref,User,Note\nA1,U1,"never closed\nA2,U2,x\n', "never closed"),
])
def test_refusals_are_the_same_at_any_chunk_size(tmp_path, text, says):
    messages = set()
    for size in (None, 1, 2):
        with pytest.raises(SourceError, match=re.escape(says)) as err:
            _read(tmp_path, text, size)
        messages.add(str(err.value))
    assert len(messages) == 1


@pytest.mark.parametrize("text", ["", "a", "a\n", "a\r\nb\rc\nd", "\n\n\r\r\n", 'x,"multi\rline\r\ncell",y\r\nz',
                                  "tail\r", "a\n\rb"])
def test_the_reader_sees_the_lines_a_stringio_would_give(text):
    """The csv module reads the text line by line without a StringIO copy of it (4 bytes a character)."""
    import io

    assert list(csv_source._physical_lines(text)) == list(io.StringIO(text, newline=""))
