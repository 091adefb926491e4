"""The register dictionary: consistent as data, and strict about what it accepts."""
from __future__ import annotations

import pytest

from audit import registers as R


def test_every_register_is_consistent():
    regs = R.registers()
    assert {"workforce", "gifts_hospitality", "business_interests", "notifiable_associations", "expenses",
            "procurement", "vetting", "barred_list", "absence"} <= set(regs)
    for reg in regs.values():
        assert reg.natural_key and all(k in reg.fields for k in reg.natural_key), reg.name
        if reg.kind == "event":
            assert reg.fields[reg.date_field].type == "date", reg.name
        for f in reg.fields.values():
            if f.key:  # every entity field names a derived key column that exists
                assert reg.fields[f.key].derived, (reg.name, f.name)
            if f.type == "enum":
                assert f.values and len(set(f.values)) == len(f.values)
        ids = [f for f in reg.fields.values() if f.name.endswith("_id") or f.name == "record_id"]
        assert all(f.type == "string" for f in ids), reg.name  # ids stay strings ("000417")


def test_vetting_levels_are_ordered_the_same_for_posts_and_clearances():
    post = R.get("workforce").field("post_vetting_level")
    held = R.get("vetting").field("level")
    assert post.ordered and held.ordered and post.values == held.values
    assert held.rank("mv") > held.rank("rv") and held.rank("dv") > held.rank("sc")


def test_unknown_names_are_refused_with_the_known_ones():
    with pytest.raises(KeyError, match="unknown register 'gifts'.*gifts_hospitality"):
        R.get("gifts")
    with pytest.raises(KeyError, match="register 'expenses' has no field 'colour'"):
        R.get("expenses").field("colour")


@pytest.mark.parametrize("bad,message", [
    ({"registers": {"x": {"kind": "weird", "fields": []}}}, "kind 'weird'"),
    ({"registers": {"x": {"kind": "state", "fields": [{"name": "a", "type": "float"}]}}}, "type 'float'"),
    ({"registers": {"x": {"kind": "state", "fields": [{"name": "a", "type": "enum"}]}}}, "enum without values"),
    ({"registers": {"x": {"kind": "event", "fields": [{"name": "a", "type": "date"}]}}}, "needs a date_field"),
    ({"registers": {"x": {"kind": "state", "fields": [{"name": "a", "type": "string", "key": "b"}]}}},
     "key 'b' is not a field"),
])
def test_a_malformed_dictionary_is_refused(bad, message):
    with pytest.raises(R.DictionaryError, match=message):
        R._parse(bad, "test.toml")
