"""Realistic records-system access logs for an already generated force (issue #19).

`generate_access_logs(folder)` reads the force's workforce, absence register and notifiable
associations (through the folder's own config.toml), draws a month of audit-log rows per person by
role (response, neighbourhood, roads, detectives, public protection, supervisors, analysts, contact
centre, custody, professional standards, staff), working pattern (shifts, office weeks, absences
skipped) and target (own cases, the team's, the unit's, any ordinary record, person searches),
plants the cases the access rules must find and the decoys they must not, and writes:

- `system_access.csv`   the audit log (the register `system_access`)
- `record_subjects.csv` people in each record and the officers assigned / attending (`record_subjects`)
- `access_truth.json`   planted cases and decoys, with the access ids and the rule each should raise
- `access_sources.toml` the two [[sources]] tables (appended to config.toml with `add_sources=True`)

The force's own files are only read (config.toml is appended to only when asked).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from audit.entities import names as name_keys
from audit.generator.access_world import (OFFICER_WORKS, RATE_PER_DAY, SYSTEM_OF, TARGET_MIX, TARGETS, WORKS,
                                          Force, Records, build_records, load_force)

VERSION = 4
#: distinct vulnerable victims' records a planted trawler opens in the month, besides their own work
TRAWL_RECORDS = 40
#: days after a hand-over during which the former officer in case still looks at the case (decoy);
#: the rule's default grace (rules/library/access/access_after_assignment_ended.yaml) is 14
HANDOVER_DAYS = (1, 10)
LATE_DAYS = (20, 40)

ACCESS_COLUMNS = {  # canonical field -> the export's header
    "access_id": "Audit Ref", "person_id": "User Staff No", "user_account": "Login", "accessed_date": "Event Date",
    "accessed_time": "Event Time", "system": "Application", "action": "Transaction", "record_id": "Occurrence Ref",
    "incident_id": "Incident Ref", "nominal_id": "Nominal Ref", "first_name": "Nominal Forename",
    "last_name": "Nominal Surname", "date_of_birth": "Nominal DOB", "search_text": "Search Criteria",
    "rows_returned": "Results",
}
ACTION_WORDS = {"view": "VIEW", "search": "SEARCH", "print": "PRINT", "export": "EXPORT"}
SUBJECT_COLUMNS = {
    "link_id": "Link Ref", "record_id": "Occurrence Ref", "incident_id": "Incident Ref", "system": "Application",
    "record_type": "Classification", "owning_unit": "Owning Unit", "role": "Involvement", "nominal_id": "Nominal Ref",
    "person_id": "Staff No", "first_name": "Forename", "last_name": "Surname", "date_of_birth": "DOB",
    "domestic_abuse": "DA Flag", "sexual_offence": "Sexual Offence Flag", "child": "Child Flag",
    "assigned_from": "Assigned From", "assigned_to": "Assigned To",
}
ROLE_WORDS = {"victim": "Victim", "suspect": "Suspect", "witness": "Witness", "other_party": "Other Party",
              "officer_in_case": "OIC", "attending_officer": "Attending Officer",
              "assigned_officer": "Assigned Officer", "supervisor": "Supervisor"}


@dataclass
class AccessResult:
    folder: Path
    period: str
    staff: int
    access_rows: int
    subject_rows: int
    seconds: float
    cpu_seconds: float
    scenarios: int
    decoys: int
    by_role: dict[str, int]


def _fmt(d) -> str:
    return "" if d is None or pd.isna(d) else pd.Timestamp(d).strftime("%d/%m/%Y")


class _Drawer:
    """Background access rows, vectorised over person x day."""

    def __init__(self, force: Force, rec: Records, rng: np.random.Generator, rate: float):
        self.f, self.rec, self.rng, self.rate = force, rec, rng, rate
        wf = force.workforce
        self.n, self.d = len(wf), len(force.days)
        self.off = self._off_days()
        victims = rec.subjects[rec.subjects["role"] == "victim"].set_index("record_id")
        self.victim = victims.loc[list(rec.record_ids)]
        self.public = rec.subjects[rec.subjects["nominal_id"].notna()][["first_name", "last_name", "date_of_birth"]]

    def _off_days(self) -> np.ndarray:
        """person x day: True on a day of absence (any kind) in the absence register."""
        wf, ab = self.f.workforce, self.f.absence
        off = np.zeros((self.n, self.d), dtype=bool)
        where = {p: i for i, p in enumerate(wf["person_id"])}
        start = pd.Timestamp(self.f.period.start)
        for p, s, e in zip(ab.get("person_id", []), ab.get("start_date", []), ab.get("end_date", [])):
            i = where.get(p)
            if i is None or pd.isna(s):
                continue
            a = max(0, (pd.Timestamp(s) - start).days)
            b = self.d - 1 if pd.isna(e) else min(self.d - 1, (pd.Timestamp(e) - start).days)
            if a <= b:
                off[i, a:b + 1] = True
        return off

    def worked(self) -> np.ndarray:
        wf = self.f.workforce
        officer = wf["staff_type"].isin(["officer", "special"]).to_numpy()
        p = np.array([WORKS.get(r, OFFICER_WORKS if o else 0.68) for r, o in zip(wf["role"], officer)])
        weekday = np.array([d.isoweekday() <= 5 for d in self.f.days])
        office = ~officer | wf["role"].isin(list(WORKS)).to_numpy()
        draw = self.rng.random((self.n, self.d))
        on = np.where(office[:, None], weekday[None, :] & (draw < 0.95), draw < p[:, None])
        return on & ~self.off

    def rows(self) -> pd.DataFrame:
        wf, rng, rec = self.f.workforce, self.rng, self.rec
        rate = np.array([RATE_PER_DAY[r] for r in wf["role"]]) * self.rate
        counts = rng.poisson(rate[:, None] * self.worked())
        person = np.repeat(np.arange(self.n), counts.sum(axis=1))
        day = np.concatenate([np.repeat(np.arange(self.d), c) for c in counts]) if len(counts) else np.array([], int)
        total = len(person)
        roles = wf["role"].to_numpy()[person]
        target = np.empty(total, dtype=np.int8)
        for r, mix in TARGET_MIX.items():
            m = roles == r
            target[m] = rng.choice(len(TARGETS), int(m.sum()), p=mix)
        record = np.full(total, -1, dtype=np.int64)
        pid = wf["person_id"].to_numpy()
        for t, lists, key in ((0, rec.own, pid), (1, rec.team, wf["team"].to_numpy()),
                              (2, rec.unit, wf["department"].to_numpy())):
            m = np.flatnonzero(target == t)
            record[m] = self._pick(lists, key[person[m]])
        ordinary = np.flatnonzero(~rec.vulnerable)
        anyone = np.flatnonzero((record < 0) & (target != 4))
        record[anyone] = ordinary[rng.integers(0, len(ordinary), len(anyone))]
        out = pd.DataFrame({"_p": person, "_day": day, "_rec": record, "_tgt": target})
        out["action"] = np.where(target == 4, "search",
                                 rng.choice(["view", "print", "export"], total, p=[0.92, 0.06, 0.02]))
        out["system"] = [SYSTEM_OF[r] for r in roles]
        self._subjects(out)
        return out

    def _pick(self, lists: dict, keys: np.ndarray) -> np.ndarray:
        """A random member of lists[key] per row (-1 where the list is empty)."""
        names = list(lists)
        pos = {k: i for i, k in enumerate(names)}
        lens = np.array([len(lists[k]) for k in names] + [0])
        starts = np.concatenate([[0], np.cumsum(lens[:-1])])
        flat = np.concatenate([np.asarray(lists[k], dtype=np.int64) for k in names] + [np.zeros(1, np.int64)])
        k = np.array([pos.get(x, len(names)) for x in keys], dtype=np.int64)
        n = lens[k]
        u = np.floor(self.rng.random(len(keys)) * np.maximum(n, 1)).astype(np.int64)
        return np.where(n > 0, flat[starts[k] + u], -1)

    def _subjects(self, out: pd.DataFrame) -> None:
        """Search criteria for searches (a person from the records, with a date of birth half the time)
        and the nominal viewed for a quarter of record views (the record's victim)."""
        rng = self.rng
        search = np.flatnonzero(out["action"].to_numpy() == "search")
        who = self.public.iloc[rng.integers(0, len(self.public), len(search))]
        with_dob = rng.random(len(search)) < 0.5
        for col in ("first_name", "last_name", "date_of_birth", "nominal_id", "search_text"):
            out[col] = None
        out.loc[search, "first_name"] = who["first_name"].to_numpy()
        out.loc[search, "last_name"] = who["last_name"].to_numpy()
        out.loc[search, "date_of_birth"] = np.where(with_dob, who["date_of_birth"].to_numpy(), None)
        out.loc[search, "search_text"] = [f"{l.upper()} {f.upper()}" + (f" {_fmt(d)}" if d else "")
                                          for f, l, d in zip(out.loc[search, "first_name"], out.loc[search, "last_name"],
                                                             out.loc[search, "date_of_birth"])]
        out.loc[search, "_rec"] = -1
        views = np.flatnonzero((out["action"].to_numpy() != "search") & (rng.random(len(out)) < 0.25))
        v = self.victim.iloc[out["_rec"].to_numpy()[views]]
        for col in ("first_name", "last_name", "date_of_birth", "nominal_id"):
            out.loc[views, col] = v[col].to_numpy()


class _Planter:
    """Planted cases and decoys: rows added to the log (and links to record_subjects), with truth."""

    def __init__(self, force: Force, rec: Records, rng: np.random.Generator):
        self.f, self.rec, self.rng = force, rec, rng
        self.rows: list[dict] = []
        self.links: list[dict] = []
        self.scenarios: list[dict] = []
        self.decoys: list[dict] = []
        self.not_planted: list[str] = []
        self.used: set[str] = set()
        self.index = {r: i for i, r in enumerate(rec.record_ids)}

    def person(self, roles=None, exclude_ppu=True) -> pd.Series | None:
        wf = self.f.workforce
        m = ~wf["person_id"].isin(self.used)
        if roles:
            m &= wf["role"].isin(roles)
        if exclude_ppu:
            m &= wf["department"] != "Public Protection"
        m &= ~self._long_sick(wf["person_id"])
        if not m.any():
            return None
        row = wf[m].iloc[int(self.rng.integers(0, int(m.sum())))]
        self.used.add(row["person_id"])
        return row

    def _long_sick(self, ids: pd.Series) -> pd.Series:
        ab = self.f.absence
        sick = ab[ab.get("absence_type", pd.Series(dtype=object)) == "sickness"]
        return ids.isin(set(sick["person_id"].dropna()))

    def day(self, lo: int = 0, hi: int | None = None) -> int:
        hi = len(self.f.days) - 1 if hi is None else hi
        return int(self.rng.integers(lo, max(lo, hi) + 1))

    def add(self, tag: str, person: str, day: int, action: str = "view", rec: int | None = None, **extra) -> None:
        self.rows.append({"_tag": tag, "_pid": person, "_day": day, "_rec": -1 if rec is None else rec,
                          "action": action, "system": extra.pop("system", "crime"), **extra})

    def case(self, kind: str, people: list[str], note: str, rule: str | None, decoy: bool = False) -> str:
        items = self.decoys if decoy else self.scenarios
        tag = f"{'AD' if decoy else 'AS'}{len(items) + 1:04d}"
        items.append({"id": tag, "kind": kind, "people": people, "rule": rule, "note": note, "access_ids": []})
        return tag

    def linked(self, pid: str) -> set[int]:
        s = self.rec.subjects
        return {self.index[r] for r in s.loc[s["person_id"] == pid, "record_id"]}

    # ---- planted -------------------------------------------------------------------------------
    def no_work_reason(self, n: int) -> None:
        vulnerable = np.flatnonzero(self.rec.vulnerable)
        for _ in range(n):
            p = self.person(("response", "neighbourhood", "roads", "staff", "contact"))
            if p is None:
                return
            mine = self.linked(p["person_id"])
            pool = [int(i) for i in vulnerable if int(i) not in mine and self.rec.owning_unit[i] != p["department"]]
            picks = self.rng.choice(pool, min(6, len(pool)), replace=False)
            tag = self.case("no_work_reason", [p["person_id"]], "views of domestic-abuse / sexual-offence / child "
                            "victims' records the user is not assigned to, did not attend and whose unit they are not in",
                            "access_no_work_reason")
            for i in picks:
                self.add(tag, p["person_id"], self.day(), rec=int(i), **self._victim(int(i)))

    def trawling(self, n: int, records: int = TRAWL_RECORDS) -> None:
        """A user opening many vulnerable victims' records they have no link to, through the month, on top
        of their ordinary work: the count, not any one view, is the sign (peers of the same department and
        grade open about 20-45 such records a month at the generator's rates; this adds `records`)."""
        vulnerable = np.flatnonzero(self.rec.vulnerable)
        for _ in range(n):
            p = self.person(("response", "neighbourhood"))
            if p is None:
                self.not_planted.append("trawling: no response or neighbourhood officer left")
                return
            mine = self.linked(p["person_id"])
            pool = [int(i) for i in vulnerable if int(i) not in mine and self.rec.owning_unit[i] != p["department"]]
            picks = self.rng.choice(pool, min(records, len(pool)), replace=False)
            tag = self.case("trawling", [p["person_id"]], f"opens {len(picks)} vulnerable victims' records with no "
                            "link to them across the month, on top of ordinary work", "access_peer_trawling")
            for i in picks:
                self.add(tag, p["person_id"], self.day(), rec=int(i), **self._victim(int(i)))

    def _victim(self, i: int) -> dict:
        s = self.rec.subjects
        v = s[(s["record_id"] == self.rec.record_ids[i]) & (s["role"] == "victim")].iloc[0]
        return {k: v[k] for k in ("first_name", "last_name", "date_of_birth", "nominal_id")}

    def associate(self, n: int) -> None:
        a = self.f.associations
        wf_ids = set(self.f.workforce["person_id"]) - self.used
        a = a[a["person_id"].isin(wf_ids) & a["associate_dob"].notna() & a["associate_name"].notna()]
        done = 0
        for _, row in a.sample(frac=1, random_state=int(self.rng.integers(0, 2**31))).iterrows():
            if done >= n:
                break
            parts = str(row["associate_name"]).split()
            if len(parts) < 2 or row["person_id"] in self.used:
                continue
            first, last = parts[0], parts[-1]
            dob = pd.Timestamp(row["associate_dob"]).date()
            if name_keys.name_dob_key(first, last, dob) != name_keys.name_dob_key_free(row["associate_name"], dob):
                continue
            pid = row["person_id"]
            self.used.add(pid)
            i = int(self.rng.choice(np.flatnonzero(~self.rec.vulnerable)))
            nominal = f"NOMA{done + 1:06d}"
            self._link(i, "suspect", nominal_id=nominal, first_name=first, last_name=last, date_of_birth=dob)
            tag = self.case("associate_record_viewed", [pid], f"views the record of {row['associate_name']}, their "
                            f"declared notifiable associate ({row.get('record_id')})", "access_associate_record_viewed")
            for _ in range(2):
                self.add(tag, pid, self.day(), rec=i, nominal_id=nominal, first_name=first, last_name=last,
                         date_of_birth=dob)
            # decoy: a namesake of the associate (same name, another date of birth)
            other = dob.replace(year=dob.year - 3) if not (dob.month == 2 and dob.day == 29) else dob.replace(year=dob.year - 4)
            dtag = self.case("associate_namesake", [pid], "views a person with the associate's name but another "
                             "date of birth", "access_associate_record_viewed", decoy=True)
            j = int(self.rng.choice(np.flatnonzero(~self.rec.vulnerable)))
            self._link(j, "witness", nominal_id=nominal + "N", first_name=first, last_name=last, date_of_birth=other)
            self.add(dtag, pid, self.day(), rec=j, nominal_id=nominal + "N", first_name=first, last_name=last,
                     date_of_birth=other)
            done += 1
        if done < n:
            self.not_planted.append(f"associate_record_viewed: {n - done} of {n} (too few declared associates "
                                    "with a name and date of birth)")

    def _link(self, i: int, role: str, **person) -> None:
        base = self.rec.subjects[self.rec.subjects["record_id"] == self.rec.record_ids[i]].iloc[0]
        self.links.append({k: base[k] for k in ("record_id", "incident_id", "system", "record_type", "owning_unit")}
                          | {"role": role, **person})

    def searches(self, n: int) -> None:
        wf = self.f.workforce
        for _ in range(n):
            p = self.person(("response", "neighbourhood", "detective", "contact", "staff", "custody"))
            if p is None or pd.isna(p["date_of_birth"]):
                continue
            tag = self.case("self_search", [p["person_id"]], "searches their own name and date of birth",
                            "access_self_search")
            self.add(tag, p["person_id"], self.day(), action="search", **self._criteria(p))
            c = wf[(wf["department"] != p["department"]) & (wf["line_manager_id"] != p["person_id"])
                   & wf["date_of_birth"].notna() & ~wf["person_id"].isin(self.used)]
            col = c.iloc[int(self.rng.integers(0, len(c)))]
            q = self.person(("response", "neighbourhood", "detective", "contact", "staff", "custody"))
            if q is None:
                continue
            tag = self.case("colleague_search", [q["person_id"], col["person_id"]],
                            f"searches a colleague ({col['person_id']}, {col['department']}) by name and date of birth",
                            "access_colleague_search")
            self.add(tag, q["person_id"], self.day(), action="search", **self._criteria(col))
            # decoy: a search for a member of the public who shares the searcher's surname
            r = self.person(("response", "neighbourhood", "detective"))
            if r is None:
                continue
            dtag = self.case("same_surname_search", [r["person_id"]], "searches a member of the public with their "
                             "own surname (another forename and date of birth)", "access_self_search", decoy=True)
            forename = "Zachary" if str(r["first_name"])[:1].upper() != "Z" else "Oliver"
            born = date(1961, 3, 14)
            self.add(dtag, r["person_id"], self.day(), action="search", first_name=forename,
                     last_name=r["last_name"], date_of_birth=born,
                     search_text=f"{str(r['last_name']).upper()} {forename.upper()} {_fmt(born)}")

    @staticmethod
    def _criteria(p) -> dict:
        dob = pd.Timestamp(p["date_of_birth"]).date()
        return {"first_name": p["first_name"], "last_name": p["last_name"], "date_of_birth": dob,
                "search_text": f"{str(p['last_name']).upper()} {str(p['first_name']).upper()} {_fmt(dob)}"}

    def after_assignment(self, n: int) -> None:
        s = self.rec.subjects
        start = self.f.period.start
        ended = s[(s["role"] == "officer_in_case") & s["assigned_to"].notna()].copy()
        ended["ended"] = pd.to_datetime(ended["assigned_to"]).dt.date
        late = ended[[(start - e).days + len(self.f.days) - 1 >= LATE_DAYS[0] for e in ended["ended"]]]
        late = late[~late["person_id"].isin(self.used)]
        # a planted case is a hand-over with no work reason left: not still attending or newly assigned
        # (an open link of the same officer) and not on the team of the officer now holding it
        still = s[s["person_id"].notna() & s["assigned_to"].isna()]
        open_links = set(zip(still["record_id"], still["person_id"]))
        team = dict(zip(self.f.workforce["person_id"], self.f.workforce["line_manager_id"]))
        holders = still.groupby("record_id")["person_id"].apply(set).to_dict()
        late = late[[(r, p) not in open_links
                     and not any(team.get(h) is not None and team.get(h) in (team.get(p), p) or team.get(p) == h
                                 for h in holders.get(r, ()))
                     for r, p in zip(late["record_id"], late["person_id"])]]
        done = 0
        for _, row in late.sample(frac=1, random_state=int(self.rng.integers(0, 2**31))).iterrows():
            if done >= 2 * n:
                break
            if row["person_id"] in self.used:
                continue
            lo = max(0, (row["ended"] - start).days + LATE_DAYS[0])
            if lo > len(self.f.days) - 1:
                continue
            self.used.add(row["person_id"])
            i = self.index[row["record_id"]]
            if done < n:
                tag = self.case("after_assignment_ended", [row["person_id"]], f"views {row['record_id']} "
                                f"{LATE_DAYS[0]}+ days after handing it over on {row['ended']}",
                                "access_after_assignment_ended")
                for _ in range(2):
                    self.add(tag, row["person_id"], self.day(lo), rec=i)
            else:
                first = (row["ended"] - start).days + HANDOVER_DAYS[0]
                if first < 0 or first + HANDOVER_DAYS[1] > len(self.f.days) - 1:
                    self.used.discard(row["person_id"])
                    continue
                dtag = self.case("handover_view", [row["person_id"]], f"views {row['record_id']} within "
                                 f"{HANDOVER_DAYS[1]} days of handing it over", "access_after_assignment_ended",
                                 decoy=True)
                self.add(dtag, row["person_id"], self.day(first, first + HANDOVER_DAYS[1] - 1), rec=i)
            done += 1
        if done < n:
            self.not_planted.append(f"after_assignment_ended: {n - done} of {n} (too few handed-over cases)")

    def sickness(self, n: int) -> None:
        ab = self.f.absence
        start, end = pd.Timestamp(self.f.period.start), pd.Timestamp(self.f.period.end)
        sick = ab[(ab["absence_type"] == "sickness") & ab["person_id"].isin(self.f.workforce["person_id"])].copy()
        last = sick["end_date"].fillna(end)
        sick["length"] = (last - sick["start_date"]).dt.days + 1
        overlap = (sick["start_date"] <= end) & (last >= start)
        longs = sick[overlap & (sick["length"] >= 28) & ~sick["person_id"].isin(self.used)]
        shorts = sick[overlap & (sick["length"] <= 5) & ~sick["person_id"].isin(self.used)
                      & ~sick["person_id"].isin(set(longs["person_id"]))]
        for kind, rows, decoy in (("during_long_sickness", longs, False), ("during_short_sickness", shorts, True)):
            done = 0
            for _, row in rows.iterrows():
                if done >= n or row["person_id"] in self.used:
                    continue
                self.used.add(row["person_id"])
                a = max(0, (row["start_date"] - start).days)
                b = min(len(self.f.days) - 1, (min(row["end_date"], end) - start).days if pd.notna(row["end_date"])
                        else len(self.f.days) - 1)
                tag = self.case(kind, [row["person_id"]], f"accesses records while on sickness absence "
                                f"{row['start_date'].date()} to {_fmt(row['end_date']) or 'open'} "
                                f"({row['length']} days)", "access_during_long_sickness", decoy=decoy)
                ordinary = np.flatnonzero(~self.rec.vulnerable)
                for _ in range(2 if decoy else 3):
                    self.add(tag, row["person_id"], self.day(a, b), rec=int(self.rng.choice(ordinary)))
                done += 1
            if done < n:
                self.not_planted.append(f"{kind}: {n - done} of {n} (too few spells in the month)")

    # ---- decoys drawn from the background ------------------------------------------------------
    def background_decoys(self, log: pd.DataFrame) -> None:
        wf = self.f.workforce
        role = wf["role"].to_numpy()[log["_p"].to_numpy()]
        ppu = (role == "ppu") & self.rec.vulnerable[np.maximum(log["_rec"].to_numpy(), 0)] & (log["_rec"] >= 0)
        sup = role == "supervisor"
        for kind, mask, note in (
                ("ppu_officer_views", ppu, "a public-protection officer viewing vulnerable victims' records of the "
                 "unit (their job)"),
                ("supervisor_team_review", sup & (log["_tgt"] == 1), "a supervisor reviewing the team's cases")):
            rows = log[mask]
            if rows.empty:
                continue
            p = rows["_p"].value_counts().index[0]
            pid = wf["person_id"].iloc[p]
            tag = self.case(kind, [pid], note, "access_no_work_reason", decoy=True)
            log.loc[rows.index[rows["_p"] == p], "_tag"] = tag
        analysts = wf[wf["role"] == "analyst"]
        if len(analysts):
            a = analysts.iloc[0]
            tag = self.case("analyst_bulk_report", [a["person_id"]], "an analyst's monthly bulk export of "
                            "domestic-abuse repeat victims", "access_no_work_reason", decoy=True)
            self.add(tag, a["person_id"], self.day(0, 5), action="export", system="intelligence",
                     search_text="DA repeat victims last 12 months - all divisions", rows_returned=int(self.rng.integers(2000, 9000)))


def generate_access_logs(folder: str | Path, seed: int = 1, month: str | None = None, rate: float = 1.0,
                         add_sources: bool = False) -> AccessResult:
    """Write the access log, record subjects and truth for one month of the force in `folder`."""
    t0, c0 = time.perf_counter(), time.process_time()
    folder = Path(folder)
    force = load_force(folder, month)
    rng = np.random.default_rng([seed, 19])
    rec = build_records(force, rng)
    background = _Drawer(force, rec, rng, rate)
    log = background.rows()
    log["_tag"] = None
    n = max(1, round(len(force.workforce) / 1000))
    plant = _Planter(force, rec, rng)
    plant.no_work_reason(n)
    plant.trawling(n)
    plant.associate(n)
    plant.searches(n)
    plant.after_assignment(n)
    plant.sickness(n)
    plant.background_decoys(log)
    log = _finish(force, rec, log, plant, rng)
    subjects = pd.concat([rec.subjects, _links(plant.links, len(rec.subjects))], ignore_index=True)
    _write(folder, log, subjects, force)
    by_role = force.workforce["role"].value_counts().to_dict()
    truth = {"generator": {"module": "audit.generator.access_logs", "version": VERSION, "seed": seed,
                           "period": str(force.period), "rate": rate},
             "rows": {"system_access": len(log), "record_subjects": len(subjects)},
             "staff_by_role": by_role,
             "scenarios": plant.scenarios, "decoys": plant.decoys, "not_planted": plant.not_planted}
    _ids(truth, log)
    (folder / "access_truth.json").write_text(json.dumps(truth, indent=1, default=str), encoding="utf-8")
    sources = sources_toml()
    (folder / "access_sources.toml").write_text(sources, encoding="utf-8")
    if add_sources:
        cfg = folder / "config.toml"
        text = cfg.read_text(encoding="utf-8")
        if 'name = "system_access"' not in text:
            cfg.write_text(text.rstrip("\n") + "\n\n" + sources, encoding="utf-8")
    return AccessResult(folder, str(force.period), len(force.workforce), len(log), len(subjects),
                        time.perf_counter() - t0, time.process_time() - c0, len(plant.scenarios), len(plant.decoys),
                        by_role)


def _links(links: list[dict], after: int) -> pd.DataFrame:
    df = pd.DataFrame(links)
    if len(df):
        df.insert(0, "link_id", [f"LNK{after + i:08d}" for i in range(1, len(df) + 1)])
    return df


def _finish(force: Force, rec: Records, log: pd.DataFrame, plant: _Planter, rng) -> pd.DataFrame:
    """Background + planted rows, with dates, times, ids, sorted by time."""
    wf = force.workforce
    pos = {p: i for i, p in enumerate(wf["person_id"])}
    extra = pd.DataFrame(plant.rows)
    if len(extra):
        extra["_p"] = extra.pop("_pid").map(pos)
        log = pd.concat([log, extra], ignore_index=True)
    log = log.drop(columns=["_tgt"])
    n = len(log)
    role = wf["role"].to_numpy()[log["_p"].to_numpy()]
    shift = np.where(np.isin(role, ["staff", "analyst", "psd"]), 8 * 3600,
                     np.array([7, 15, 23])[rng.integers(0, 3, n)] * 3600)
    secs = (shift + rng.integers(0, 8 * 3600, n)) % 86400
    days = np.array(force.days, dtype=object)
    log["accessed_date"] = days[log["_day"].to_numpy()]
    log["accessed_time"] = [f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}" for s in secs]
    log["_s"] = secs
    recno = log["_rec"].to_numpy()
    has = recno >= 0
    log["record_id"] = np.where(has, rec.record_ids[np.maximum(recno, 0)], None)
    log["incident_id"] = np.where(has, rec.incident_ids[np.maximum(recno, 0)], None)
    log["person_id"] = wf["person_id"].to_numpy()[log["_p"].to_numpy()]
    log["user_account"] = "u" + log["person_id"].astype(str)
    log = log.sort_values(["_day", "_s", "person_id"], kind="stable").reset_index(drop=True)
    log["access_id"] = [f"AU{i:09d}" for i in range(1, len(log) + 1)]
    return log


def _ids(truth: dict, log: pd.DataFrame) -> None:
    tagged = log[log["_tag"].notna()]
    ids = tagged.groupby("_tag")["access_id"].apply(list).to_dict()
    for item in truth["scenarios"] + truth["decoys"]:
        got = ids.get(item["id"], [])
        item["access_count"] = len(got)
        item["access_ids"] = got[:50]


def _write(folder: Path, log: pd.DataFrame, subjects: pd.DataFrame, force: Force) -> None:
    out = log.reindex(columns=list(ACCESS_COLUMNS))
    out["accessed_date"] = [d.strftime("%d/%m/%Y") for d in out["accessed_date"]]
    out["date_of_birth"] = out["date_of_birth"].map(_fmt)
    out["action"] = out["action"].map(ACTION_WORDS)
    out["rows_returned"] = out["rows_returned"].astype("Int64")
    out.rename(columns=ACCESS_COLUMNS).to_csv(folder / "system_access.csv", index=False, encoding="utf-8",
                                               chunksize=200_000)
    sub = subjects.reindex(columns=list(SUBJECT_COLUMNS))
    for c in ("date_of_birth", "assigned_from", "assigned_to"):
        sub[c] = sub[c].map(_fmt)
    for c in ("domestic_abuse", "sexual_offence", "child"):
        sub[c] = sub[c].map(lambda v: "" if v is None or pd.isna(v) else ("Y" if v else "N"))
    sub["role"] = sub["role"].map(ROLE_WORDS)
    sub.rename(columns=SUBJECT_COLUMNS).to_csv(folder / "record_subjects.csv", index=False, encoding="utf-8")


def sources_toml(prefix: str = "") -> str:
    """[[sources]] for the two files, in config.toml's form (see audit/generator/config_writer.py)."""
    def cols(mapping: dict) -> str:
        return "".join(f'"{v}" = "{k}"\n' for k, v in mapping.items())
    return (f'[[sources]]\nname = "system_access"\nregister = "system_access"\nkind = "csv"\n'
            f'path = "{prefix}system_access.csv"\nencoding = "utf-8"\ndate_formats = ["%d/%m/%Y"]\n'
            f"[sources.columns]\n{cols(ACCESS_COLUMNS)}[sources.values.action]\n"
            + "".join(f'"{v}" = "{k}"\n' for k, v in ACTION_WORDS.items())
            + f'\n[[sources]]\nname = "record_subjects"\nregister = "record_subjects"\nkind = "csv"\n'
            f'path = "{prefix}record_subjects.csv"\nencoding = "utf-8"\ndate_formats = ["%d/%m/%Y"]\n'
            f"[sources.columns]\n{cols(SUBJECT_COLUMNS)}[sources.values.role]\n"
            + "".join(f'"{v}" = "{k}"\n' for k, v in ROLE_WORDS.items()))
