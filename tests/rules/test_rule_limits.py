"""Bounded rule loading: a hostile rule file is refused fast, at file:line:col, and never takes the
other rules (or `rules validate`, or a monthly run) down with it.

Limits (rules/loader.py): MAX_FILE_BYTES (checked before reading), MAX_DEPTH and MAX_NODES (checked
on the YAML event stream, before any node is composed), plus the existing refusal of tags, anchors
and aliases. Each refusal is a Problem at the place the limit was crossed.
"""
from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from audit.cli import app
from rules.api import load_rule, load_rules
from rules.loader import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, RuleLoadError, load_text

ROOT = Path(__file__).resolve().parents[2]
GOOD = Path(__file__).parent / "fixtures" / "good" / "gift_from_recent_supplier.yaml"
# Not a speed target (those are measured by benchmarks, not asserted): a guard against the hang these
# files used to cause (the 400,000-deep list took about 469 s), loose enough for a loaded CI machine.
FAST = 20.0
runner = CliRunner()


def _deep_list(n: int) -> str:
    return "a: " + "[" * n + "]" * n + "\n"


def _deep_flow_map(n: int) -> str:
    return "a: " + "{a: " * n + "1" + "}" * n + "\n"


def _deep_block_map(n: int) -> str:
    return "".join("  " * i + "a:\n" for i in range(n)) + "  " * n + "1\n"


def _deep_block_seq(n: int) -> str:
    return "a:\n" + "- " * n + "x\n"


def _laughs() -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in "bcdefghi":
        prev = chr(ord(i) - 1)
        text += f"{i}: &{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
    return text


def _many_nodes(n: int) -> str:
    return "a: [" + ",".join("1" for _ in range(n)) + "]\n"


#: name -> (text, the message, the (line, col) where the limit is crossed or None to skip that check)
HOSTILE = {
    "list_1000_deep": (_deep_list(1_000), f"nested deeper than {MAX_DEPTH} levels", (1, 3 + MAX_DEPTH)),
    "list_100000_deep": (_deep_list(100_000), f"nested deeper than {MAX_DEPTH} levels", (1, 3 + MAX_DEPTH)),
    "list_400000_deep": (_deep_list(400_000), "the limit is", (1, 1)),  # 800 KB: refused by its size
    "flow_map_deep": (_deep_flow_map(5_000), f"nested deeper than {MAX_DEPTH} levels", (1, 4 * MAX_DEPTH)),
    "block_map_deep": (_deep_block_map(300), f"nested deeper than {MAX_DEPTH} levels",
                       (MAX_DEPTH + 1, 2 * MAX_DEPTH + 1)),
    "block_seq_deep": (_deep_block_seq(5_000), f"nested deeper than {MAX_DEPTH} levels", (2, 2 * MAX_DEPTH - 1)),
    "complex_keys_deep": ("? " * 5_000 + "x\n", f"nested deeper than {MAX_DEPTH} levels", None),
    "billion_laughs": (_laughs(), "anchors and aliases", (1, 4)),
    "many_nodes": (_many_nodes(MAX_NODES + 5_000), f"more than {MAX_NODES:,} YAML nodes", None),
    "ten_megabytes": ("title: " + "x" * 10_000_000 + "\n", "the limit is", (1, 1)),
    "python_tag": ("name: x\nrun: !!python/object/apply:os.system ['echo pwned']\n", "tags are not allowed", (2, 6)),
    "yaml_1_1_directive": ("%YAML 1.1\n---\nname: no\n", "directives", (1, 1)),
    "tag_directive": ("%TAG !e! tag:example.com,2000:\n---\nname: !e!x y\n", "directives", (1, 1)),
    "nul_and_garbage": ("a: \x00\x01\x02[[[{{{\n", "", None),
    "unclosed_flow": ("a: " + "[" * 20 + "\n", "not valid YAML", None),
}


def _located(problem) -> tuple[int, int]:
    return problem.line, problem.col


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_rule_file_is_one_problem_fast_and_the_other_rules_still_load(name, tmp_path):
    text, needle, where = HOSTILE[name]
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(GOOD, folder / GOOD.name)
    bad = folder / f"{name}.yaml"
    bad.write_text(text, encoding="utf-8")

    started = time.perf_counter()
    rules, problems = load_rules([folder])
    took = time.perf_counter() - started

    assert took < FAST, f"{name}: {took:.2f}s"
    assert [r.name for r in rules] == ["gift_from_recent_supplier"]
    mine = [p for p in problems if p.file == str(bad) and p.severity == "error"]
    assert len(mine) == 1, [str(p) for p in problems]
    assert needle in mine[0].message, str(mine[0])
    if where is not None:
        assert _located(mine[0]) == where, str(mine[0])
    assert re.match(rf"^{re.escape(str(bad))}:\d+:\d+: ", str(mine[0]))


@pytest.mark.parametrize("name", ["list_400000_deep", "list_100000_deep", "ten_megabytes", "many_nodes"])
def test_the_biggest_refusals_do_not_hang(name, tmp_path):
    path = tmp_path / f"{name}.yaml"
    path.write_text(HOSTILE[name][0], encoding="utf-8")
    started = time.perf_counter()
    rule, problems = load_rule(path)
    took = time.perf_counter() - started
    assert rule is None and problems and took < FAST, f"{took:.3f}s"


def test_limits_leave_room_for_every_shipped_rule():
    from ruamel.yaml import YAML
    from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent, NodeEvent

    y = YAML(typ="safe", pure=True)
    worst = [0, 0, 0]
    for f in sorted((ROOT / "rules" / "library").rglob("*.yaml")):
        text = f.read_text(encoding="utf-8")
        depth = deepest = nodes = 0
        for ev in y.parse(text):
            nodes += isinstance(ev, NodeEvent)
            depth += isinstance(ev, CollectionStartEvent) - isinstance(ev, CollectionEndEvent)
            deepest = max(deepest, depth)
        worst = [max(worst[0], len(text.encode())), max(worst[1], deepest), max(worst[2], nodes)]
    # at least ten times the largest, deepest and biggest shipped rule
    assert worst[0] * 10 <= MAX_FILE_BYTES and worst[1] * 4 <= MAX_DEPTH and worst[2] * 10 <= MAX_NODES, worst


def test_just_under_the_limits_loads_as_data():
    deep = "a: " + "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1) + "\n"
    doc = load_text(deep, "ok.yaml")
    value = doc.data["a"]
    for _ in range(MAX_DEPTH - 2):
        value = value[0]
    assert value == [1]
    many = "a: [" + ",".join("1" for _ in range(MAX_NODES - 3)) + "]\n"
    assert len(load_text(many, "ok.yaml").data["a"]) == MAX_NODES - 3
    with pytest.raises(RuleLoadError, match="more than"):
        load_text("a: [" + ",".join("1" for _ in range(MAX_NODES - 2)) + "]\n", "no.yaml")


def test_load_text_refuses_a_large_text_before_parsing():
    started = time.perf_counter()
    with pytest.raises(RuleLoadError, match=f"{MAX_FILE_BYTES:,}"):
        load_text(_deep_list(400_000), "big.yaml")
    assert time.perf_counter() - started < FAST


def test_an_unexpected_error_in_a_later_stage_is_a_problem_not_a_traceback(tmp_path, monkeypatch):
    import rules.api as api

    def boom(rule):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(api, "semantic_problems", boom)
    shutil.copy(GOOD, tmp_path / GOOD.name)
    rules, problems = load_rules([tmp_path])
    assert rules == [] and len(problems) == 1
    assert str(problems[0]).startswith(f"{tmp_path / GOOD.name}:1:1: ")
    assert "RecursionError" in problems[0].message


@pytest.mark.parametrize("name", ["list_1000_deep", "list_100000_deep", "list_400000_deep", "billion_laughs",
                                  "ten_megabytes", "python_tag"])
def test_cli_validate_names_the_file_and_exits_1_without_a_traceback(name, tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(GOOD, folder / GOOD.name)
    bad = folder / f"{name}.yaml"
    bad.write_text(HOSTILE[name][0], encoding="utf-8")
    started = time.perf_counter()
    result = runner.invoke(app, ["rules", "validate", str(folder)])
    took = time.perf_counter() - started
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    out = result.output.replace("\n", "")
    assert "Traceback" not in out and f"{bad}:" in out
    assert HOSTILE[name][1] in out
    assert "2 file(s), 1 valid rule(s), 1 error(s)" in out
    assert took < FAST, f"{took:.2f}s"


def test_a_run_with_a_hostile_force_rule_still_runs_the_library_and_names_the_file(tmp_path):
    """The bundled sample, with a force rule folder holding one hostile file: the run is partial
    (a rule file has an error), the library's rules all run and raise what they raise without it, and
    the run's note names the file at the line and column where the limit was crossed."""
    from audit import settings as settings_mod
    from audit.period import Period
    from audit.pipeline import run_period

    def home(name: str, hostile: bool) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(ROOT / "config.toml", folder / "config.toml")
        shutil.copytree(ROOT / "sample", folder / "sample")
        (folder / "myrules").mkdir()
        if hostile:
            (folder / "myrules" / "deep.yaml").write_text(_deep_list(1_000), encoding="utf-8")
        return folder

    def run(folder: Path):
        settings = settings_mod.load(folder / "config.toml")
        settings.rules.folders = ["myrules"]
        return run_period(settings, Period(2026, 10), engine="reference", publish=False)

    clean = run(home("clean", hostile=False))
    hostile_home = home("hostile", hostile=True)
    outcome = run(hostile_home)

    assert clean.status == "succeeded", clean.error
    assert outcome.status == "partial"
    where = f"{hostile_home / 'myrules' / 'deep.yaml'}:1:{3 + MAX_DEPTH}: nested deeper than {MAX_DEPTH} levels"
    assert where in outcome.error
    assert [str(p) for p in outcome.rule_problems if p.severity == "error"] == [where]
    assert outcome.summary.counts["rules_evaluated"] == clean.summary.counts["rules_evaluated"] > 0

    def raised(o):
        return sorted((f.rule_name, tuple(map(str, f.dedup))) for f in o.evaluation.findings)

    assert raised(outcome) == raised(clean) and raised(clean)
