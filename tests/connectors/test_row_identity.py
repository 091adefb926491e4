"""Row identity for files with no id column (`row_id`, `composite`) and natural-key uniqueness
(`duplicate_keys`): what a load does with each, and that existing configs load as before."""
from __future__ import annotations

import tomllib

import pytest

from connectors import SourceConfig, SourceError, pull

VETTING = "Collar No,Level,Granted,Status\n"
ROWS = "1001,MV,01/02/2024,Active\n1002,SC,03/04/2025,Active\n"


def vetting(path: str, **kw) -> SourceConfig:
    spec = dict(name="vetting", register="vetting", kind="csv", path=path,
                columns={"Collar No": "person_id", "Level": "level", "Granted": "granted_date",
                         "Status": "status"})
    spec.update(kw)
    return SourceConfig(**spec)


def load(tmp_path, **kw):
    frame = pull(vetting("vetting.csv", **kw), tmp_path)
    assert frame.reconciles()
    return frame


def test_row_id_is_the_row_number_and_appending_keeps_every_id(tmp_path, write):
    write("Vetting extract\n" + VETTING + ROWS, "vetting.csv")
    before = load(tmp_path, row_id="record_id", skip_rows=1)
    assert before.df["record_id"].tolist() == ["3", "4"]  # counted from the top of the file, as _row
    assert before.df["record_id"].tolist() == [str(r) for r in before.df["_row"]]
    write("Vetting extract\n" + VETTING + ROWS + "1003,DV,05/06/2026,Pending\n", "vetting.csv")
    after = load(tmp_path, row_id="record_id", skip_rows=1)
    assert after.df["record_id"].tolist() == ["3", "4", "5"]
    assert after.df[["record_id", "person_id"]].iloc[:2].equals(before.df[["record_id", "person_id"]])


def test_row_id_under_a_glob_names_the_file(tmp_path, write):
    write(VETTING + ROWS, "returns/q1.csv")
    write(VETTING + "1003,DV,05/06/2026,Pending\n", "returns/q2.csv")
    frame = pull(vetting("returns/*.csv", row_id="record_id"), tmp_path)
    assert frame.df["record_id"].tolist() == ["returns/q1.csv#2", "returns/q1.csv#3", "returns/q2.csv#2"]


def test_row_id_under_a_recursive_glob_tells_two_files_of_one_name_apart(tmp_path, write):
    write(VETTING + ROWS, "returns/east/v.csv")
    write(VETTING + "1003,DV,05/06/2026,Pending\n", "returns/west/v.csv")
    frame = pull(vetting("returns/**/*.csv", row_id="record_id", duplicate_keys="quarantine"), tmp_path)
    assert frame.reconciles() and frame.rows_quarantined == 0  # the file name alone gave both "v.csv#2"
    assert sorted(frame.df["record_id"]) == ["returns/east/v.csv#2", "returns/east/v.csv#3", "returns/west/v.csv#2"]


def test_a_missing_column_of_an_optional_composite_field_leaves_it_blank(tmp_path, write):
    write(VETTING + ROWS, "vetting.csv")
    frame = load(tmp_path, row_id="record_id", composite={"person_name": ["Level", "Nope"]})
    assert frame.rows_accepted == 2 and frame.df["person_name"].isna().all()


def test_composite_key_joins_the_named_columns_and_a_blank_part_leaves_it_blank(tmp_path, write):
    write(VETTING + ROWS + ",RV,01/01/2026,Active\n", "vetting.csv")
    frame = load(tmp_path, composite={"record_id": ["Collar No", "Level"]},
                 columns={"Collar No": "person_id", "Level": "level", "Granted": "granted_date", "Status": "status"})
    assert frame.df["record_id"].tolist() == ["1001 | MV", "1002 | SC"]
    q = frame.quarantine
    assert set(q["row"]) == {4}
    assert ("Collar No + Level", "required field is blank") in set(zip(q["column"], q["reason"]))


def test_composite_column_missing_from_the_file_fails_naming_it(tmp_path, write):
    write(VETTING + ROWS, "vetting.csv")
    with pytest.raises(SourceError, match=r"missing column\(s\) 'Date'.*record_id"):
        load(tmp_path, composite={"record_id": ["Collar No", "Date"]})


@pytest.mark.parametrize("kw, message", [
    ({"row_id": "granted_date"}, "is a date field"),
    ({"row_id": "record_id", "defaults": {"record_id": "x"}}, "fill it one way"),
    ({"composite": {"nope": ["Level"]}}, "is not a field"),
])
def test_identity_config_problems_are_refused(tmp_path, write, kw, message):
    write(VETTING + ROWS, "vetting.csv")
    with pytest.raises(SourceError, match=message):
        load(tmp_path, **kw)


DUPES = VETTING.replace("Collar No", "Ref,Collar No") + "V1,1001,MV,01/02/2024,Active\nV2,1002,SC,03/04/2025,Active\n" \
    "V1,1003,DV,05/06/2026,Pending\n"


def _dupe_config(**kw):
    return dict(columns={"Ref": "record_id", "Collar No": "person_id", "Level": "level", "Status": "status"}, **kw)


def test_a_repeated_key_is_loaded_with_a_note_by_default(tmp_path, write):
    """Existing configs keep loading every row; the repeat is said, not silent."""
    write(DUPES, "vetting.csv")
    frame = load(tmp_path, **_dupe_config())
    assert frame.rows_accepted == 3
    assert any("1 row(s) repeat the natural key (record_id) of an earlier row (vetting.csv row 4: record_id "
               "repeats row 2)" in w for w in frame.provenance.warnings)


def test_a_repeated_key_is_quarantined_with_the_reason_and_the_first_row_kept(tmp_path, write):
    write(DUPES, "vetting.csv")
    frame = load(tmp_path, **_dupe_config(duplicate_keys="quarantine"))
    assert frame.df["person_id"].tolist() == ["1001", "1002"]
    q = frame.quarantine
    assert (q["row"].tolist(), q["value"].tolist()) == ([4], ["V1"])
    assert q["reason"][0].startswith("record_id repeats row 2: the register's key must be unique")


def test_a_repeated_key_refuses_the_source_when_asked(tmp_path, write):
    write(DUPES, "vetting.csv")
    with pytest.raises(SourceError, match=r"1 row\(s\) repeat the natural key \(record_id\)"):
        load(tmp_path, **_dupe_config(duplicate_keys="refuse"))


def test_repeats_across_globbed_files_name_the_first_file(tmp_path, write):
    write(VETTING.replace("Collar No", "Ref,Collar No") + "V1,1001,MV,01/02/2024,Active\n", "r/a.csv")
    write(VETTING.replace("Collar No", "Ref,Collar No") + "V1,1002,SC,03/04/2025,Active\n", "r/b.csv")
    frame = pull(vetting("r/*.csv", **_dupe_config(duplicate_keys="quarantine")), tmp_path)
    assert frame.quarantine["reason"][0].startswith("record_id repeats row 2 of r/a.csv")


def test_a_key_with_a_blank_part_is_not_compared(tmp_path, write):
    """Procurement split lines with no line column share their transaction: not repeats."""
    write("Trans,Date,Amount\nT1,10/10/2017,5\nT1,10/10/2017,7\n", "spend.csv")
    frame = pull(SourceConfig(name="spend", register="procurement", kind="csv", path="spend.csv",
                              columns={"Trans": "transaction_id", "Date": "transaction_date", "Amount": "net_amount"},
                              duplicate_keys="refuse"), tmp_path)
    assert frame.rows_accepted == 2


# --- sources suggest proposes an identity when the file has none ---------------------------------

def test_suggest_proposes_the_row_number_for_an_id_less_file_and_the_block_loads(tmp_path, write):
    from audit import settings as settings_mod
    from connectors.suggest import dry_run, suggest, to_toml

    write(VETTING + ROWS + "1003,DV,05/06/2026,Pending\n", "vetting.csv")
    s = suggest(tmp_path / "vetting.csv", "vetting")
    assert s.row_id == "record_id" and s.mapped_fields["record_id"] == "(row number)"
    assert s.composite_alternative == {"record_id": ["Collar No", "Granted"]}
    block = to_toml(s)
    assert 'row_id = "record_id"' in block and 'duplicate_keys = "quarantine"' in block
    assert '# or, if the export may be sorted differently: composite = { record_id = ["Collar No", "Granted"] }' in block
    (tmp_path / "config.toml").write_text(block, encoding="utf-8")
    cfg = settings_mod.load(tmp_path / "config.toml").sources[0]
    assert (cfg.row_id, cfg.duplicate_keys) == ("record_id", "quarantine")
    result = dry_run(s)
    assert (result.read, result.accepted, result.quarantined) == (3, 3, 0)
    # the alternative is valid TOML once uncommented, and loads
    line = next(x for x in block.splitlines() if x.startswith("# or, if the export"))
    alt = tomllib.loads(line.split(": ", 1)[1].split("  (unique")[0])["composite"]
    frame = pull(vetting("vetting.csv", composite=alt), tmp_path)
    assert frame.df["record_id"].tolist() == ["1001 | 01/02/2024", "1002 | 03/04/2025", "1003 | 05/06/2026"]


def test_suggest_takes_the_row_number_as_the_line_of_a_claim(tmp_path, write):
    from connectors.suggest import dry_run, suggest

    write("Claim No,Staff No,Date of Expense,Expense Type,Amount\nC1,101,01/10/2026,Mileage,4.50\n"
          "C1,101,02/10/2026,Subsistence,7.20\nC2,102,03/10/2026,Mileage,9.00\n", "claims.csv")
    s = suggest(tmp_path / "claims.csv", "expenses")
    assert s.mapped_fields["claim_id"] == "Claim No" and s.row_id == "line_id"
    assert "the line within the claim" in s.row_id_reason and not s.composite_alternative
    assert dry_run(s).accepted == 3


def test_suggest_keeps_an_id_column_when_there_is_one(tmp_path, write):
    from connectors.suggest import suggest

    write(DUPES, "vetting.csv")
    assert suggest(tmp_path / "vetting.csv", "vetting").row_id is None
