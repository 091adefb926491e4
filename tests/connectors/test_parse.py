"""Cell parsers: each field type's accepted forms and its rejection reasons."""
from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime
from decimal import Decimal

import pytest

from connectors.parse import (DEV_HASH_KEY, CellContext, CellError, as_text, make_date_parser,
                              make_enum_parser, make_hash_parser, parse_bool, parse_cells, parse_int,
                              parse_money, parse_number, parser_for)


@pytest.mark.parametrize("raw, pence", [
    ("£1,234.00", 123400), ("1234.5", 123450), ("(12.50)", -1250), ("-12.50", -1250),
    ("£ 12", 1200), ("£-3.10", -310), ("0.01", 1), (834.29, 83429), (417, 41700),
    (Decimal("52155.63"), 5215563), ("1,234,567.89", 123456789), ("  7 ", 700),
])
def test_money_is_exact_integer_pence(raw, pence):
    assert parse_money(raw) == pence


@pytest.mark.parametrize("raw, why", [
    ("abc", "not an amount"), ("12.345", "fractions of a penny"), ("1,23.00", "not an amount"),
    ("(-12)", "both brackets and a minus"), ("£", "not an amount"), ("1e5", "not an amount"),
    (0.1 + 0.2, "fractions of a penny"), ("NaN", "not an amount"),
])
def test_money_rejections_say_why(raw, why):
    with pytest.raises(CellError, match=why):
        parse_money(raw)


def test_dates_from_formats_iso_serials_and_datetimes():
    p = make_date_parser(["%d/%m/%Y"])
    assert p("10/10/2017") == date(2017, 10, 10)
    assert p("2022-08-17") == date(2022, 8, 17)
    assert p("2022-08-17 13:45:00") == date(2022, 8, 17)
    assert p(45000) == date(2023, 3, 15)  # Excel serial number (numeric cell)
    assert p(45000.75) == date(2023, 3, 15)
    assert p("45000") == date(2023, 3, 15)  # serial typed as text
    assert p(datetime(2020, 6, 1, 9, 30)) == date(2020, 6, 1)
    with pytest.raises(CellError, match="not a date in any of the formats: %d/%m/%Y"):
        p("31/02/2020")
    with pytest.raises(CellError, match="not a date"):
        p("13/13/2020")
    with pytest.raises(CellError, match="Excel serial numbers run"):
        p(-5)


def test_strings_stay_as_written():
    assert as_text(" 000417 ") == "000417"
    assert as_text(417.0) == "417"
    assert as_text(417) == "417"
    assert as_text(Decimal("417.00")) == "417"
    assert as_text(12.5) == "12.5"
    assert as_text("=HYPERLINK(\"x\")") == "=HYPERLINK(\"x\")"  # formulas are data, kept literally
    assert as_text(datetime(2020, 1, 2)) == "2020-01-02"


def test_enum_value_map_then_canonical_then_left_for_validation():
    p = make_enum_parser(("order", "invoice", "payment", "credit"), {"INV": "invoice", "Credit Note": "credit"})
    assert p(" inv ") == "invoice"
    assert p("credit   NOTE") == "credit"
    assert p("PAYMENT") == "payment"
    assert p("banana") == "banana"  # not canonical: validation quarantines it with the allowed list
    route = make_enum_parser(("tender", "single_tender_waiver"), {})
    assert route("Single Tender Waiver") == "single_tender_waiver"
    assert route("single-tender-waiver") == "single_tender_waiver"


def test_bool_int_number():
    assert [parse_bool(v) for v in ("Y", "no", "TRUE", "0", True)] == [True, False, True, False, True]
    with pytest.raises(CellError, match="not yes/no"):
        parse_bool("maybe")
    assert parse_int("1,200") == 1200 and parse_int(7.0) == 7
    with pytest.raises(CellError, match="not a whole number"):
        parse_int("7.5")
    assert parse_number("37.5") == 37.5
    with pytest.raises(CellError, match="not a number"):
        parse_number("lots")


def test_hash_is_hmac_of_normalised_value_never_the_raw_value():
    h = make_hash_parser(b"k")
    expected = hmac.new(b"k", b"12345678401234", hashlib.sha256).hexdigest()
    assert h("12-34-56 78401234") == expected
    assert h("12 34 56 78401234") == expected  # same account, different spacing
    assert "12345678" not in h("12345678")
    assert h("ab12") == h("AB-12")
    with pytest.raises(CellError):
        h("--")


def test_parse_cells_marks_blank_redacted_long_and_bad():
    ctx = CellContext(date_formats=["%d/%m/%Y"], redacted=["REDACTED PERSONAL DATA"],
                      hash_key=DEV_HASH_KEY.encode())
    cells = ["1.00", "", None, " redacted personal data ", "x" * 10_001, "oops", "1.00"]
    values, errors, redacted, open_ended = parse_cells(cells, parser_for("money", "net_amount", (), ctx), ctx)
    assert values == [100, None, None, None, None, None, 100]
    assert redacted == {3} and open_ended == set()
    assert errors[4].startswith("longer than 10,000 characters")
    assert "not an amount" in errors[5]
    assert set(errors) == {4, 5}
