"""The canonical register dictionary (data in registers.toml, loaded once).

Owns: which registers exist, their fields, types, sensitivity and the derived entity keys.
Imports nothing from the rest of the product; connectors, rules and entities import it.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

FIELD_TYPES = ("string", "date", "money", "enum", "int", "number", "bool", "hash")
SENSITIVITIES = ("public", "internal", "personal", "sensitive")
REGISTER_KINDS = ("event", "state", "reference")

#: Columns every accepted row carries besides its register fields.
#: fact_id: "<source>:<row>:<hash12>", unique and stable; _source: source name; _file: file/table;
#: _row: the row number a person would find in the source (CSV line / sheet row / query ordinal).
META_COLUMNS = ("fact_id", "_source", "_file", "_row")


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: str
    sensitivity: str = "internal"
    required: bool = False
    derived: bool = False
    values: tuple[str, ...] = ()
    ordered: bool = False
    entity: str | None = None  # person | org | address
    key: str | None = None  # derived key column the entity resolver fills
    #: a date field where a far-future date (31/12/9999 and the like) means "no end date": the
    #: connectors read it as blank (open) and count it instead of quarantining the row
    open_ended: bool = False
    #: a change to this field after the entry was audited is an alteration (register_entry_altered)
    material: bool = False
    #: values that mean "not decided yet" (pending): moving away from one completes the entry, it
    #: does not alter it; neither does filling a blank
    unsettled: tuple[str, ...] = ()

    def rank(self, value: str) -> int:
        """Position of an ordered enum value (for lt/gt comparisons)."""
        return self.values.index(value)


@dataclass(frozen=True)
class Register:
    name: str
    kind: str
    label: str
    fields: dict[str, Field]
    natural_key: tuple[str, ...] = ()
    date_field: str | None = None
    optional: bool = False
    #: groups of fields of which each row must have at least one (e.g. person_id or person_name)
    require_one_of: tuple[tuple[str, ...], ...] = ()
    #: the date the register says an entry was made (declared, submitted, claimed, posted): on a
    #: store with no history of a source, a row arrives in the month of this date (audit.store.ledger)
    entry_date_field: str | None = None
    #: made by the pipeline (register_changes, from the ledger), never read from a source
    generated: bool = False
    #: millions of rows a month (an access log): its sources are streamed and pruned to the rows an
    #: enabled rule can use as they are read (audit.streamed); never followed by the ledger
    streamed: bool = False

    @property
    def material_fields(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.material]

    @property
    def source_fields(self) -> list[Field]:
        """Fields a connector can map onto (everything not derived by entity resolution)."""
        return [f for f in self.fields.values() if not f.derived]

    @property
    def required_fields(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.required]

    def field(self, name: str) -> Field:
        try:
            return self.fields[name]
        except KeyError:
            raise KeyError(f"register {self.name!r} has no field {name!r}") from None


class DictionaryError(ValueError):
    pass


def _parse(data: dict, origin: str) -> dict[str, Register]:
    registers: dict[str, Register] = {}
    for rname, spec in data.get("registers", {}).items():
        kind = spec.get("kind")
        if kind not in REGISTER_KINDS:
            raise DictionaryError(f"{origin}: register {rname}: kind {kind!r} not in {REGISTER_KINDS}")
        fields: dict[str, Field] = {}
        for f in spec["fields"]:
            fld = Field(
                name=f["name"], type=f["type"], label=f.get("label", f["name"]),
                sensitivity=f.get("sensitivity", "internal"), required=f.get("required", False),
                derived=f.get("derived", False), values=tuple(f.get("values", ())),
                ordered=f.get("ordered", False), entity=f.get("entity"), key=f.get("key"),
                open_ended=f.get("open_ended", False), material=f.get("material", False),
                unsettled=tuple(f.get("unsettled", ())),
            )
            if fld.type not in FIELD_TYPES:
                raise DictionaryError(f"{origin}: {rname}.{fld.name}: type {fld.type!r} not in {FIELD_TYPES}")
            if fld.sensitivity not in SENSITIVITIES:
                raise DictionaryError(f"{origin}: {rname}.{fld.name}: sensitivity {fld.sensitivity!r}")
            if fld.open_ended and fld.type != "date":
                raise DictionaryError(f"{origin}: {rname}.{fld.name}: open_ended is for date fields, not {fld.type}")
            if fld.type == "enum" and not fld.values:
                raise DictionaryError(f"{origin}: {rname}.{fld.name}: enum without values")
            if fld.name in fields:
                raise DictionaryError(f"{origin}: {rname}.{fld.name}: defined twice")
            fields[fld.name] = fld
        for fld in fields.values():
            if fld.key and fld.key not in fields:
                raise DictionaryError(f"{origin}: {rname}.{fld.name}: key {fld.key!r} is not a field")
        for group in spec.get("require_one_of", ()):
            for name in group:
                if name not in fields:
                    raise DictionaryError(f"{origin}: {rname}: require_one_of names unknown field {name!r}")
        date_field = spec.get("date_field")
        if kind == "event" and date_field not in fields:
            raise DictionaryError(f"{origin}: event register {rname} needs a date_field")
        entry_date = spec.get("entry_date_field")
        if entry_date is not None and (entry_date not in fields or fields[entry_date].type != "date"):
            raise DictionaryError(f"{origin}: register {rname}: entry_date_field {entry_date!r} is not a date field")
        registers[rname] = Register(
            name=rname, kind=kind, label=spec.get("label", rname), fields=fields,
            natural_key=tuple(spec.get("natural_key", ())), date_field=date_field,
            optional=spec.get("optional", False),
            require_one_of=tuple(tuple(g) for g in spec.get("require_one_of", ())),
            entry_date_field=entry_date, generated=spec.get("generated", False),
            streamed=spec.get("streamed", False),
        )
        if registers[rname].streamed and registers[rname].material_fields:
            raise DictionaryError(f"{origin}: register {rname}: a streamed register cannot have material fields "
                                  "(the ledger would need every row, and a streamed source keeps only some)")
    return registers


@cache
def registers() -> dict[str, Register]:
    """All registers, keyed by name."""
    path = Path(__file__).with_name("registers.toml")
    with path.open("rb") as fh:
        return _parse(tomllib.load(fh), str(path))


def get(name: str) -> Register:
    try:
        return registers()[name]
    except KeyError:
        known = ", ".join(sorted(registers()))
        raise KeyError(f"unknown register {name!r} (known: {known})") from None


def names() -> list[str]:
    return list(registers())


def source_names() -> list[str]:
    """The registers a source can be configured for (not the pipeline's generated ones)."""
    return [n for n, r in registers().items() if not r.generated]
