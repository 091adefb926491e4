"""Organisations (suppliers, donors, employers, newspapers, police forces) and the ways their
names are written across registers: case, Ltd/Limited, "The ... Company", "(UK)", "t/a", typos;
plus decoys (similar names, different companies) and short generic names.

Realism guard: no two organisations share a name once the legal suffix is dropped ("Acme Print Ltd"
and "Acme Print Limited" are one company in any real register), and no two share a trading name; a
decoy is a near miss ("Acme Print Group Ltd"), never the same name.
"""
from __future__ import annotations

import numpy as np

from audit.generator.core import Gen, Org
from audit.generator.people import POLICE_FORCES

STEMS = ["Pennine", "Apex", "Northgate", "Castleford", "Brightwater", "Kestrel", "Oakridge", "Meridian",
         "Harbourside", "Redbrook", "Vanguard", "Sentinel", "Westfield", "Eastgate", "Ashdown", "Beacon",
         "Summit", "Riverside", "Granite", "Falcon", "Hawthorn", "Ironbridge", "Lakeland", "Millbrook",
         "Nightingale", "Orchard", "Pinnacle", "Quayside", "Regent", "Saxon", "Thornbury", "Uplands",
         "Valley", "Windmill", "Yew Tree", "Albion", "Bramley", "Cobalt", "Dunmore", "Elmwood",
         "Foxglove", "Greystone", "Highfield", "Juniper", "Kingsway", "Larkspur", "Marlow", "Newbury"]
TRADES = {  # procurement category -> trade words used in names
    "Security": ["Security", "Guarding"], "IT Services": ["IT Solutions", "Digital", "Systems"],
    "Fleet": ["Motors", "Fleet Services", "Vehicle Hire"], "Vehicle Recovery": ["Recovery"],
    "Catering": ["Catering"], "Cleaning": ["Cleaning Services"], "Forensics": ["Forensic Services"],
    "Uniform": ["Workwear", "Uniforms"], "Training": ["Training"], "Legal": ["Legal Services"],
    "Medical": ["Medical Services"], "Facilities": ["Facilities Management"],
    "Telecoms": ["Telecom"], "Print": ["Print"], "Locksmiths": ["Locksmiths"], "Kennels": ["Kennels"],
}
GENERIC = ["Services Ltd", "UK Holdings Ltd", "Solutions Ltd", "Supplies Ltd", "Consulting Ltd"]
DONOR_KINDS = ["Rotary Club", "Chamber of Commerce", "Business Improvement District", "Community Trust",
               "Hotel", "Golf Club", "Football Club", "Rugby Club", "Primary School", "Residents Association",
               "Housing Association", "University", "Neighbourhood Watch", "Shopping Centre"]
PRESS = ["Gazette", "Evening Post", "Chronicle", "Echo", "Herald", "News"]
PI_FIRMS = ["Investigations Ltd", "Enquiry Agents Ltd", "Tracing Services Ltd"]
SUFFIX_ABBREV = {"Security": "Sec.", "IT Solutions": "IT Sol.", "Fleet Services": "Fleet Svcs",
                 "Cleaning Services": "Cleaning Svcs", "Forensic Services": "Forensic Svcs",
                 "Facilities Management": "Facilities Mgmt", "Legal Services": "Legal Svcs",
                 "Medical Services": "Medical Svcs"}


class Orgs:
    """Creates organisations with unique names and identifiers and writes name variants."""

    def __init__(self, g: Gen):
        self.g = g
        self.rng = g.rng("orgs")
        self.names: set[str] = set()
        self.identities: set[str] = set()  # names with the legal suffix removed (see identity())
        self.trading: dict[str, str] = {}  # trading name -> the org that uses it
        self.numbers: set[str] = set()
        self.banks: set[str] = {p.bank_account for p in g.people}
        self.addresses: set[tuple[str, str]] = {(p.home_address, p.home_postcode) for p in g.people}
        self.fk = g.faker("orgs")
        self.by_role: dict[str, list[Org]] = {}
        self.crowded: set[str] = set()  # kinds of name whose simple names have run out

    def _number(self) -> str:
        while True:
            n = (f"SC{int(self.rng.integers(100000, 999999))}" if self.rng.random() < 0.08
                 else f"{int(self.rng.integers(1, 15_000_000)):08d}")
            if n not in self.numbers:
                self.numbers.add(n)
                return n

    def _address(self) -> tuple[str, str]:
        while True:
            a = ("Unit " + str(int(self.rng.integers(1, 40))) + ", " if self.rng.random() < 0.4 else "") + \
                self.fk.street_address().replace("\n", ", ")
            pc = self.fk.postcode()
            if (a, pc) not in self.addresses:
                self.addresses.add((a, pc))
                return a, pc

    def bank(self) -> str:
        while True:
            b = f"{int(self.rng.integers(10, 99))}{int(self.rng.integers(1000, 9999))}{int(self.rng.integers(10**7, 10**8))}"
            if b not in self.banks:
                self.banks.add(b)
                return b

    def make(self, name: str, role: str, category: str = "", company: bool = True,
             decoy_of: str | None = None) -> Org:
        if name in self.names or identity(name) in self.identities:
            raise ValueError(f"organisation name {name!r} generated twice (or differs only by Ltd/Limited)")
        self.names.add(name)
        self.identities.add(identity(name))
        addr, pc = self._address()
        org = Org(f"ORG{len(self.g.orgs) + 1:04d}", name, self._number() if company else None,
                  f"GB{int(self.rng.integers(10**8, 10**9))}" if company and self.rng.random() < 0.85 else None,
                  addr, pc, self.bank(), role, decoy_of, category)
        self.g.orgs.append(org)
        self.g.org_by_id[org.org] = org
        self.by_role.setdefault(role, []).append(org)
        return org

    def _fresh_name(self, build, kind: str) -> str:
        """A name no organisation has. Once `kind`'s simple names run out (a large force has more
        suppliers of one trade than there are stems), names of that kind take a second word
        ("Pennine Hughes Security Ltd"); forces small enough never to run out keep their names."""
        if kind not in self.crowded:
            for _ in range(1000):
                name = build()
                if name not in self.names and identity(name) not in self.identities:
                    return name
            self.crowded.add(kind)
        for _ in range(1000):
            first, _, rest = build().partition(" ")
            name = f"{first} {self.fk.last_name()} {rest}"
            if name not in self.names and identity(name) not in self.identities:
                return name
        raise RuntimeError(f"ran out of organisation names ({kind})")

    def supplier(self, category: str | None = None, role: str = "supplier") -> Org:
        cats = sorted(TRADES)
        cat = category or cats[int(self.rng.integers(len(cats)))]

        def build():
            stem = STEMS[int(self.rng.integers(len(STEMS)))] if self.rng.random() < 0.6 else self.fk.last_name()
            trade = TRADES[cat][int(self.rng.integers(len(TRADES[cat])))]
            return f"{stem} {trade} " + ("Ltd" if self.rng.random() < 0.75 else "Limited")
        return self.make(self._fresh_name(build, f"supplier {cat}"), role, cat)

    def decoy(self, of: Org, role: str = "decoy") -> Org:
        """A different company whose name is close to `of` (plural, an extra word, a sister firm)."""
        base = of.name.rsplit(" ", 1)[0]
        options = []
        if base.endswith("y"):
            options.append(base[:-1] + "ies Ltd")
        options += [f"{base} Group Ltd", f"{base} (Northern) Ltd", f"{base} Systems Ltd", f"{base}s Ltd"]
        name = next((o for o in options if o not in self.names and identity(o) not in self.identities), None) or self._fresh_name(
            lambda: f"{base} {int(self.rng.integers(2, 99))} Ltd", "decoy")
        return self.make(name, role, of.category, decoy_of=of.org)

    def generic(self) -> list[Org]:
        return [self.make(n, "supplier", "Other") for n in GENERIC]

    def donor(self) -> Org:
        def build():
            kind = DONOR_KINDS[int(self.rng.integers(len(DONOR_KINDS)))]
            place = self.fk.city() if self.rng.random() < 0.5 else STEMS[int(self.rng.integers(len(STEMS)))]
            return f"{place} {kind}"
        name = self._fresh_name(build, "donor")
        return self.make(name, "donor", company=name.endswith(("Hotel", "Club", "Centre")) and self.rng.random() < 0.5)

    def employer(self) -> Org:
        return self.make(self._fresh_name(lambda: f"{self.fk.last_name()} " + ["Taxis", "Builders", "Bakery",
                         "Lettings", "Farm Shop", "Fitness", "Photography", "Tutoring", "Garden Centre"][
                         int(self.rng.integers(9))] + " Ltd", "employer"), "interest")

    def press_or_pi(self, press: bool) -> Org:
        if press:
            return self.make(self._fresh_name(lambda: f"{self.fk.city()} {PRESS[int(self.rng.integers(len(PRESS)))]}", "press"),
                             "press", company=False)
        return self.make(self._fresh_name(lambda: f"{self.fk.last_name()} {PI_FIRMS[int(self.rng.integers(len(PI_FIRMS)))]}", "pi_firm"),
                         "pi_firm")

    def forces(self) -> list[Org]:
        return [self.make(n, "force", company=False) for n in POLICE_FORCES]

    # ---- how a person or system writes the name -------------------------------------------------
    def variant(self, org: Org, rng: np.random.Generator, style: str | None = None) -> str:
        """One way of writing org's name. style None picks canonical ~60% of the time."""
        name = org.name
        if org.role not in ("supplier", "scenario_supplier", "decoy", "interest", "pi_firm", "local_business") or \
                not name.endswith(("Ltd", "Limited")):
            return name.upper() if style == "upper" else name
        if style is None:
            styles = ["canonical"] * 6 + ["upper", "limited", "the_company", "uk", "ta", "typo"]
            style = styles[int(rng.integers(len(styles)))]
        base = name.rsplit(" ", 1)[0]
        words = base.split(" ")
        if style == "upper":
            return (base + " LIMITED").upper()
        if style == "limited":
            return base + (" Limited" if name.endswith("Ltd") else " Ltd")
        if style == "the_company" and len(words) >= 2:
            return f"The {base} Company"
        if style == "uk":
            return f"{base} (UK) Ltd"
        if style == "ta" and len(words) >= 2:
            trade = " ".join(words[1:])
            # a real abbreviation or the words in full: an arbitrary cut ("Gard.") names no one
            short = SUFFIX_ABBREV.get(trade, trade)
            trading = f"{words[0]}{words[1][:4].title()}"
            if self.trading.setdefault(trading, org.org) != org.org:  # taken by another company
                return name
            return f"{words[0]} {short} Ltd t/a {trading}"
        if style == "typo" and len(words[0]) > 4:
            w = words[0]
            i = int(rng.integers(1, len(w) - 2))
            return " ".join([w[:i] + w[i + 1] + w[i] + w[i + 2:]] + words[1:]) + " Ltd"
        return name


def identity(name: str) -> str:
    """A name as a register reader would compare it: case and a trailing Ltd / Limited ignored."""
    words = name.lower().split()
    while len(words) > 1 and words[-1] in ("ltd", "limited", "ltd."):
        words.pop()
    return " ".join(words)
