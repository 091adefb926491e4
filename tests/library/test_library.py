"""The shipped rule library (rules/library): completeness, metadata quality and embedded tests.

Every rule must load and validate with zero problems, carry the metadata a reviewer relies on
(cited references, concrete false positives, described params, a runbook), and its embedded
tests (positive, negative, boundary) must pass on both engines with identical findings.
"""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from rules.api import LIBRARY, compile_rule, load_rules, rule_files
from rules.evaluate import evaluate_rule
from rules.testing import ENGINES, default_period, frames_from_given, run_rule_tests

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "docs" / "rule-catalogue.md"
LIBRARY_DOC = ROOT / "docs" / "rule-library.md"
AREAS = {"gifts", "interests", "associations", "expenses", "procurement", "vetting", "cross", "ledger", "access"}
SCHEMA_LINE = "# yaml-language-server: $schema=../../schema/rule.schema.json"

RULES, PROBLEMS = load_rules([LIBRARY])
BY_NAME = {r.name: r for r in RULES}


def catalogue_names() -> list[str]:
    """Rule names from the table in docs/rule-catalogue.md (| area | rule name | match | ...)."""
    names = []
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0] in AREAS and re.fullmatch(r"[a-z][a-z0-9_]+", cells[1]):
            names.append(cells[1])
    return names


def test_library_loads_with_zero_problems():
    assert PROBLEMS == [], "\n".join(str(p) for p in PROBLEMS)
    files = rule_files([LIBRARY])
    assert len(RULES) == len(files), "every rule file must load into a rule"


def test_library_has_at_least_30_rules_in_every_area():
    assert len(RULES) >= 30
    areas = {Path(r.file).parent.name for r in RULES}
    assert areas == AREAS


def test_every_catalogue_rule_is_shipped_under_its_exact_name():
    names = catalogue_names()
    assert len(names) >= 30, "could not read the catalogue table"
    missing = sorted(set(names) - set(BY_NAME))
    assert missing == []


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_metadata_is_complete(rule):
    path = Path(rule.file)
    assert path.stem == rule.name and path.parent.name in AREAS
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == SCHEMA_LINE
    assert re.search(r"^schema_version: 1$", text, flags=re.M)
    assert uuid.UUID(rule.id).version == 4
    assert rule.author == "integrity-audit" and rule.date and rule.modified
    assert rule.status in ("stable", "test", "experimental", "shadow")  # shadow: evaluated, raises no alert
    assert rule.references and all(len(r) > 10 for r in rule.references)
    assert rule.falsepositives and all(len(f) > 15 for f in rule.falsepositives)
    assert len(rule.description.split()) >= 25, "the description must say what and why"
    registers = {i.register for i in rule.inputs.values()}
    assert registers <= set(rule.tags), f"tags must name the registers {sorted(registers)}"
    assert path.parent.name in rule.tags or "cross_register" in rule.tags
    assert rule.alert.runbook and len(rule.alert.runbook.split()) >= 12
    assert rule.alert.subject and rule.alert.dedup and rule.alert.fields
    for p in rule.params.values():
        assert p.description and len(p.description) > 15, f"param {p.name} needs a description"


def test_rule_ids_are_unique():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_has_positive_negative_and_boundary_tests(rule):
    assert any(t.expect for t in rule.tests), "needs a positive test"
    assert any(not t.expect for t in rule.tests), "needs a negative test"
    assert any("boundary" in t.name.lower() for t in rule.tests), "needs a boundary test"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_embedded_tests_pass_on_both_engines(rule):
    outcomes = run_rule_tests(rule, ENGINES)
    assert len(outcomes) == len(rule.tests) * len(ENGINES)
    failed = [f"{o.engine}: {o.test}: {o.detail} ({o.location})" for o in outcomes if not o.passed]
    assert failed == []


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_engines_agree_on_everything_a_reviewer_sees(rule):
    """Same facts, titles, subjects, dedup keys, values and as-of dates from both engines."""
    compiled = compile_rule(rule)
    for t in rule.tests:
        frames = frames_from_given(rule, t.given)
        period = default_period(rule, t)
        out = {}
        for engine in ENGINES:
            findings, _ = evaluate_rule(compiled, frames, period, t.params, engine)
            out[engine] = [(f.key(), f.title, f.subject, f.dedup, f.as_of, sorted(f.values.items(), key=str))
                           for f in findings]
        assert out["durable"] == out["reference"], t.name


def test_library_doc_lists_every_rule():
    text = LIBRARY_DOC.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([a-z0-9_]+)` \|", text, flags=re.M))
    assert listed == set(BY_NAME)
