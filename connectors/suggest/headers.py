"""How much a source column's header looks like a register field (0-100, with what it matched).

Headers, field names, labels and aliases are normalised the same way: case, punctuation, "&" ->
"and", possessives, camelCase and snake_case, common abbreviations ("Trans No" -> "transaction
number", "Dept", "Amt", "Supp", "Co. Reg"), and a few synonyms folded onto one word ("number",
"reference" and "ID" are all "id"; "authorised" and "approval" are "approved"). The two texts are
then compared with rapidfuzz (mean of token-set and token-sort ratios); texts that share no telling word
(only "date", "id", "name"...) and are not spelled nearly the same count less.

A field is known by its name, its label (without a parenthesised note) and the aliases below: the
names published UK spend templates (HM Treasury, Local Government Transparency Code) and force
registers commonly give it. An alias match counts slightly less than a name or label match, and a
header containing a word of the field's own name gets a small bonus, so "Expenditure Category" beats
"Type of Expenditure" for `category`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from audit.registers import Field, Register

ALIAS_WEIGHT = 0.95
OWN_WORD_BONUS = 3.0
#: a match sharing no telling word (see _GENERIC) counts fully only when spelled nearly the same
#: ("Requisitioned" ~ "requisitioner"); otherwise it is damped ("Definition" ~ "requisitioner",
#: "Date Registered" ~ "date of birth")
CLOSE_SPELLING = 80.0
NO_SHARED_WORD = 0.8

_ABBREVIATIONS = {
    "no": "number", "num": "number", "nbr": "number", "nr": "number", "ref": "reference",
    "amt": "amount", "val": "value", "dept": "department", "div": "division",
    "supp": "supplier", "sup": "supplier", "trans": "transaction", "txn": "transaction",
    "tran": "transaction", "co": "company", "reg": "registration", "registered": "registration",
    "desc": "description", "descr": "description", "dob": "date of birth", "doc": "document",
    "exp": "expense", "expenditure": "expense", "emp": "employee", "inv": "invoice",
    "acc": "account", "acct": "account", "ac": "account", "addr": "address",
    "org": "organisation", "organization": "organisation", "authorized": "authorised",
    "cat": "category", "hrs": "hours", "wk": "week", "gl": "general ledger", "mgr": "manager",
    "pcode": "postcode", "yr": "year", "approx": "approximate", "est": "estimated",
    # police HR wording: operational / basic command units are the department
    "ocu": "command", "bcu": "command", "lpa": "command",
}
#: two-word spellings of one word, joined before the words are split
_PHRASES = {"post code": "postcode", "e mail": "email", "sur name": "surname", "fore name": "forename"}
_SYNONYMS = {
    "number": "id", "reference": "id", "identifier": "id",
    "employee": "person", "staff": "person", "personnel": "person", "officer": "person",
    "forename": "first name", "firstname": "first name", "given": "first", "forenames": "first name",
    "surname": "last name", "lastname": "last name",
    "authorised": "approved", "approval": "approved", "approver": "approved", "approving": "approved",
    "authoriser": "approved", "authorisation": "approved", "sanctioned": "approved", "authorising": "approved",
    "vendor": "supplier", "payee": "supplier", "beneficiary": "supplier", "creditor": "supplier",
    "expires": "expiry", "expiring": "expiry", "center": "centre",
}
_STOP = {"of", "the", "a", "an", "by", "for", "in", "on", "to", "or", "and", "per", "at", "with",
         "hash", "hashed"}
#: words that say little about which field a header is: sharing only these is no evidence, and
#: they earn no own-word bonus
_GENERIC = {"id", "date", "name", "type", "person", "value", "amount"}

#: field name -> other names registers give it (normalised before use)
ALIASES: dict[str, tuple[str, ...]] = {
    "record_id": ("id", "reference", "record", "entry id", "return reference", "case reference",
                  "declaration id", "register reference", "application reference"),
    "person_id": ("employee number", "staff number", "payroll number", "warrant number",
                  "collar number", "force number", "personnel number"),
    "person_name": ("name", "full name", "employee name", "officer name", "declarant", "recipient",
                    "recipient name", "name of recipient", "staff name", "member of staff", "declared by",
                    "declaring officer", "member name"),
    "person_department": ("department", "division", "unit", "team", "command"),
    "donor_name": ("offered by", "given by", "donor", "provider", "offered from", "payer name",
                   "donor organisation"),
    "kind": ("type", "gift or hospitality", "gift hospitality", "type of offer", "offer type"),
    "description": ("details", "narrative", "particulars", "item", "summary", "purpose",
                    "reason for claim"),
    "transaction_id": ("transaction number", "payment number", "voucher number", "document number",
                       "internal reference number", "payment reference"),
    "invoice_ref": ("invoice number", "invoice", "supplier invoice number"),
    "supplier_name": ("supplier", "supplier name", "paid to"),
    "supplier_id": ("supplier number", "supplier code", "supplier account"),
    "net_amount": ("amount", "net", "net value", "value", "spend", "amount excluding vat"),
    "transaction_date": ("date", "paid date", "payment date", "invoice date", "posting date",
                         "date paid"),
    "category": ("expense type", "expense category", "spend category", "procurement category",
                 "general ledger description", "account description", "subjective description",
                 "cost type"),
    "department": ("expense area", "service area", "cost centre", "directorate", "service", "command",
                   "division"),
    "transaction_type": ("document type", "invoice or credit"),
    "route": ("procurement route", "procurement method", "route to market"),
    "company_number": ("company registration number", "companies house number"),
    "vat_number": ("vat registration number", "vat"),
    "supplier_postcode": ("postcode",),
    "supplier_bank_hash": ("bank account", "bank reference", "bank details"),
    "supplier_address": ("address", "address line 1"),
    "home_address": ("address", "address line 1", "first line of address"),
    "home_postcode": ("postcode",),
    "end_date": ("leaving date", "leaver date", "termination date", "end date", "date left", "left force"),
    "expiry_date": ("expiry", "valid until", "renewal date", "renewal due"),
    "submitted_date": ("submitted", "date submitted", "application date"),
    "associate_organisation": ("organisation",),
    "organisation_name": ("organisation", "company", "business", "employer"),
    "estimated_value": ("value", "approximate value"),
    "amount": ("amount", "value", "claimed", "total"),
    "days": ("days", "days lost", "working days lost"),
    "level": ("clearance", "vetting level"),
    # HR systems (iTrent, Oracle HR, SAP): "First Names", "Family Name", "Position Number", "Date Joined"
    "first_name": ("first names", "given names", "forenames"),
    "last_name": ("family name",),
    "post_id": ("position number", "position id", "post number"),
    "post_title": ("position title", "job title", "role", "post"),
    "start_date": ("date joined", "joined", "appointed", "appointment date", "date of appointment",
                   "service start date"),
    "line_manager_id": ("line manager", "manager number", "supervisor number", "supervisor payroll number",
                        "reports to"),
    "bank_account_hash": ("bank account", "bank account number", "bank details"),
    # registers of gifts, interests and associations: "Date Received", "Date Registered", "Outcome Date"
    "offered_date": ("date received", "received", "date of offer", "offer date"),
    "declared_date": ("date registered", "registration date", "date recorded", "date notified",
                      "date reported", "notified"),
    "decided_by": ("decision by", "decision maker"),
    "decision_date": ("outcome date", "date of decision"),
    "hours_per_week": ("hours", "weekly hours", "approximate hours"),
    "approver": ("approving manager",),
    "approval_date": ("date approved", "date authorised"),
    # vetting: "Vetting Date" is when clearance was granted, "Renewal Date" when it runs out
    "granted_date": ("vetting date", "date cleared", "cleared", "date granted", "clearance date"),
    "next_review_due": ("next aftercare", "next aftercare due", "aftercare due"),
    "last_review_date": ("aftercare review", "last aftercare", "aftercare last"),
    # expenses: "Date Incurred", "Venue / Supplier", "Reason for Claim"
    "expense_date": ("date incurred", "date of journey", "date of expense", "incurred"),
    "claim_date": ("date claimed", "date submitted", "submitted"),
    "merchant": ("venue", "supplier", "vendor"),
    "requisitioner": ("raised by", "requested by", "ordered by"),
    "listed_date": ("date added", "date of entry", "entry date"),
    "absence_type": ("reason for absence", "absence reason"),
    # records systems' audit logs (Niche, Athena, STORM, PNC...): "Timestamp", "Module", "Activity"
    "access_id": ("event id", "audit id", "log id", "audit reference", "audit log id", "event reference"),
    "accessed_date": ("timestamp", "date time", "datetime", "event timestamp", "access date", "date accessed",
                      "audit date", "log date", "logged"),
    "accessed_time": ("time", "access time", "time accessed"),
    "system": ("module", "application", "system name", "source system", "records system"),
    "action": ("activity", "event type", "operation", "action type", "access type", "audit action",
               "transaction type"),
    "user_account": ("username", "user name", "login", "logon", "login id", "user login", "account name"),
    "rows_returned": ("result count", "results", "hits", "records returned", "number of results"),
    "search_text": ("search string", "search terms", "query", "criteria", "search criteria"),
    "nominal_id": ("nominal", "nominal reference", "person id", "subject id", "person record"),
    # the people in each record
    "link_id": ("involvement id", "link reference", "link number"),
    "role": ("involvement", "involvement type", "person role", "role in record"),
    "owning_unit": ("owning department", "investigating unit", "unit", "owning team", "owning station"),
    "record_type": ("classification", "occurrence type", "crime type", "offence", "record classification"),
    "assigned_from": ("date assigned", "assigned", "allocated", "date allocated", "allocation date"),
    "assigned_to": ("date unassigned", "unassigned", "deallocated", "date deallocated", "allocation ended"),
    "domestic_abuse": ("da flag", "domestic abuse", "domestic", "da marker"),
    "sexual_offence": ("sexual offence flag", "so flag", "rasso", "sexual offence victim"),
    "child": ("child flag", "under 18", "juvenile", "child victim"),
}


@dataclass(frozen=True)
class HeaderMatch:
    score: float
    matched: str  # the name, label or alias it matched, as written
    how: str  # "field name" | "label" | "alias"


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_SLASHED_LETTERS = re.compile(r"\b(\w)/(\w)\b")  # "G/L" -> "GL", "A/C" -> "AC"
_WORD = re.compile(r"[^\W_]+")
_DOTTED = re.compile(r"\b(?:[A-Za-z]\.){2,}")


@lru_cache(maxsize=4096)
def normalise(text: str) -> str:
    """Words a header or field text is compared by (order kept, each word once)."""
    text = _CAMEL.sub(" ", re.sub(r"\bDoB\b", "DOB", str(text)))  # "DoB" is one word, not "Do B"
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text)  # "D.O.B." -> "DOB"
    text = _SLASHED_LETTERS.sub(r"\1\2", text).casefold().replace("&", " and ")
    for phrase, word in _PHRASES.items():
        text = re.sub(rf"\b{phrase}\b", word, text)
    text = re.sub(r"['’]s\b", "", text)
    words: list[str] = []
    for raw in _WORD.findall(text):
        for word in _ABBREVIATIONS.get(raw, raw).split():
            for final in _SYNONYMS.get(word, word).split():
                if final not in _STOP and final not in words:
                    words.append(final)
    return " ".join(words)


def _without_note(label: str) -> str:
    return re.sub(r"\([^)]*\)", " ", label)


def similarity(a: str, b: str) -> float:
    """0-100 for two normalised texts."""
    if not a or not b:
        return 0.0
    if a == b:
        return 100.0
    score = (fuzz.token_set_ratio(a, b) + fuzz.token_sort_ratio(a, b)) / 2
    if score < CLOSE_SPELLING and not (set(a.split()) & set(b.split())) - _GENERIC:
        score *= NO_SHARED_WORD
    return score


def _register_words(register: Register) -> list[str]:
    """Words naming the register's records ("vetting", "interest"...) and its initials ("na")."""
    words = normalise(register.label).split() + normalise(register.name).split()
    initials = "".join(w[0] for w in normalise(register.label).split())
    return words + ([initials] if len(initials) > 1 else [])


#: (register, field) -> the names it goes by in that register, instead of its bare field name: an
#: access log names two people, the user (person_id) and the person viewed ("PersonID" is the latter)
REGISTER_ALIASES: dict[tuple[str, str], tuple[str, ...]] = {
    ("system_access", "person_id"): ("user id", "user", "user number", "user staff number", "user person id",
                                     "officer id"),
}


def candidates(fld: Field, register: Register) -> list[tuple[str, str]]:
    """(text as written, how) a header may match for this field."""
    own = REGISTER_ALIASES.get((register.name, fld.name), ())
    out = [] if own else [(fld.name, "field name")]
    out += [(_without_note(fld.label).strip(), "label")]
    out += [(alias, "alias") for alias in ALIASES.get(fld.name, ()) + own]
    if fld.name == "record_id":
        out += [(f"{word} id", "alias") for word in _register_words(register)]
    return out


def header_match(header: str, fld: Field, register: Register) -> HeaderMatch:
    """The best match of a header against a field's name, label and aliases."""
    h = normalise(header)
    best = HeaderMatch(0.0, "", "")
    for text, how in candidates(fld, register):
        score = similarity(h, normalise(text)) * (ALIAS_WEIGHT if how == "alias" else 1.0)
        if score > best.score:
            best = HeaderMatch(score, text, how)
    own = set(normalise(fld.name.replace("_", " ")).split()) - _GENERIC
    if best.score and own.intersection(h.split()):
        best = HeaderMatch(min(100.0, best.score + OWN_WORD_BONUS), best.matched, best.how)
    return best
