"""Small canonical frames (connectors/frame.py dtypes) for the entity-resolution tests.

A uniquely named module (not conftest) so `from entity_fixtures import frame` never picks up
another folder's conftest when the whole suite runs.
"""
from __future__ import annotations

import pandas as pd


def frame(register: str, rows: list[dict]) -> pd.DataFrame:
    """Rows -> a canonical-looking frame with META columns; *_date / *dob columns become datetimes."""
    df = pd.DataFrame(rows).astype("object")
    for c in df.columns:
        if c.endswith("date") or c.endswith("dob") or c == "date_of_birth":
            df[c] = pd.to_datetime(df[c])
    df.insert(0, "fact_id", [f"{register}:{i + 2}:{i:012x}" for i in range(len(df))])
    df.insert(1, "_source", register)
    df.insert(2, "_file", f"{register}.csv")
    df.insert(3, "_row", range(2, len(df) + 2))
    return df


WORKFORCE = [
    {"person_id": "100001", "first_name": "John", "last_name": "Smith", "date_of_birth": "1980-01-02",
     "department": "CID", "home_address": "12 High Street", "home_postcode": "ab1 2cd"},
    {"person_id": "100002", "first_name": "John", "last_name": "Smith", "date_of_birth": "1975-06-30",
     "department": "Response", "home_address": "3 Mill Lane", "home_postcode": "AB1 3EF"},
    {"person_id": "100003", "first_name": "Mary Ann", "last_name": "O'Sullivan", "date_of_birth": "1984-03-07",
     "department": "Finance", "home_address": "Rose Cottage, Church Road", "home_postcode": "XY9 9ZZ"},
    {"person_id": "000417", "first_name": "Priya", "last_name": "Patel", "date_of_birth": "1990-11-11",
     "department": "Procurement", "home_address": "Flat 3, 40 Station Road", "home_postcode": "M1 1AE"},
    {"person_id": "100005", "first_name": "Gareth", "last_name": "Jones-Evans", "date_of_birth": "1969-02-14",
     "department": "Professional Standards", "home_address": "7 Bridge St", "home_postcode": "CF10 1AA"},
]


def org_mentions(texts: list[str], **columns: list) -> pd.DataFrame:
    """Organisation mentions for resolve_orgs: one per text; company_number, vat_number,
    supplier_id, address, postcode default to blank."""
    blank = [None] * len(texts)
    cols = {"company_number": blank, "vat_number": blank, "supplier_id": blank, "address": blank, "postcode": blank}
    cols.update(columns)
    return pd.DataFrame({"text": texts, **cols})
