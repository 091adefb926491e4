"""`sources suggest` learning from more than the header: empty and constant columns, a constant
enum column found by its one value, date columns placed by their relation, a person-id column
found by its overlap with the workforce's ids, labels the dictionary does not name, "Surname,
Forename" columns split."""
from __future__ import annotations

import pytest

from connectors.suggest import dry_run, suggest, to_toml


BI = "Ref,Payroll No,Type of Business Interest,Date Submitted,Decision"


def propose(tmp_path, write, register: str, header: str, rows: list[str]):
    """suggest() on a CSV of `header` and `rows` (one string per row)."""
    write(header + "\n" + "".join(r + "\n" for r in rows), "f.csv")
    return suggest(tmp_path / "f.csv", register)


def _gifts(rows: int, extra_header: str = "", extra=lambda i: "") -> str:
    head = "Ref,Employee No,Date Offered,Type,Outcome" + extra_header + "\n"
    return head + "".join(f"G{i},{100 + i},{1 + i % 28:02d}/10/2026,Gift,Accepted{extra(i)}\n" for i in range(rows))


def test_an_empty_column_is_never_a_required_field(tmp_path, write):
    """A published register: the legacy "Donor" column is empty, the payer's name is the donor."""
    write("Id,MemberName,Donor,PayerName,PayerNatureOfBusiness,ReceivedDate,GiftType,Outcome\n" + "".join(
        f"{i},Member {i},,Acme {i} Ltd,Car dealer,0{1 + i % 9}/10/2026,Gift,Accepted\n" for i in range(6)), "reg.csv")
    s = suggest(tmp_path / "reg.csv", "gifts_hospitality")
    assert s.mapped_fields["donor_name"] == "PayerName"
    assert "Donor" not in s.columns and "PayerNatureOfBusiness" not in s.columns
    assert dry_run(s).quarantined == 0


def test_a_constant_column_is_never_a_required_text_field(tmp_path, write):
    write(_gifts(25, ",Donor", lambda i: ",Various"), "gifts.csv")
    s = suggest(tmp_path / "gifts.csv", "gifts_hospitality")
    assert "donor_name" not in s.mapped_fields and s.missing_required == ["donor_name"]
    unmatched = dict(s.unmatched)
    assert "Donor" in unmatched


def test_a_constant_column_is_found_by_its_one_value(tmp_path, write):
    """"State" reads "Active" on every row: only a vetting status can be "active"."""
    write("Vetting ID,Employee Ref,Clearance,State\n" + "".join(f"V{i},E{i},MV,Active\n" for i in range(24)), "v.csv")
    s = suggest(tmp_path / "v.csv", "vetting")
    assert s.mapped_fields["status"] == "State"
    chosen = next(c for c in s.candidates if c.field.name == "status")
    assert "a constant column whose one value is only this field's" in chosen.reason
    assert dry_run(s).accepted == 24


@pytest.mark.parametrize("granted_year, expiry_year, swapped", [(2031, 2026, True), (2026, 2031, False)])
def test_two_date_columns_the_values_reverse_are_swapped_and_in_order_they_stay(tmp_path, write, granted_year,
                                                                                 expiry_year, swapped):
    rows = "".join(f"V{i},10{i},MV,{i + 1:02d}/03/{granted_year},{i + 1:02d}/03/{expiry_year},Active\n"
                   for i in range(8))
    write("Vetting Ref,Employee No,Level,Date Granted,Expiry Date,Status\n" + rows, "v.csv")
    s = suggest(tmp_path / "v.csv", "vetting")
    pair = (s.mapped_fields["granted_date"], s.mapped_fields["expiry_date"])
    assert pair == (("Expiry Date", "Date Granted") if swapped else ("Date Granted", "Expiry Date"))
    placed = [n for notes in s.checks.values() for n in notes if "placed by its dates" in n]
    assert any("after 'Expiry Date'" in n for n in placed) if swapped else not placed


def test_a_date_column_is_placed_by_its_relation_to_the_other(tmp_path, write):
    """"Date Received" reads as the offer, but every one is on or after "Date of Event": it is
    when the declaration was received, and the event is the offer."""
    rows = "".join(f"G{i},10{i},{i + 1:02d}/03/2026,{i + 5:02d}/03/2026,Acme,Gift,Accepted\n" for i in range(8))
    write("Ref,Employee No,Date of Event,Date Received,Donor,Type,Outcome\n" + rows, "gifts.csv")
    s = suggest(tmp_path / "gifts.csv", "gifts_hospitality")
    assert (s.mapped_fields["offered_date"], s.mapped_fields["declared_date"]) == ("Date of Event", "Date Received")
    assert any("placed by its dates" in n for n in s.checks["Date Received"])
    assert dry_run(s).quarantined == 0


def test_a_person_id_column_is_recognised_by_the_workforce_ids(tmp_path, write):
    write("Id,MemberId,Approved By,PayerName,ReceivedDate,GiftType,Outcome\n" + "".join(
        f"{i},{3100 + i},3100,Acme,0{1 + i}/10/2026,Gift,Accepted\n" for i in range(6)), "reg.csv")
    blind = suggest(tmp_path / "reg.csv", "gifts_hospitality")
    assert "person_id" not in blind.mapped_fields
    known = {str(3100 + i) for i in range(40)}
    s = suggest(tmp_path / "reg.csv", "gifts_hospitality", known_ids=known)
    assert s.mapped_fields["person_id"] == "MemberId"
    assert s.mapped_fields["approver"] == "Approved By"  # its header names another person field
    chosen = next(c for c in s.candidates if c.field.name == "person_id")
    assert "100% of its values are workforce person ids" in chosen.reason


def test_labels_the_dictionary_does_not_name_are_proposed_as_other_and_shown(tmp_path, write):
    types = ["Directorship", "Self employed", "Charity Trustee", "Property rental"]
    s = propose(tmp_path, write, "business_interests", BI,
                [f"B{i},{100 + i},{types[i % 4]},01/10/2026,Approved" for i in range(8)])
    assert s.values["interest_type"]["Charity Trustee"] == "other"
    assert s.guessed == {"interest_type": {"Charity Trustee": ("other", 2)}}
    block = to_toml(s)
    assert '"Charity Trustee" = "other"  # not a value the dictionary names: proposed as other' in block
    assert "labels the dictionary does not name: 'Charity Trustee' -> other (2 rows)" in block
    assert dry_run(s).quarantined == 0


def test_placeholders_are_not_labels_and_stay_quarantined(tmp_path, write):
    s = propose(tmp_path, write, "business_interests", BI, [
        f"B{i},{100 + i},{'Unknown - see notes' if i == 0 else 'Directorship'},01/10/2026,Approved" for i in range(8)])
    assert "Unknown - see notes" not in s.values.get("interest_type", {}) and not s.guessed
    assert dry_run(s).quarantined == 1


def test_a_label_without_other_goes_to_the_nearest_only_when_close(tmp_path, write):
    outcomes = ["Accepted", "Declined", "Declined - returned to donor", "Acceptd"]
    s = propose(tmp_path, write, "gifts_hospitality", "Ref,Employee No,Date Offered,Donor,Type,Outcome",
                [f"G{i},{100 + i},01/10/2026,Acme,Gift,{outcomes[i % 4]}" for i in range(8)])
    assert s.values["outcome"]["Declined - returned to donor"] == "declined"
    assert s.value_reasons["outcome"]["Declined - returned to donor"] == "begins with the label 'Declined'"
    assert s.values["outcome"]["Acceptd"] == "accepted"
    assert dry_run(s).quarantined == 0


def test_vetting_level_wordings(tmp_path, write):
    levels = ["NPPV Level 3", "Management Vetting", "Counter Terrorist Check", "Recruitment Vetting", "SC"]
    s = propose(tmp_path, write, "vetting", "Vetting ID,Employee Ref,Clearance,Status",
                [f"V{i},E{i},{levels[i % 5]},Active" for i in range(10)])
    assert s.values["level"] == {"NPPV Level 3": "nppv3", "Management Vetting": "mv", "Counter Terrorist Check": "ctc",
                                 "Recruitment Vetting": "rv"}
    assert s.value_reasons["level"]["Management Vetting"] == "initials"
    assert dry_run(s).quarantined == 0


def test_a_surname_forename_column_is_split_into_the_two_names(tmp_path, write):
    write("Payroll No,\"Name (Surname, Forename)\",Division\n000417,\"SMITH, John\",CID\n"
          "000418,\"O'Brien, Mary Anne\",Custody\n", "hr.csv")
    s = suggest(tmp_path / "hr.csv", "workforce")
    assert s.mapped_fields["first_name"] == s.mapped_fields["last_name"] == "Name (Surname, Forename)"
    assert "Name (Surname, Forename)" in s.extract
    result = dry_run(s)
    assert (result.accepted, result.quarantined) == (2, 0)
    from connectors import pull
    from connectors.suggest import proposed_config
    df = pull(proposed_config(s), tmp_path).df
    assert df[["last_name", "first_name"]].values.tolist() == [["SMITH", "John"], ["O'Brien", "Mary Anne"]]


def test_dotted_initials_and_two_word_spellings_in_headers(tmp_path, write):
    write("Staff No,Forename,Surname,D.O.B.,Post Code\n1,Ann,Lee,01/02/1980,LS1 1AA\n", "hr.csv")
    got = suggest(tmp_path / "hr.csv", "workforce").mapped_fields
    assert (got["date_of_birth"], got["home_postcode"]) == ("D.O.B.", "Post Code")
    write("Staff No,Forename,Surname,DoB\n1,Ann,Lee,01/02/1980\n", "hr2.csv")  # not "Do B"
    assert suggest(tmp_path / "hr2.csv", "workforce").mapped_fields["date_of_birth"] == "DoB"


def test_yes_no_under_a_header_naming_a_value_of_a_two_valued_enum(tmp_path, write):
    s = propose(tmp_path, write, "gifts_hospitality", "Ref,Employee No,Date Offered,Donor,Type,Accepted?",
                [f"G{i},{100 + i},01/10/2026,Acme,Gift,{'Yes' if i % 3 else 'No'}" for i in range(6)])
    assert s.values["outcome"] == {"Yes": "accepted", "No": "declined"}
    assert s.value_reasons["outcome"]["No"] == "yes/no under a header naming 'accepted'"
    assert dry_run(s).quarantined == 0


def test_a_title_column_is_not_a_post_title(tmp_path, write):
    write("Staff ID,Title,First Name,Last Name\n" + "".join(
        f"S{i},{['Mr', 'Mrs', 'Dr', 'Ms'][i % 4]},Ann,Lee\n" for i in range(8)), "hr.csv")
    assert "Title" not in suggest(tmp_path / "hr.csv", "workforce").columns


def test_a_required_date_with_no_header_evidence_is_the_one_free_date_that_keeps_the_order(tmp_path, write):
    """"Occasion Date" says nothing of an offer, but it is the only other date, and every one is on
    or before the declaration."""
    write("Record Number,Staff ID,Occasion Date,Declared On,Provider Name,Category,Outcome\n" + "".join(
        f"H{i},S{i},0{1 + i}/10/2026,1{1 + i}/10/2026,Acme,Gift,Accepted\n" for i in range(6)), "h.csv")
    s = suggest(tmp_path / "h.csv", "gifts_hospitality")
    assert s.mapped_fields["offered_date"] == "Occasion Date"
    assert any("the only free date column" in n for n in s.checks["Occasion Date"])
    assert dry_run(s).quarantined == 0
