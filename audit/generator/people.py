"""The fictional workforce (departments, ranks and grades, posts and their vetting levels, a line
management tree, leavers, same-name pairs) and the College of Policing barred / advisory list.
"""
from __future__ import annotations

from datetime import date, timedelta

from audit.generator.core import Gen, Person

# name, weight, share of officers, post vetting level, share of designated (MV) posts
DEPARTMENTS = [
    ("Response", 26, 0.92, "rv", 0.0), ("Neighbourhood Policing", 12, 0.8, "rv", 0.0),
    ("CID", 9, 0.85, "rv", 0.1), ("Public Protection", 6, 0.8, "rv", 0.05),
    ("Custody", 5, 0.6, "rv", 0.0), ("Roads Policing", 5, 0.95, "rv", 0.0),
    ("Contact Centre", 8, 0.1, "rv", 0.0), ("Intelligence", 5, 0.6, "mv", 1.0),
    ("Professional Standards", 2, 0.6, "mv", 1.0), ("Counter Terrorism", 3, 0.75, "sc", 1.0),
    ("Finance", 3, 0.0, "rv", 0.35), ("Procurement", 2, 0.0, "rv", 0.45),
    ("Fleet", 2, 0.0, "rv", 0.0), ("IT", 4, 0.0, "rv", 0.1), ("HR", 3, 0.0, "rv", 0.0),
    ("Estates", 2, 0.0, "rv", 0.0),
]
OFFICER_RANKS = ["Constable", "Sergeant", "Inspector", "Chief Inspector", "Superintendent"]
STAFF_GRADES = ["Grade 4", "Grade 6", "SO2", "PO3", "PO6"]
STAFF_ROLES = ["Officer", "Senior Officer", "Team Leader", "Manager", "Head of {dept}"]
LEVEL_WEIGHTS = [0.72, 0.17, 0.08, 0.03]
COMMAND = [("Chief Constable", "officer", None), ("Deputy Chief Constable", "officer", 0),
           ("Assistant Chief Constable (Operations)", "officer", 1),
           ("Assistant Chief Constable (Crime)", "officer", 1),
           ("Director of Finance and Commercial", "staff", 1), ("Director of People", "staff", 1)]
# departments each command post leads
LEADS = {2: ["Response", "Neighbourhood Policing", "Roads Policing", "Custody", "Contact Centre"],
         3: ["CID", "Public Protection", "Intelligence", "Counter Terrorism", "Professional Standards"],
         4: ["Finance", "Procurement", "Fleet", "IT", "Estates"], 5: ["HR"]}
POLICE_FORCES = ["Northshire Police", "Westmoor Constabulary", "Eastvale Police",
                 "Metropolitan Police Service", "Southdown Constabulary", "Pennine Police"]


def _post_title(staff_type: str, level: int, dept: str) -> str:
    if staff_type == "special":
        return "Special Constable"
    if staff_type == "contractor":
        return f"Contractor - {dept}"
    if staff_type == "volunteer":
        return "Police Support Volunteer"
    if staff_type == "officer":
        rank = OFFICER_RANKS[level]
        prefix = "Detective " if dept in ("CID", "Public Protection", "Intelligence") and level < 4 else ""
        return f"{prefix}{rank} - {dept}"
    return f"{dept} " + STAFF_ROLES[level].format(dept=dept) if level < 4 else STAFF_ROLES[4].format(dept=dept)


def _vetting_level(dept: str, base: str, designated: float, staff_type: str, level: int, u: float) -> str:
    if staff_type == "contractor":
        return "nppv3"
    if staff_type == "volunteer":
        return "nppv2"
    if dept == "Counter Terrorism":
        return "dv" if level >= 3 else "sc"
    if base == "mv" or level >= 3 or (level >= 2 and dept in ("Finance", "Procurement")) or u < designated:
        return "mv"
    return base


def build_workforce(g: Gen) -> None:
    rng, fk = g.rng("workforce"), g.faker("workforce")
    n = max(300, int(round(2000 * g.scale)))
    people: list[Person] = []
    addresses: set[tuple[str, str]] = set()
    streets = sorted({fk.street_name() for _ in range(max(200, n // 4))})

    def new(first, last, staff_type, level, dept, title, vlevel, manager):
        while True:
            street = streets[int(rng.integers(len(streets)))]
            addr = (f"Flat {int(rng.integers(1, 12))}, " if rng.random() < 0.15 else "") + \
                f"{int(rng.integers(1, 220))} {street}"
            pc = fk.postcode()
            if (addr, pc) not in addresses:
                addresses.add((addr, pc))
                break
        years = float(rng.uniform(0.3, 4)) if staff_type in ("contractor", "volunteer") else float(
            rng.uniform(0.2, 28) if level < 3 else rng.uniform(12, 30))
        start = g.end - timedelta(days=int(years * 365.25))
        dob = start - timedelta(days=int(rng.uniform(19, 45) * 365.25))
        pid = f"{100001 + len(people)}"
        bank = f"{int(rng.integers(10, 99))}{int(rng.integers(1000, 9999))}{int(rng.integers(10**7, 10**8))}"
        p = Person(pid, first, last, dob, staff_type, title.split(" - ")[0] if staff_type == "officer" else (
            STAFF_GRADES[level] if staff_type == "staff" else staff_type.title()),
            dept, f"P{len(people) + 1:05d}", title, vlevel, start, None, manager, addr, pc, bank, level)
        people.append(p)
        return p

    def name():
        return (fk.first_name_female() if rng.random() < 0.45 else fk.first_name_male()), fk.last_name()

    command = []
    for title, st, boss in COMMAND:
        f, l = name()
        p = new(f, l, st, 4, "Chief Officer Team", title, "mv" if boss is not None else "sc",
                command[boss].person_id if boss is not None else None)
        p.rank_grade = title.split(" (")[0] if st == "officer" else "Director"
        p.seniority = 9 - (boss or 0)
        command.append(p)
    total_w = sum(d[1] for d in DEPARTMENTS)
    for dept, w, officer_share, base, designated in DEPARTMENTS:
        size = max(6, int(round(n * w / total_w)))
        head_idx = next(i for i, depts in LEADS.items() if dept in depts)
        by_level: dict[int, list[Person]] = {}
        levels = [4] + sorted(int(x) for x in rng.choice(4, size=size - 1, p=LEVEL_WEIGHTS))[::-1]
        for level in levels:
            staff_type = "officer" if rng.random() < officer_share else "staff"
            if level == 0 and rng.random() < 0.06:
                staff_type = {"Response": "special", "Neighbourhood Policing": "special",
                              "IT": "contractor", "Fleet": "contractor", "Estates": "contractor",
                              "Contact Centre": "volunteer"}.get(dept, staff_type)
            above = [by_level[k] for k in range(level + 1, 5) if by_level.get(k)]
            manager = command[head_idx].person_id if level == 4 else above[0][int(rng.integers(len(above[0])))].person_id
            f, l = name()
            title = _post_title(staff_type, level, dept)
            p = new(f, l, staff_type, level, dept, title,
                    _vetting_level(dept, base, designated, staff_type, level, float(rng.random())), manager)
            by_level.setdefault(level, []).append(p)
    # leavers (~5%) and new starters (~5%) inside the window, never managers or command
    for p in people[len(COMMAND):]:
        if p.seniority == 0 and rng.random() < 0.05:
            p.end_date = g.start + timedelta(days=int(rng.integers(10, g.days - 5)))
        elif p.seniority == 0 and rng.random() < 0.05:
            p.start_date = g.start + timedelta(days=int(rng.integers(5, g.days - 20)))
            p.date_of_birth = p.start_date - timedelta(days=int(rng.uniform(19, 35) * 365.25))
    # same-name pairs: half in the same department (ambiguous by name), half in another
    plain = [p for p in people[len(COMMAND):] if p.seniority == 0 and p.end_date is None]
    twins = max(2, int(round(8 * g.scale)))
    idx = rng.choice(len(plain), size=2 * twins, replace=False)
    in_dept: dict[str, list[Person]] = {}  # plain people by department, in order
    for q in plain:
        in_dept.setdefault(q.department, []).append(q)
    at = {id(q): i for group in in_dept.values() for i, q in enumerate(group)}
    for k in range(twins):
        a, b = plain[int(idx[2 * k])], plain[int(idx[2 * k + 1])]
        if k % 2 == 0:  # b: one of a's department other than a (a draw from that list without a)
            same = in_dept[a.department]
            j = int(rng.integers(len(same) - 1))
            b = same[j + 1 if j >= at[id(a)] else j]
        b.first_name, b.last_name = a.first_name, a.last_name
    g.people = people
    g.by_id = {p.person_id: p for p in people}


def workforce_rows(g: Gen) -> None:
    for p in g.people:
        g.workforce_row[p.person_id] = g.add("workforce", {
            "person_id": p.person_id, "first_name": p.first_name, "last_name": p.last_name,
            "date_of_birth": p.date_of_birth, "staff_type": p.staff_type, "rank_grade": p.rank_grade,
            "department": p.department, "post_id": p.post_id, "post_title": p.post_title,
            "post_vetting_level": p.post_vetting_level, "start_date": p.start_date,
            "end_date": p.end_date, "line_manager_id": p.line_manager_id,
            "home_address": p.home_address, "home_postcode": p.home_postcode,
            "bank_account_hash": p.bank_account})


BARRED_REASONS = ["Dismissed: gross misconduct (dishonesty)", "Dismissed: abuse of position for a sexual purpose",
                  "Dismissed: unauthorised disclosure of information", "Left while under investigation",
                  "Dismissed: corrupt association", "Resigned during gross misconduct proceedings"]


def barred_rows(g: Gen, forces: list) -> None:
    """Background barred / advisory entries: mostly never employed here, never a staff name + DOB."""
    rng, fk = g.rng("barred"), g.faker("barred")
    staff = {(p.first_name, p.last_name, p.date_of_birth) for p in g.people}
    for _ in range(g.count(300, 20)):
        first, last = fk.first_name(), fk.last_name()
        dob = date(1960, 1, 1) + timedelta(days=int(rng.integers(0, 365 * 40)))
        if (first, last, dob) in staff:
            continue
        lst = "barred" if rng.random() < 0.7 else "advisory"
        force = forces[int(rng.integers(len(forces)))]
        g.add("barred_list", {
            "list": lst, "first_name": first, "last_name": last, "date_of_birth": dob,
            "former_force": force.name, "_org:former_force": force.org,
            "listed_date": date(2018, 1, 1) + timedelta(days=int(rng.integers(0, (g.start - date(2018, 1, 1)).days))),
            "reason": BARRED_REASONS[int(rng.integers(len(BARRED_REASONS)))] if lst == "barred"
            else "Left while under investigation"})
