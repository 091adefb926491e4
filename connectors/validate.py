"""The canonical frame's schema (pandera, built from the register dictionary) and its failures.

Owns: canonical dtypes per field type, `empty_frame`, and turning pandera failure cases into
(row position, field, reason) problems a person can act on. Checks: dtype of every field column,
required fields not null, enum values in the dictionary's list, each `require_one_of` group.
"""
from __future__ import annotations

from functools import cache

import pandas as pd
import pandera.pandas as pa

from audit.registers import META_COLUMNS, Register, get

DTYPES = {"string": "object", "enum": "object", "hash": "object", "date": "datetime64[ns]",
          "money": "Int64", "int": "Int64", "number": "Float64", "bool": "boolean"}
META_DTYPES = {"fact_id": "object", "_source": "object", "_file": "object", "_row": "Int64"}
_ONE_OF = "require_one_of:"


def field_names(register: Register) -> list[str]:
    """Columns a connector fills: every non-derived field, in dictionary order."""
    return [f.name for f in register.source_fields]


def empty_frame(register_name: str) -> pd.DataFrame:
    """A 0-row canonical frame of a register (fields then META_COLUMNS), with canonical dtypes."""
    reg = get(register_name)
    cols = {f.name: pd.Series(dtype=DTYPES[f.type]) for f in reg.source_fields}
    cols.update({m: pd.Series(dtype=META_DTYPES[m]) for m in META_COLUMNS})
    return pd.DataFrame(cols)


def to_series(values: list, ftype: str) -> pd.Series:
    """Parsed python values -> a column in the canonical dtype."""
    if ftype == "date":
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object)), dtype="datetime64[ns]")
    return pd.Series(values, dtype=DTYPES[ftype])


def _one_of_check(group: tuple[str, ...]) -> pa.Check:
    return pa.Check(lambda df: df[list(group)].notna().any(axis=1), element_wise=False,
                    name=_ONE_OF + ",".join(group))


@cache
def schema(register_name: str) -> pa.DataFrameSchema:
    reg = get(register_name)
    columns = {}
    for f in reg.source_fields:
        checks = [pa.Check.isin(list(f.values))] if f.type == "enum" else []
        columns[f.name] = pa.Column(DTYPES[f.type], nullable=not f.required, checks=checks,
                                    coerce=False, required=True)
    return pa.DataFrameSchema(columns, checks=[_one_of_check(g) for g in reg.require_one_of],
                              strict=False, name=register_name)


def problems(df: pd.DataFrame, register_name: str) -> list[tuple[int, str, str]]:
    """(row position, field, reason) for every failed check; [] when the frame is valid.

    A dtype failure means a bug in the connector, not bad data, so it raises.
    """
    reg = get(register_name)
    try:
        schema(register_name).validate(df, lazy=True)
        return []
    except pa.errors.SchemaErrors as e:
        cases = e.failure_cases
    out: list[tuple[int, str, str]] = []
    seen_one_of: set[tuple[int, str]] = set()
    for case in cases.itertuples(index=False):
        check = str(case.check)
        if case.index is None or pd.isna(case.index):
            raise AssertionError(f"canonical frame of {register_name} failed {check} on column "
                                 f"{case.column}: {case.failure_case} (connector bug)")
        pos = int(case.index)
        if check.startswith(_ONE_OF):
            group = check[len(_ONE_OF):]
            if (pos, group) in seen_one_of:
                continue
            seen_one_of.add((pos, group))
            out.append((pos, group.split(",")[0],
                        f"needs one of {group.replace(',', ', ')}; all are blank"))
        elif check == "not_nullable":
            out.append((pos, str(case.column), "required field is blank"))
        elif check.startswith("isin"):
            allowed = ", ".join(reg.field(str(case.column)).values)
            out.append((pos, str(case.column), f"value '{case.failure_case}' is not one of {allowed} "
                        f"(map it in the source's values.{case.column})"))
        else:
            out.append((pos, str(case.column), f"failed check {check}: {case.failure_case}"))
    return out
