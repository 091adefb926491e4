"""Pseudonymised copies of a run: people's names and keys replaced by stable pseudonyms.

A pseudonym is "PERSON-" + the first 10 hex digits of HMAC-SHA-256(key, identity), where the key
comes from the environment variable INTEGRITY_AUDIT_PSEUDONYM_KEY, so the same person gets the
same pseudonym every month and nobody without the key can reverse or recompute it. Replaced:
alert subjects and subject names, every person field and person key in fact values and links
(from the register dictionary), associates' names, and any of those names where they appear in
free text (alert titles, descriptions). Organisations are left as they are.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import os
import re
from typing import Any

from audit import registers
from audit.store.views import AlertView, RunView

KEY_ENV = "INTEGRITY_AUDIT_PSEUDONYM_KEY"
PREFIX = "PERSON-"
_NAME_FIELDS = {"person_name", "associate_name", "first_name", "last_name"}


class PseudonymError(RuntimeError):
    pass


def person_fields() -> frozenset[str]:
    """Canonical fields that hold a person's id, name or resolved key, in any register."""
    names = set(_NAME_FIELDS)
    for reg in registers.registers().values():
        for f in reg.fields.values():
            if f.entity == "person":
                names.add(f.name)
                if f.key:
                    names.add(f.key)
    return frozenset(names)


def _norm(text: str) -> str:
    return " ".join(str(text).split()).casefold()


class Pseudonymiser:
    def __init__(self, key: bytes):
        if not key:
            raise PseudonymError("the pseudonym key is empty")
        self._key = key
        self._seen: dict[str, str] = {}  # pseudonym -> identity (collision check)
        self.names: dict[str, str] = {}  # normalised name text -> pseudonym
        self._pattern: re.Pattern | None = None
        self._pattern_size = 0

    @classmethod
    def from_env(cls) -> "Pseudonymiser":
        key = os.environ.get(KEY_ENV, "")
        if not key:
            raise PseudonymError(
                f"--pseudonymise needs a secret key: set the environment variable {KEY_ENV} "
                "(keep it the same every month so a person keeps the same pseudonym)")
        return cls(key.encode("utf-8"))

    def of(self, identity: str) -> str:
        ident = _norm(identity)
        digest = hmac.new(self._key, ident.encode("utf-8"), hashlib.sha256).hexdigest()
        pseudo = PREFIX + digest[:10].upper()
        if self._seen.setdefault(pseudo, ident) != ident:
            raise PseudonymError(f"pseudonym collision for {pseudo}; use a different key")
        return pseudo

    def name(self, text: str, identity: str | None = None) -> str:
        """Pseudonym for a name; it follows the person's key when that is known."""
        pseudo = self.of(identity if identity else "name:" + text)
        if len(_norm(text)) >= 3:
            self.names.setdefault(_norm(text), pseudo)
        return pseudo

    def scrub(self, text: str) -> str:
        """Replace every known name inside free text."""
        if not self.names or not isinstance(text, str):
            return text
        if self._pattern is None or self._pattern_size != len(self.names):
            self._pattern = re.compile(r"(?<!\w)(" + "|".join(
                re.escape(n) for n in sorted(self.names, key=len, reverse=True)) + r")(?!\w)", re.I)
            self._pattern_size = len(self.names)
        return self._pattern.sub(lambda m: self.names.get(_norm(m.group(0)), m.group(0)), text)


def _fact_values(p: Pseudonymiser, values: dict[str, Any], fields: frozenset[str]) -> None:
    person = values.get("person_key") or values.get("person_id")
    for name in list(values):
        v = values[name]
        if name not in fields or v in (None, ""):
            continue
        if name == "person_name":
            values[name] = p.name(str(v), str(person) if person else None)
        elif name in _NAME_FIELDS:
            values[name] = p.name(str(v))
        else:
            values[name] = p.of(str(v))


def pseudonymise(run: RunView, p: Pseudonymiser | None = None) -> RunView:
    """A deep copy of the run with people replaced by pseudonyms (the input is not changed)."""
    p = p or Pseudonymiser.from_env()
    fields = person_fields()
    out = copy.deepcopy(run)
    alerts: list[AlertView] = out.alerts + out.resolved
    for a in alerts:  # pass 1: structured fields (this also learns the names)
        if a.subject_name:
            a.subject_name = p.name(a.subject_name, a.subject)
        if a.subject:
            a.subject = p.of(a.subject)
        for f in a.facts:
            _fact_values(p, f.values, fields)
        for ln in a.links:
            if ln.field in fields:
                ln.key = p.of(ln.key)
                ln.source_text = p.name(ln.source_text) if ln.source_text else ln.source_text
                ln.matched_text = p.name(ln.matched_text) if ln.matched_text else ln.matched_text
        for k, v in list(a.values.items()):
            if k.rsplit(".", 1)[-1] in fields and isinstance(v, str) and v:
                a.values[k] = p.name(v) if k.rsplit(".", 1)[-1] in _NAME_FIELDS else p.of(v)
    for a in alerts:  # pass 2: names inside free text
        a.title, a.runbook = p.scrub(a.title), p.scrub(a.runbook)
        a.rule_description = p.scrub(a.rule_description)
        a.values = {k: p.scrub(v) for k, v in a.values.items()}
        for f in a.facts:
            f.values = {k: p.scrub(v) for k, v in f.values.items()}
        for d in a.history:
            d.note = p.scrub(d.note)
    return out
