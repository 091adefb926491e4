"""Values as a person reads them: money in pounds, dates, enum codes, field values by their
dictionary type, and small mappings in words; for the web app and the report also enum codes by
their labels, people as "Name (staff no.)", alert titles that lead with the person, the rule's
parameters by their declared type and what each review status means.

Owns no data and formats nothing for machines (JSON and CSV keep stored values: money in integer
pence, enum codes). Decides nothing about what is shown (audit.web.access does). Imports only
audit.registers (and, when a parameter's type is asked for, the rule file through rules.api), so
the command line, the web app and the reports can all use it.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from audit import registers

NONE = "-"  # what a blank value reads as


def pounds(pence: int | float | str | None) -> str:
    """Integer pence -> "£1,234.50" ("-£12.00" below zero; "-" when blank)."""
    if pence is None or pence == "":
        return NONE
    sign, (whole, part) = ("-" if int(pence) < 0 else ""), divmod(abs(int(pence)), 100)
    return f"{sign}£{whole:,}.{part:02d}"


def day(value: date | datetime | str | None) -> str:
    """A date as YYYY-MM-DD; a date and time as YYYY-MM-DD HH:MM; text as given; blank -> "-"."""
    if value is None or value == "":
        return NONE
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def code(value: Any) -> str:
    """An enum code or identifier-like label in words: "private_investigation" -> "private investigation"."""
    return NONE if value is None or value == "" else str(value).replace("_", " ")


def field_type(register: str, field: str) -> str:
    """The dictionary type of register.field ("string" when either is unknown)."""
    reg = registers.registers().get(register)
    return reg.fields[field].type if reg is not None and field in reg.fields else "string"


def typed(value: Any, ftype: str) -> str:
    """A value of dictionary type `ftype` (money, date, enum, ...) in words."""
    if value is None or value == "":
        return NONE
    if ftype == "money":
        return pounds(value)
    if ftype == "date":
        return day(value)
    if ftype == "enum":
        return code(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def field_value(register: str, field: str, value: Any) -> str:
    """A stored fact value in words, by its field's type in the register dictionary."""
    return typed(value, field_type(register, field))


def mapping(values: Mapping[str, Any] | None, types: Mapping[str, str] | None = None, sep: str = "; ") -> str:
    """{"a": 1, "b_c": 2} -> "a = 1; b_c = 2" (each value by its type in `types`, if given); {} -> "none"."""
    if not values:
        return "none"
    types = types or {}
    return sep.join(f"{k} = {typed(v, types.get(k, ''))}" for k, v in values.items())


def counts(values: Mapping[str, int] | None) -> str:
    """{"unknown_id": 89, "no_match": 1} -> "unknown id 89, no match 1"; {} -> "none"."""
    if not values:
        return "none"
    return ", ".join(f"{code(k)} {n:,}" for k, n in values.items())


# Enum codes whose words are not just the code with spaces: abbreviations and hyphenated words.
# Every other code reads as itself with spaces and a capital ("debt_collection" -> "Debt collection").
ENUM_LABELS = {
    "self_employed": "Self-employed", "nppv1": "NPPV level 1", "nppv2": "NPPV level 2",
    "nppv3": "NPPV level 3", "rv": "Recruitment vetting (RV)", "mv": "Management vetting (MV)",
    "ctc": "Counter-terrorist check (CTC)", "sc": "Security check (SC)", "dv": "Developed vetting (DV)",
    "single_tender_waiver": "Single tender waiver", "betting_gaming": "Betting and gaming",
}
#: the short form of a vetting level in running text ("needs MV vetting")
VETTING_CODES = ("nppv1", "nppv2", "nppv3", "rv", "mv", "ctc", "sc", "dv")


def enum_label(value: Any) -> str:
    """An enum code by its label: "self_employed" -> "Self-employed", "mv" -> "Management vetting (MV)"."""
    if value is None or value == "":
        return NONE
    text = str(value)
    if text.casefold() in ENUM_LABELS:
        return ENUM_LABELS[text.casefold()]
    words = text.replace("_", " ")
    return words[:1].upper() + words[1:]


def shown(value: Any, ftype: str) -> str:
    """A value of dictionary type `ftype` as the web app and the report show it: like typed(), but an
    enum by its label, a bool as yes / no, a hash by its first 8 characters ("f3097115…") and a value
    that does not fit its type as written."""
    if value is None or value == "":
        return NONE
    if ftype == "enum":
        return enum_label(value)
    if ftype == "bool" or isinstance(value, bool):
        return "yes" if str(value).casefold() in ("true", "1", "yes") else "no"
    if ftype == "hash":  # a hashed bank account: enough to compare two by eye, not 64 hex digits
        return f"{str(value)[:8]}\u2026" if len(str(value)) > 12 else str(value)
    try:
        return typed(value, ftype)
    except (TypeError, ValueError):
        return str(value)


def fact_value(register: str, field: str, value: Any) -> str:
    """A stored fact value as the web app and the report show it (shown() by its dictionary type)."""
    return shown(value, field_type(register, field))


def field_label(register: str, field: str) -> str:
    """The dictionary label of register.field (the field's name when either is unknown)."""
    reg = registers.registers().get(register)
    return reg.fields[field].label if reg is not None and field in reg.fields else field.replace("_", " ")


def person(name: str | None, staff_no: str | None) -> str:
    """A member of staff as "Name (staff no.)"; either alone when the other is not known."""
    if name and staff_no and name != staff_no:
        return f"{name} ({staff_no})"
    return name or staff_no or NONE


@lru_cache(maxsize=1)
def _codes_in_words() -> re.Pattern:
    """Enum codes that read wrongly in running text: snake_case codes of the dictionary, and vetting
    levels before "vetting" / "clearance" (the "mv" of "needs mv vetting")."""
    snake = sorted({v for reg in registers.registers().values() for f in reg.fields.values()
                    if f.type == "enum" for v in f.values if "_" in v}, key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:(%s)|(%s)(?= (?:vetting|clearance)))(?![\w])"
                      % ("|".join(map(re.escape, snake)), "|".join(VETTING_CODES)))


def in_words(text: str) -> str:
    """Enum codes inside a sentence in words: "N's self_employed interest" -> "N's self-employed
    interest", "needs mv vetting" -> "needs MV vetting"."""
    def word(m: re.Match) -> str:
        if m.group(2):
            return m.group(2).upper()
        label = enum_label(m.group(1))
        return label[:1].lower() + label[1:]
    return _codes_in_words().sub(word, text)


# Organisation keys a rule's title may quote (audit.entities.orgs): "CN:<company number>" reads as
# the company number in words; "ORG:<hash>" says nothing to a reader and is left out.
_COMPANY_KEY = re.compile(r"(?<![\w:])CN:(\w+)")
_ORG_KEY = re.compile(r"\s*\(ORG:[0-9a-f]+\)|(?<![\w:])ORG:[0-9a-f]+")


def org_keys_in_words(text: str) -> str:
    """Organisation keys inside a sentence in words: "Jones Ltd (CN:11409371)" -> "Jones Ltd (company
    no. 11409371)"; "Jones Ltd (ORG:1fdabce6f335)" -> "Jones Ltd" (a bare one -> "the organisation")."""
    text = _COMPANY_KEY.sub(r"company no. \1", text)
    return _ORG_KEY.sub(lambda m: "" if m.group(0).lstrip().startswith("(") else "the organisation", text)


def title(text: str, subject: str | None = None, name: str | None = None) -> str:
    """An alert's title as a person reads it: leading with the person by name when the name is known
    ("100364 accepted ..." -> "Jo Bloggs (100364) accepted ..."; a title naming them later, or not at
    all, is led by "Jo Bloggs (100364): "), enum codes and organisation keys in words ("(CN:11409371)"
    -> "(company no. 11409371)", a resolved "(ORG:...)" id left out), no trailing ": (blank)"."""
    text = org_keys_in_words(in_words(re.sub(r":\s*\(blank\)\s*$", "", text or "")))
    if not (subject and name) or name == subject:
        return text
    token = re.compile(r"(?<![\w])%s(?![\w])" % re.escape(subject))
    if text.startswith(subject) and token.match(text):
        return person(name, subject) + text[len(subject):]
    return f"{person(name, subject)}: {token.sub(name, text)}"


#: What each review status means, and whether it closes the alert (audit.store.lifecycle decides
#: which statuses close; this says it in words).
STATUS_WORDS = {
    "new": ("New", "Nobody has looked at it yet."),
    "in_review": ("In review", "Someone is looking into it; it stays open."),
    "no_further_action": ("No further action", "Looked into: the facts are right but nothing needs doing. "
                          "Closes the alert."),
    "management_action": ("Management action", "The facts are right and the line manager deals with it "
                          "(advice, a reminder of policy, a corrected register entry). Closes the alert."),
    "referred_to_ccu": ("Referred to CCU", "Serious enough for the counter-corruption unit, which takes it "
                        "on from here. Closes the alert in this queue."),
    "false_positive": ("False positive", "The alert is wrong (a bad link, a data error, an allowed "
                       "exception). Closes the alert; say why, so the rule can be improved."),
}


def status_label(status: str | None) -> str:
    return STATUS_WORDS.get(status or "", (code(status), ""))[0]


def status_meaning(status: str | None) -> str:
    return STATUS_WORDS.get(status or "", ("", ""))[1]


@lru_cache(maxsize=512)
def _param_types(rule_name: str, folders: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    from rules.api import load_rules

    files = [f for folder in folders for f in sorted(Path(folder).rglob(f"{rule_name}.y*ml"))]
    try:
        rules, _ = load_rules(files[:1]) if files else ([], [])
    except Exception:  # noqa: BLE001 - the stored values are still worth showing
        return ()
    return tuple((name, p.type) for r in rules if r.name == rule_name for name, p in r.params.items())


def param_types(rule_name: str, folders: Iterable[str | Path] | None = None) -> dict[str, str]:
    """The declared type of each parameter of a rule (money, int, ...) from its rule file in `folders`
    (default: the shipped library); {} when the file is not found (values are then shown as stored)."""
    if folders is None:
        from rules.api import LIBRARY
        folders = (LIBRARY,)
    return dict(_param_types(rule_name, tuple(str(f) for f in folders)))


def params(values: Mapping[str, Any] | None, types: Mapping[str, str]) -> list[tuple[str, str]]:
    """A rule's parameters in force as (name in words, value by its declared type): money in pounds."""
    return [(code(k), shown(v, types.get(k, ""))) for k, v in sorted((values or {}).items())]


# How entity resolution linked a name, in words (audit.entities: LinkView.method).
LINK_METHODS = {
    "company_number": "same company number", "identifier": "same staff number",
    "normalised_name": "the same name once case, punctuation and 'Ltd' / 'Limited' are set aside",
    "fuzzy": "a similar name", "address": "the same address", "bank": "the same bank account",
    "name_dob": "the same name and date of birth", "override": "a reviewer confirmed they are the same",
    "initials": "the other name's initials",
}


_KEY_ROLES = {"name_dob_key": "name and date of birth", "person_key": "member of staff"}


def _role(register: str, key_field: str) -> str:
    """What a key column's source field is, in words: org_key of gifts -> "donor", approver_key -> "approver"."""
    reg = registers.registers().get(register)
    for f in (reg.fields.values() if reg else ()):
        if f.key == key_field and f.name != "person_name":
            label = re.sub(r"\s*\(.*?\)", "", f.label)
            label = re.sub(r"\s*person ID$", "", label, flags=re.I).strip()
            return label.lower() or _KEY_ROLES.get(key_field, "member of staff")
    return _KEY_ROLES.get(key_field) or code(key_field.removesuffix("_key"))


def link_method(method: str | None, score: float | None = None) -> str:
    words = LINK_METHODS.get(method or "", code(method))
    if method == "fuzzy" and score is not None:
        words += f" (score {score:g} of 100)"
    return words


# A rule's input alias as a noun where it is an abbreviation ("assoc"); other aliases read as written.
ENTRY_WORDS = {"assoc": "association", "barred": "barred list entry", "hosp": "hospitality", "line": "expense line"}


def entry(alias: str | None) -> str:
    """A rule's input (the alias a fact was cited as) as a noun: "assoc" -> "association", "gift" -> "gift"."""
    return ENTRY_WORDS.get(alias or "", code(alias or "entry"))


def _noun(key_field: str) -> str:
    return "organisation" if key_field.endswith("org_key") else "address" if key_field.startswith("address") \
        else "person"


def _linked(links: list, facts: Mapping[str, Any]) -> str | None:
    """One sentence for the links that share a key (None when it says nothing a reader needs)."""
    named, methods = [], []
    for ln in links:
        fact = facts.get(ln.fact_id)
        what = (entry(fact.alias if fact else None), _role(fact.register if fact else "", ln.field), ln.source_text)
        if what not in named:
            named.append(what)
        words = link_method(ln.method, ln.score)
        if ln.method == "company_number" and str(ln.matched_text or "").isdigit():
            words += f" ({ln.matched_text})"
        if words not in methods:
            methods.append(words)
    first = links[0]
    if len(named) == 1:
        a, r, t = named[0]
        if first.method == "company_number" and str(first.matched_text or "").isdigit():
            sentence = f"the {a}'s {r} '{t}' is company number {first.matched_text}"
            methods = []
        elif first.method in ("fuzzy", "override", "initials") and first.matched_text and first.matched_text != t:
            sentence = f"the {a}'s {r} '{t}' is read as '{first.matched_text}'"
        else:
            return None
    else:
        parts = [f"the {a}'s {r} '{t}'" for a, r, t in named[:4]] + (
            [f"{len(named) - 4} more"] if len(named) > 4 else [])
        sentence = f"{', '.join(parts[:-1])} and {parts[-1]} are the same {_noun(first.field)}"
    if methods:
        sentence += f": {', '.join(methods)}"
    weak = next((ln.strength for ln in links if ln.strength and ln.strength != "strong"), None)
    if weak:
        sentence += f" (a {weak} link: check it)"
    return sentence[:1].upper() + sentence[1:] + "."


def link_sentences(alert) -> list[str]:
    """How the alert's names were linked, one sentence per linked thing: "The gift's donor 'Brindley
    Fleet Svcs' and the purchase's supplier 'BRINDLEY FLEET SERVICES LIMITED' are the same
    organisation: same company number (01234567)." Staff numbers read as themselves are listed in one
    sentence; a name resolved on its own, joined to nothing else in the alert, is left out."""
    facts = {f.fact_id: f for f in alert.facts}
    groups: dict[tuple[str, str], list] = {}
    for ln in alert.links:
        groups.setdefault((_noun(ln.field), ln.key or ln.source_text), []).append(ln)
    out, plain = [], []
    for links in groups.values():
        if all(ln.method == "identifier" and ln.source_text == ln.matched_text for ln in links) and \
                len({ln.fact_id for ln in links}) == 1 and len({ln.field for ln in links}) == 1:
            fact = facts.get(links[0].fact_id)
            plain.append(f"{_role(fact.register if fact else '', links[0].field)} {links[0].source_text}")
        elif sentence := _linked(links, facts):
            out.append(sentence)
    if plain:
        out.append("People by staff number: " + "; ".join(dict.fromkeys(plain)) + ".")
    return out


def evidence(alert) -> list[dict[str, Any]]:
    """Each fact of the alert with the fields the rule used ("used": the fields of its input named in
    the alert's values, else every field) and all its fields ("all"), each as (label, value in words).
    The keys entity resolution derived (person_key, org_key, name + date of birth ...) are engine
    detail, not what the register says: they are left out (the links show them)."""
    used: dict[str, set[str]] = {}
    for key in alert.values or {}:
        alias, _, name = key.partition(".")
        if name:
            used.setdefault(alias, set()).add(name)
    out = []
    for f in alert.facts:
        reg = registers.registers().get(f.register)
        order = {n: i for i, n in enumerate(reg.fields)} if reg else {}
        derived = {n for n, fld in reg.fields.items() if fld.derived} if reg else set()
        values = sorted(((k, v) for k, v in f.values.items() if v is not None and v != "" and k not in derived),
                        key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        every = [(field_label(f.register, k), fact_value(f.register, k, v)) for k, v in values]
        wanted = used.get(f.alias)
        chosen = [(field_label(f.register, k), fact_value(f.register, k, v)) for k, v in values
                  if k in wanted] if wanted else every
        out.append({"fact": f, "used": chosen or every, "all": every, "more": len(every) > len(chosen or every)})
    return out


# Audit trail actions on an alert, in words (the code stays in the trail and in a tooltip).
ACTIONS = {
    "alert.view": "viewed", "alert.assign": "assigned", "alert.review": "status changed",
    "alert.reopen": "reopened", "alert.suppress": "suppressed", "alert.refused": "action refused",
    "alert.prove": "proof bundle made", "alert.timeline_download": "access timeline downloaded",
    "link.decide": "link confirmed or rejected", "web.denied": "access refused",
}


def action(name: str | None) -> str:
    """An audit trail action in words ("alert.assign" -> "assigned"); an unknown one as written."""
    return ACTIONS.get(name or "", name or NONE)


def matched(link: Mapping[str, Any]) -> str:
    """What a link matched, when it is words a person reads: a name or company, not a derived key
    (the "perry|m|1979-01-31" of a name + date of birth link, an address key); "" otherwise."""
    text = str(link.get("matched_text") or "")
    if link.get("method") in ("name_dob", "address") or text == link.get("key") and "|" in text:
        return ""
    return text


def weakest_link(link: Mapping[str, Any] | None) -> str:
    """The weakest link an alert rests on, in words ("" when it rests on none): "The organisation
    'PWC' is linked to 'Price Waterhouse Coopers': the other name's initials (a weak link)", and,
    when that lowered the alert, why and what to do. What it matched is named only when it is words
    (matched()); a derived key never is."""
    if not link:
        return ""
    source, what = link.get("source_text") or "", matched(link)
    said = (f"The {_noun(str(link.get('field') or ''))} \u201c{source}\u201d"
            + (f" is linked to \u201c{what}\u201d" if what and what != source else "")
            + f": {link_method(link.get('method'), link.get('score'))}"
            + f" (a {link.get('strength') or 'strong'} link)")
    if link.get("lowered_from"):
        said += (f". The alert rests on this {link.get('strength')} link, so it is raised one level below its "
                 f"rule's ({link['lowered_from']}); confirm or reject the link to settle it")
    return said
