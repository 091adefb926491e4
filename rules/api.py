"""The rules facade: load (strict YAML -> schema -> model -> semantic checks), compile, evaluate.

    rules, problems = load_rules([Path("rules/library")])
    compiled = [compile_rule(r) for r in rules]
    evaluation = evaluate(compiled, frames, Period.parse("2026-10"), params_overrides, engine="durable")

A rule with any error is left out of `rules` and its problems are returned (never silently).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from rules.compiler import CompiledRule, compile_rule
from rules.evaluate import Evaluation, EvaluationError, RuleStats, evaluate
from rules.loader import Problem, RuleLoadError, load_file
from rules.model import Rule, from_document
from rules.validate import cross_rule_problems, schema_problems, semantic_problems

LIBRARY = Path(__file__).resolve().parent / "library"
RULE_SUFFIXES = (".yaml", ".yml")


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """Rule files under each path (a folder is searched recursively; a file is taken as is)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.suffix in RULE_SUFFIXES and f.is_file())
        elif p.is_file():
            out.append(p)
    return out


def load_rule(path: str | Path) -> tuple[Rule | None, list[Problem]]:
    """One rule file -> (the rule, or None if it has an error; every problem found).

    Never raises for a bad file: whatever goes wrong while loading or checking it (even an error
    of this code) comes back as a problem naming the file, so one file cannot stop the others."""
    try:
        return _load_rule(path)
    except Exception as e:  # noqa: BLE001 - a bad rule file is a problem, never a traceback
        return None, [Problem(str(path), 1, 1, f"could not be checked ({type(e).__name__}: "
                                               f"{str(e)[:200] or 'no detail'}); the rule is left out")]


def _load_rule(path: str | Path) -> tuple[Rule | None, list[Problem]]:
    try:
        doc = load_file(path)
    except RuleLoadError as e:
        return None, [e.problem]
    problems = schema_problems(doc)
    if problems:
        return None, problems
    rule = from_document(doc)
    problems = semantic_problems(rule)
    errors = [p for p in problems if p.severity == "error"]
    return (None if errors else rule), problems


def load_rules(folders: Iterable[str | Path]) -> tuple[list[Rule], list[Problem]]:
    """Every rule under the folders, and every problem found (errors and warnings)."""
    folders = list(folders)
    rules: list[Rule] = []
    problems: list[Problem] = []
    for p in map(Path, folders):
        if not p.exists():
            problems.append(Problem(str(p), 1, 1, "rule folder or file does not exist"))
    for path in rule_files(folders):
        rule, found = load_rule(path)
        problems += found
        if rule is not None:
            rules.append(rule)
    duplicates = list(cross_rule_problems(rules))
    if duplicates:
        problems += duplicates
        bad = {(p.file) for p in duplicates}
        rules = [r for r in rules if r.file not in bad]
    return rules, problems


__all__ = ["CompiledRule", "Evaluation", "EvaluationError", "Problem", "Rule", "RuleStats", "compile_rule",
           "evaluate", "load_rule", "load_rules", "rule_files", "LIBRARY"]
