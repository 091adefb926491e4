"""Schema and semantic validation: every problem is collected and located as file:line:col."""
from __future__ import annotations

from pathlib import Path

from rules.api import load_rule, load_rules

FIX = Path(__file__).parent / "fixtures"


def messages(problems) -> list[str]:
    return [f"{p.line}:{p.message}" for p in problems if p.severity == "error"]


def test_good_rule_loads_without_problems():
    rules, problems = load_rules([FIX / "good"])
    assert [r.name for r in rules] == ["gift_from_recent_supplier"] and problems == []


def test_schema_problems_all_collected_with_lines():
    rule, problems = load_rule(FIX / "bad" / "schema_problems.yaml")
    assert rule is None
    text = "\n".join(str(p) for p in problems)
    for needle, line in [("schema_version", 1), ("id", 2), ("status", 6), ("outcome|like", 12), ("extra", 13),
                         ("dedup", 14), ("surprise", 16)]:
        assert any(needle in p.message and p.line == line for p in problems), (needle, line, text)
    assert all(str(p).startswith(str(FIX / "bad" / "schema_problems.yaml") + ":") for p in problems)


def test_semantic_problems_all_collected():
    rule, problems = load_rule(FIX / "bad" / "many_problems.yaml")
    assert rule is None
    got = messages(problems)
    expected = [
        (3, "must equal the file name"),
        (12, "'maybe' is not one of accepted, declined"),
        (13, "param 'undefined_param' is not defined"),
        (14, "has no field 'no_such_field'"),
        (15, "write it as YYYY-MM-DD"),
        (19, "ids are strings: quote it"),
        (23, "joined keys have different types"),
        (24, "purchase.net_amount is money, not a date"),
        (27, "compared types disagree"),
        (31, "has no field 'nope'"),
        (31, "param 'missing' is not defined"),
        (31, "alias 'other' must be one of"),
        (34, "at least one positive case"),
        (37, "record_id is string; got int 7"),
        (38, "index out of range"),
    ]
    for line, needle in expected:
        assert any(g.startswith(f"{line}:") and needle in g for g in got), (line, needle, got)
    warnings = [p for p in problems if p.severity == "warning"]
    assert any("'unused' is defined but never used" in p.message for p in warnings)


def test_duplicate_ids_across_folders_are_errors():
    rules, problems = load_rules([FIX / "dup_a", FIX / "dup_b"])
    dup = [p for p in problems if "duplicate rule id" in p.message]
    assert len(dup) == 1 and dup[0].line == 3 and "also in" in dup[0].message
    assert [r.name for r in rules] == ["gift_from_recent_supplier"]  # the second copy is refused


def test_duplicate_names_across_folders_are_errors():
    rules, problems = load_rules([FIX / "good", FIX / "dup_a"])
    assert any("duplicate rule name 'gift_from_recent_supplier'" in p.message for p in problems)


def test_missing_folder_is_reported():
    _, problems = load_rules([FIX / "no_such_folder"])
    assert problems and "does not exist" in problems[0].message


def test_match_kind_constraints(tmp_path):
    src = (FIX / "good" / "gift_from_recent_supplier.yaml").read_text()
    path = tmp_path / "gift_from_recent_supplier.yaml"
    path.write_text(src.replace("  on:\n    supplier: {gift: org_key, purchase: org_key}\n", "  on: {}\n"))
    _, problems = load_rule(path)
    assert [(p.line, p.message) for p in problems] == [(28, "match.on: {} should be non-empty")]
    path.write_text(src.replace("order: any", "order: fixed"))
    _, problems = load_rule(path)
    assert any("order: fixed needs first and then" in p.message for p in problems)
    path.write_text(src.replace("purchase: transaction_date}", "purchase: net_amount}"))
    _, problems = load_rule(path)
    assert any("purchase.net_amount is money, not a date" in p.message for p in problems)
    bad2 = src.replace("kind: sequence", "kind: single").replace("  on:\n    supplier: {gift: org_key, purchase: org_key}\n", "") \
              .replace("  dates: {gift: offered_date, purchase: transaction_date}\n", "") \
              .replace("  within_days: {param: window_days}\n", "").replace("  order: any\n", "")
    path.write_text(bad2)
    _, problems = load_rule(path)
    assert any("takes exactly one input (found 2)" in p.message for p in problems), [str(p) for p in problems]


def test_levels_are_the_schemas_most_severe_first():
    """One list of alert levels (rules.model.LEVELS) orders the queue, the report and reliance: it must
    hold exactly the schema's levels, most severe first."""
    import json

    from rules.model import LEVELS

    schema = json.loads((Path(__file__).resolve().parents[2] / "rules" / "schema" / "rule.schema.json").read_text())
    assert set(LEVELS) == set(schema["properties"]["level"]["enum"]) and len(LEVELS) == len(set(LEVELS))
    assert LEVELS[0] == "critical" and LEVELS[-1] == "informational"


ACCESS = Path(__file__).parents[2] / "rules" / "library" / "access"
LIBRARY_NWR = ACCESS / "access_no_work_reason.yaml"
LIBRARY_PEERS = ACCESS / "access_peer_trawling.yaml"


def _edited(tmp_path, rule_file: Path, old: str, new: str) -> list[str]:
    """The errors of a library rule with `old` replaced by `new` (under its own file name)."""
    text = rule_file.read_text()
    assert old in text
    path = tmp_path / rule_file.name
    path.write_text(text.replace(old, new, 1))
    return messages(load_rule(path)[1])


def _variant(tmp_path, old: str, new: str) -> list[str]:
    return _edited(tmp_path, LIBRARY_NWR, old, new)


def test_absent_with_several_present_and_missing_inputs_is_valid():
    rule, problems = load_rule(LIBRARY_NWR)
    assert rule is not None and messages(problems) == []
    assert rule.match.present == ("view", "victim")
    assert rule.match.missing == (("link",), ("unit",), ("managed_link", "managed"), ("mate_link", "mate", "me"))


def test_absent_shapes_that_cannot_be_evaluated_are_errors(tmp_path):
    # an input left out of present / missing, or named twice
    assert any("must share out the inputs" in m for m in _variant(tmp_path, "    - unit  ", "    - link  "))
    # a key naming one input
    key = "user: {view: person_key, link: person_key, unit: person_key}"
    assert any("names one input" in m for m in _variant(tmp_path, key, key + "\n    lone: {view: person_id}"))
    # a missing input no key ties to the present rows or to its group
    assert any("missing input 'unit' shares no key" in m
               for m in _variant(tmp_path, key, "user: {view: person_key, link: person_key}"))
    # a key between two missing groups that names no present input
    assert any("joins two missing groups and no present input" in m
               for m in _variant(tmp_path, key, key + "\n    odd: {link: person_key, unit: person_key}"))
    # present inputs in an order that cannot be joined
    assert any("present input 'victim' shares no key" in m for m in _variant(
        tmp_path, "record: {view: record_id, victim: record_id, link: record_id}", "record: {view: record_id, link: record_id}"))
    # a compare between two missing groups
    assert any("cannot relate two missing groups" in m for m in _variant(
        tmp_path, "right: victim.owning_unit}", "right: link.owning_unit}"))
    # alert fields of a missing input (it has no row in a finding)
    assert any("alias must be one of view, victim" in m for m in _variant(
        tmp_path, "dedup: [view.access_id]", "dedup: [link.link_id]"))


def _peers_variant(tmp_path, old: str, new: str) -> list[str]:
    return _edited(tmp_path, LIBRARY_PEERS, old, new)


def test_peers_rule_is_valid_and_its_mistakes_are_errors(tmp_path):
    rule, problems = load_rule(LIBRARY_PEERS)
    assert rule is not None and messages(problems) == []
    assert rule.match.peers_by == ("staff.department", "staff.rank_grade")
    measure = "measure: {function: distinct, field: view.record_id}"
    assert any("distinct needs a field" in m for m in _peers_variant(tmp_path, measure, "measure: {function: distinct}"))
    assert any("count takes no field" in m
               for m in _peers_variant(tmp_path, measure, "measure: {function: count, field: view.record_id}"))
    assert any("'staff' shares no key" in m
               for m in _peers_variant(tmp_path, "    user: {view: person_key, staff: person_key}\n", ""))
    assert any("'boss' is not an input" in m
               for m in _peers_variant(tmp_path, "peers_by: [staff.department,", "peers_by: [boss.department,"))
    assert any("has no field 'unit'" in m
               for m in _peers_variant(tmp_path, "peers_by: [staff.department,", "peers_by: [staff.unit,"))
    assert any("unknown placeholder {peers.median}" in m
               for m in _peers_variant(tmp_path, "averaged {peers.mean}", "averaged {peers.median}"))
    assert any("param 'z' is not defined" in m
               for m in _peers_variant(tmp_path, "zscore: {param: z_score}", "zscore: {param: z}"))
