"""The world an access log happens in: who works where (read from an already generated force
folder through its own config.toml and the connectors), their roles and teams, the records and
incidents of the period with the people in them and the officers assigned or attending.

Used by audit/generator/access_logs.py. Reads the force; never writes or changes its files.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

import connectors
from audit import settings
from audit.period import Period

#: mean record accesses per worked day, by role. No published figure exists for a UK force's
#: records-system audit logs: these are invented defaults (DOMAIN.md [I]) sized so that a force of
#: 10,000 staff writes millions of rows a month, as issue #19 says a real one does.
RATE_PER_DAY = {
    "response": 35.0, "neighbourhood": 25.0, "roads": 20.0, "detective": 55.0, "ppu": 60.0,
    "supervisor": 45.0, "analyst": 70.0, "contact": 80.0, "custody": 40.0, "psd": 25.0,
    "counter_terrorism": 15.0, "staff": 2.0,
}
#: which share of a role's accesses go where: own records, the team's, the unit's (PPU: the unit's
#: vulnerable-victim records are its job), any ordinary record, a person search
TARGETS = ("own", "team", "unit", "any", "search")
TARGET_MIX = {
    "response": (0.40, 0.20, 0.00, 0.28, 0.12), "neighbourhood": (0.35, 0.20, 0.00, 0.30, 0.15),
    "roads": (0.45, 0.15, 0.00, 0.25, 0.15), "detective": (0.55, 0.20, 0.00, 0.10, 0.15),
    "ppu": (0.35, 0.15, 0.35, 0.00, 0.15), "supervisor": (0.15, 0.60, 0.00, 0.15, 0.10),
    "analyst": (0.00, 0.00, 0.00, 0.60, 0.40), "contact": (0.00, 0.00, 0.00, 0.85, 0.15),
    "custody": (0.00, 0.00, 0.00, 0.80, 0.20), "psd": (0.00, 0.00, 0.00, 0.60, 0.40),
    "counter_terrorism": (0.00, 0.00, 0.00, 0.50, 0.50), "staff": (0.00, 0.00, 0.00, 0.80, 0.20),
}
#: share of days a person in the role works (shift patterns for officers, office weeks for staff)
WORKS = {"staff": 0.68, "analyst": 0.68, "psd": 0.68}
OFFICER_WORKS = 0.55
OPERATIONAL = {"Response": "response", "Neighbourhood Policing": "neighbourhood", "Roads Policing": "roads",
               "CID": "detective", "Public Protection": "ppu", "Contact Centre": "contact",
               "Custody": "custody", "Professional Standards": "psd", "Counter Terrorism": "counter_terrorism",
               "Intelligence": "analyst"}
SYSTEM_OF = {"response": "crime", "neighbourhood": "crime", "roads": "crime", "detective": "crime",
             "ppu": "crime", "supervisor": "crime", "analyst": "intelligence", "contact": "command_control",
             "custody": "custody", "psd": "intelligence", "counter_terrorism": "intelligence", "staff": "crime"}
CRIME_TYPES = ("theft", "burglary", "criminal damage", "assault", "public order", "vehicle crime", "fraud",
               "drugs possession")


@dataclass
class Force:
    folder: Path
    period: Period
    workforce: pd.DataFrame  # in post during the period, with role, team, unit
    absence: pd.DataFrame
    associations: pd.DataFrame
    names: "Names"

    @property
    def days(self) -> list[date]:
        n = (self.period.end - self.period.start).days + 1
        return [self.period.start + timedelta(days=i) for i in range(n)]


@dataclass
class Records:
    """record_subjects rows (canonical field names) and, per record, its facts for the access draw."""
    subjects: pd.DataFrame
    record_ids: np.ndarray
    incident_ids: np.ndarray
    vulnerable: np.ndarray       # bool per record: a domestic-abuse, sexual-offence or child victim
    owning_unit: np.ndarray      # department name per record
    created: np.ndarray          # day offset from the period start (negative: before it)
    own: dict[str, list[int]] = field(default_factory=dict)    # person_id -> records they work on now
    team: dict[str, list[int]] = field(default_factory=dict)   # team id -> records of its members
    unit: dict[str, list[int]] = field(default_factory=dict)   # department -> vulnerable records it owns


class Names:
    """Members of the public: forenames and surnames from Faker's en_GB lists (no Faker calls)."""

    def __init__(self) -> None:
        from faker.providers.person.en_GB import Provider
        self.first = np.array(sorted(set(Provider.first_names_male) | set(Provider.first_names_female)))
        self.last = np.array(sorted(Provider.last_names))

    def draw(self, rng: np.random.Generator, n: int, day0: date, taken: set[str]) -> pd.DataFrame:
        """n people with a date of birth between 1950 and day0 - 10 years; none shares a workforce
        member's surname + first initial + date of birth (`taken`), so no background search reads as a
        search for a colleague."""
        first = self.first[rng.integers(0, len(self.first), n)]
        last = self.last[rng.integers(0, len(self.last), n)]
        lo, hi = date(1950, 1, 1).toordinal(), (day0 - timedelta(days=3660)).toordinal()
        dob = rng.integers(lo, hi, n)
        out = pd.DataFrame({"first_name": first, "last_name": last,
                            "date_of_birth": [date.fromordinal(int(d)) for d in dob]})
        key = out["last_name"].str.lower() + "|" + out["first_name"].str[0].str.lower() + "|" + \
            out["date_of_birth"].astype(str)
        clash = key.isin(taken)
        out.loc[clash, "date_of_birth"] = [date.fromordinal(int(d)) for d in rng.integers(lo, hi, int(clash.sum()))]
        return out


def _role(row) -> str:
    dept = row["department"] or ""
    base = OPERATIONAL.get(dept, "staff")
    if base in ("response", "neighbourhood", "roads", "detective", "ppu") and row["manages"]:
        return "supervisor"
    return base


def load_force(folder: Path, month: str | None = None) -> Force:
    """The force of `folder` (its config.toml and truth.json) for the audit month `month`
    (default: the generator's last month)."""
    folder = Path(folder)
    cfg = settings.load(folder / "config.toml")
    frames = {}
    for src in cfg.sources:
        if src.register in ("workforce", "absence", "notifiable_associations"):
            frames[src.register] = connectors.pull(src, cfg.base_dir).df
    if month is None:
        truth = folder / "truth.json"
        month = json.loads(truth.read_text(encoding="utf-8"))["generator"]["end"] if truth.exists() else None
    period = Period.parse(month) if month else Period.parse(pd.Timestamp.today().strftime("%Y-%m"))
    wf = frames["workforce"].copy()
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)
    live = (wf["start_date"].isna() | (wf["start_date"] <= end)) & (wf["end_date"].isna() | (wf["end_date"] >= start))
    wf = wf[live & wf["person_id"].notna()].drop_duplicates("person_id").reset_index(drop=True)
    managers = set(wf["line_manager_id"].dropna())
    wf["manages"] = wf["person_id"].isin(managers)
    wf["role"] = wf.apply(_role, axis=1)
    # a team: a supervisor and the people they line-manage; others are a team of one
    wf["team"] = np.where(wf["role"] == "supervisor", wf["person_id"], wf["line_manager_id"].fillna(wf["person_id"]))
    absence = frames.get("absence", pd.DataFrame(columns=["person_id", "absence_type", "start_date", "end_date"]))
    assoc = frames.get("notifiable_associations", pd.DataFrame(columns=["person_id", "associate_name", "associate_dob"]))
    return Force(folder, period, wf, absence, assoc, Names())


def build_records(force: Force, rng: np.random.Generator, per_staff: float = 3.0, backlog_days: int = 90) -> Records:
    """Incidents and crime records of the period and the `backlog_days` before it (one record per
    incident), each with a victim, maybe a suspect and witnesses, attending officers, and an officer
    in case; about a fifth of victims are vulnerable (domestic abuse, sexual offence, child) and their
    records are owned by the Public Protection unit."""
    wf = force.workforce
    n_days = len(force.days) + backlog_days
    n = max(50, int(len(wf) * per_staff * n_days / 30))
    created = rng.integers(-backlog_days, len(force.days), n)
    da = rng.random(n) < 0.14
    sexual = rng.random(n) < 0.035
    child = rng.random(n) < 0.06
    vulnerable = da | sexual | child
    record_ids = np.char.add("CR", np.char.zfill(np.arange(1, n + 1).astype(str), 7))
    incident_ids = np.char.add("INC", np.char.zfill(np.arange(1, n + 1).astype(str), 7))
    day0 = force.period.start

    def pick(roles: tuple[str, ...], k: int) -> np.ndarray:
        pool = wf.index[wf["role"].isin(roles)].to_numpy()
        if len(pool) == 0:
            pool = wf.index.to_numpy()
        return pool[rng.integers(0, len(pool), k)]

    attend = pick(("response", "neighbourhood", "roads"), n)
    attend2 = np.where(rng.random(n) < 0.4, pick(("response", "neighbourhood", "roads"), n), -1)
    oic_ppu = pick(("ppu",), n)
    oic_cid = pick(("detective",), n)
    serious = rng.random(n) < 0.25
    oic = np.where(vulnerable, oic_ppu, np.where(serious, oic_cid, attend))
    owning = np.where(vulnerable, "Public Protection", np.where(serious, "CID", wf["department"].to_numpy()[attend]))
    # 4% of cases were handed to another officer in case before the period ended
    handed = (rng.random(n) < 0.04) & (created < len(force.days) - 20)
    new_oic = np.where(vulnerable, pick(("ppu",), n), np.where(serious, pick(("detective",), n), pick(("response",), n)))
    handed &= new_oic != oic
    public = force.names.draw(rng, 3 * n, day0, set(wf_keys(wf)))
    pf, pl, pd_ = (public[c].tolist() for c in ("first_name", "last_name", "date_of_birth"))
    rows: list[dict] = []
    pid = wf["person_id"].tolist()
    owning, record_ids, incident_ids = owning.tolist(), record_ids.tolist(), incident_ids.tolist()
    victim_i, other_i = 0, n
    for i in range(n):
        opened = day0 + timedelta(days=int(created[i]))
        rtype = ("domestic abuse" if da[i] else "sexual offence" if sexual[i] else
                 CRIME_TYPES[int(rng.integers(0, len(CRIME_TYPES)))])
        base = {"record_id": record_ids[i], "incident_id": incident_ids[i], "system": "crime",
                "record_type": rtype, "owning_unit": owning[i]}
        victim_i += 1
        rows.append({**base, "role": "victim", "nominal_id": f"NOM{victim_i:08d}", "first_name": pf[victim_i - 1],
                     "last_name": pl[victim_i - 1], "date_of_birth": pd_[victim_i - 1], "domestic_abuse": bool(da[i]),
                     "sexual_offence": bool(sexual[i]), "child": bool(child[i])})
        for role, chance in (("suspect", 0.6), ("witness", 0.5)):
            if rng.random() < chance and other_i < len(pf):
                other_i += 1
                rows.append({**base, "role": role, "nominal_id": f"NOM{other_i:08d}", "first_name": pf[other_i - 1],
                             "last_name": pl[other_i - 1], "date_of_birth": pd_[other_i - 1]})
        rows.append({**base, "role": "attending_officer", "person_id": pid[attend[i]], "assigned_from": opened})
        if attend2[i] >= 0 and attend2[i] != attend[i]:
            rows.append({**base, "role": "attending_officer", "person_id": pid[attend2[i]], "assigned_from": opened})
        if handed[i]:
            moved = opened + timedelta(days=int(rng.integers(3, max(4, len(force.days) - int(created[i]) - 15))))
            rows.append({**base, "role": "officer_in_case", "person_id": pid[oic[i]], "assigned_from": opened,
                         "assigned_to": moved})
            rows.append({**base, "role": "officer_in_case", "person_id": pid[new_oic[i]],
                         "assigned_from": moved + timedelta(days=1)})
        elif oic[i] != attend[i]:
            rows.append({**base, "role": "officer_in_case", "person_id": pid[oic[i]], "assigned_from": opened})
    subjects = pd.DataFrame(rows)
    subjects.insert(0, "link_id", [f"LNK{i:08d}" for i in range(1, len(subjects) + 1)])
    rec = Records(subjects, np.array(record_ids), np.array(incident_ids), vulnerable, np.array(owning), created)
    index = {r: i for i, r in enumerate(record_ids)}
    current = subjects[subjects["person_id"].notna() & subjects.get("assigned_to", pd.Series(dtype=object)).isna()]
    team_of = dict(zip(wf["person_id"], wf["team"]))
    for p, r in zip(current["person_id"], current["record_id"]):
        rec.own.setdefault(p, []).append(index[r])
        rec.team.setdefault(team_of.get(p, p), []).append(index[r])
    for i in np.flatnonzero(vulnerable):
        rec.unit.setdefault(str(owning[i]), []).append(int(i))
    return rec


def wf_keys(wf: pd.DataFrame) -> list[str]:
    """Workforce surname|first initial|date of birth (lower case), to keep the public apart."""
    dob = pd.to_datetime(wf["date_of_birth"], errors="coerce").dt.strftime("%Y-%m-%d")
    return (wf["last_name"].fillna("").str.lower() + "|" + wf["first_name"].fillna("").str[:1].str.lower()
            + "|" + dob.fillna("")).tolist()
