"""Strict loading: hostile and ambiguous YAML is refused with file:line:col, plain data survives."""
from __future__ import annotations

import re

import pytest

from rules.loader import MAX_FILE_BYTES, RuleLoadError, load_file, load_text

LOCATED = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): ")


def error_of(text: str, file: str = "bad.yaml") -> tuple[int, int, str]:
    with pytest.raises(RuleLoadError) as exc:
        load_text(text, file)
    m = LOCATED.match(str(exc.value))
    assert m and m["file"] == file, str(exc.value)
    return int(m["line"]), int(m["col"]), str(exc.value)


def test_python_object_tag_refused_at_its_position():
    line, col, msg = error_of("name: x\nrun: !!python/object/apply:os.system ['echo pwned']\n")
    assert (line, col) == (2, 6) and "tags are not allowed" in msg


@pytest.mark.parametrize("text", ["a: !!str 5\n", "a: !custom x\n", "a: !!binary aGVsbG8=\n"])
def test_every_tag_refused(text):
    assert "tags are not allowed" in error_of(text)[2]


def test_billion_laughs_anchors_refused_before_expansion():
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in "bcdefghi":
        prev = chr(ord(i) - 1)
        text += f"{i}: &{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
    line, col, msg = error_of(text)
    assert (line, col) == (1, 4) and "anchors and aliases" in msg


def test_duplicate_key_names_both_lines():
    line, col, msg = error_of("id: a\nname: x\ninputs:\n  g: {register: r}\nname: y\n")
    assert (line, col) == (5, 1) and "duplicate key 'name'" in msg and "line 2" in msg


def test_nested_duplicate_key():
    line, _, msg = error_of("inputs:\n  gift:\n    where:\n      outcome|eq: a\n      outcome|eq: b\n")
    assert line == 5 and "duplicate key 'outcome|eq'" in msg


def test_ten_megabyte_string_refused_as_file_too_large(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("title: " + "x" * 10_000_000 + "\n")
    with pytest.raises(RuleLoadError) as exc:
        load_file(path)
    assert str(exc.value).startswith(f"{path}:1:1:") and f"{MAX_FILE_BYTES:,}" in str(exc.value)


def test_long_string_under_the_file_limit_refused_at_its_position():
    line, col, msg = error_of("name: x\ndescription: " + "y" * 50_000 + "\n")
    assert (line, col) == (2, 14) and "limit is 10,000" in msg


def test_yaml_1_2_scalars_stay_what_the_author_wrote():
    doc = load_text("a: no\nb: yes\nc: '012345'\nd: 2026-11-26\ne: off\nf: 012345\ng: true\nh: 1.5\n")
    assert doc.data == {"a": "no", "b": "yes", "c": "012345", "d": "2026-11-26", "e": "off",
                        "f": 12345, "g": True, "h": 1.5}


def test_positions_kept_for_nested_nodes():
    doc = load_text("inputs:\n  gift:\n    register: gifts\n    where:\n      outcome|eq: accepted\n")
    assert doc.where(("inputs", "gift", "where", "outcome|eq")) == (5, 7)
    assert doc.where(("inputs", "gift", "nothing", "deeper")) == (2, 3)  # nearest ancestor


@pytest.mark.parametrize("text,needle", [
    ("a: [1, 2\nb: 3\n", "not valid YAML"),
    ("a: 1\n---\nb: 2\n", "exactly one YAML document"),
    ("- a\n- b\n", "must be a mapping"),
    ("", "empty"),
    ("a: .inf\n", "infinity"),
    ("? [a, b]\n: c\n", "plain strings"),
])
def test_other_bad_documents(text, needle):
    assert needle in error_of(text)[2]


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("title: caf\xe9\n".encode("latin-1"))
    with pytest.raises(RuleLoadError, match=r":1:1: not UTF-8"):
        load_file(path)
