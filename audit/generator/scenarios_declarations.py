"""Planted scenarios and decoys for gifts, business interests, associations and vetting.

State scenarios get the first period whose run must report them (e.g. the first month end at
which a review is more than 365 days old); they keep alerting in every later month.
"""
from __future__ import annotations

from datetime import date, timedelta

from audit.generator.core import add_years
from audit.generator.declarations import association_row, interest_row
from audit.generator.hr_records import RENEWAL_YEARS, add_absence, set_review
from audit.period import Period
from audit.generator.scenarios import Planter

CASH = ["£50 shopping voucher", "Cash (£40) in a thank-you card", "Gift card for a department store",
        "Voucher for a spa day"]
KEYWORDS = ["Two tickets to a football match", "Bottle of wine", "Christmas dinner at a hotel",
            "Evening reception at the town hall", "Concert tickets"]


def _psd(pl: Planter):
    """The first senior Professional Standards officer (found once: a long scan in a large force)."""
    g = pl.g
    if not hasattr(g, "_psd"):
        g._psd = next(p for p in g.people if p.department == "Professional Standards" and p.seniority >= 2)
    return g._psd


def _first_over(pl: Planter, period: Period, days: int) -> date:
    """A date d such that period.end - d > days but the previous month end - d <= days."""
    hi = period.end - timedelta(days=days + 1)
    lo = (period.previous().end - timedelta(days=days)) if period != pl.g.periods[0] else hi - timedelta(days=20)
    return lo + timedelta(days=int(pl.rng.integers(0, max(1, (hi - lo).days + 1))))


# ---- gifts ------------------------------------------------------------------------------------
def over_threshold(pl, m, value=None, decoy=False):
    p = pl.person()
    org = pl.donor()
    v = value or int(pl.rng.integers(3000, 9000))
    row = pl.gift(p, pl.weekday(m, p), org, 2500 if decoy else v, approver=False)
    pl.record("gifts_over_threshold_unapproved", m, [("gifts_hospitality", row)],
              "accepted £25.00 exactly, no approver" if decoy else f"accepted £{v / 100:.2f} with no approver",
              [p], [org], decoy)


def self_approved(pl, m, decoy=False):
    p = pl.person()
    org = pl.donor()
    row = pl.gift(p, pl.weekday(m, p), org, int(pl.rng.integers(3000, 6000)),
                  approver=p.line_manager_id if decoy else p.person_id)
    pl.record("gifts_self_approved", m, [("gifts_hospitality", row)],
              "approved by the line manager" if decoy else "recipient approved their own gift", [p], [org], decoy)


def cash(pl, m, decoy=False):
    p = pl.person()
    org = pl.donor()
    desc = "Cash offered by a member of the public" if decoy else CASH[int(pl.rng.integers(len(CASH)))]
    row = pl.gift(p, pl.weekday(m, p), org, int(pl.rng.integers(2000, 5000)), desc=desc,
                  outcome="declined" if decoy else "accepted", approver=not decoy)
    pl.record("gifts_cash_or_voucher_accepted", m, [("gifts_hospitality", row)],
              "cash offered and declined" if decoy else f"accepted: {desc}", [p], [org], decoy)


def late(pl, m, decoy=False):
    p = pl.person()
    org = pl.donor()
    lag = 28 if decoy else int(pl.rng.integers(29, 61))
    offered = pl.weekday(m, p)
    if offered + timedelta(days=lag) > pl.g.end:
        offered = pl.g.end - timedelta(days=lag + int(pl.rng.integers(0, 6)))
    row = pl.gift(p, offered, org, int(pl.rng.integers(800, 2400)), declared_after=lag)
    pl.record("gifts_declared_late", Period.containing(offered), [("gifts_hospitality", row)],
              f"declared {lag} days after it was offered", [p], [org], decoy)


def repeated(pl, m, decoy=False):
    p = pl.person()
    org = pl.donor()
    days = sorted({pl.weekday(pl.shift(m, -k), p) for k in (2, 1, 0)})
    rows = [pl.gift(p, d, org, int(pl.rng.integers(800, 2000)), name_style=s)
            for d, s in zip(days, ["canonical", "upper", "limited"])]
    orgs = [org]
    if decoy:
        other = pl.orgs.decoy(org, role="local_business")
        rows[-1]["donor_name"], rows[-1]["_org:donor_name"] = other.name, other.org
        rows[-1]["donor_company_number"] = other.company_number
        orgs.append(other)
    pl.record("gifts_repeated_donor", m, [("gifts_hospitality", r) for r in rows],
              "two gifts from the donor, the third from a similarly named different company" if decoy
              else "three accepted gifts from one donor within a year", [p], orgs, decoy)


def cumulative(pl, m, decoy=False):
    p = pl.person()
    org = pl.donor()
    a = int(pl.rng.integers(14000, 16000))
    b = 30000 - a if decoy else 30000 - a + int(pl.rng.integers(500, 6000))
    rows = [pl.gift(p, pl.weekday(pl.shift(m, -1), p), org, a), pl.gift(p, pl.weekday(m, p), org, b)]
    pl.record("gifts_cumulative_value_from_donor", m, [("gifts_hospitality", r) for r in rows],
              f"two gifts totalling £{(a + b) / 100:.2f}", [p], [org], decoy)


def keywords(pl, m, decoy=False):
    p = pl.person()
    org = pl.donor()
    desc = KEYWORDS[int(pl.rng.integers(len(KEYWORDS)))]
    row = pl.gift(p, pl.weekday(m, p), org, int(pl.rng.integers(1500, 2500)), desc=desc,
                  kind="hospitality", outcome="declined" if decoy else "accepted", approver=not decoy)
    pl.record("gifts_high_risk_keywords", m, [("gifts_hospitality", row)],
              f"{'declined' if decoy else 'accepted'}: {desc}", [p], [org], decoy)


# ---- business interests -----------------------------------------------------------------------
def _interest(pl, p, submitted, itype="property_rental", decision="approved", hours=6.0, org=None, **kw):
    row = interest_row(pl.g, p, submitted, itype, decision, pl.rng, decider=_psd(pl), hours=hours,
                       org=pl.orgs.variant(org, pl.rng, "canonical") if org else None,
                       org_id=org.org if org else None, **kw)
    if org is not None:
        row["company_number"] = org.company_number
    return pl.g.add("business_interests", row)


def interest_overdue(pl, m, decoy=False):
    p = pl.person()
    last = pl.g.end - timedelta(days=365) if decoy else _first_over(pl, m, 365)
    row = _interest(pl, p, last - timedelta(days=400), decided=last - timedelta(days=380), reviewed=last)
    pl.record("interest_review_overdue", pl.g.end_period if decoy else m, [("business_interests", row)],
              f"approved interest last reviewed {last}", [p], decoy=decoy)


def interest_high_risk(pl, m, decoy=False):
    p = pl.person()
    submitted = pl.weekday(m, p, hi=20)
    itype = "private_investigation" if decoy else ["private_investigation", "security", "vehicle_recovery",
                                                   "debt_collection", "licensed_premises", "betting_gaming"][int(pl.rng.integers(6))]
    org = pl.orgs.employer()
    row = _interest(pl, p, submitted, itype, "refused" if decoy else "approved", 8.0, org)
    set_review(pl.g, p.person_id, submitted, pl.rng)
    pl.record("interest_high_risk_type", m, [("business_interests", row)],
              f"{'refused' if decoy else 'approved'} {itype} interest", [p], [org], decoy)


def interest_pending(pl, m, decoy=False):
    p = pl.person()
    submitted = pl.g.end - timedelta(days=50) if decoy else _first_over(pl, m, 56)
    row = _interest(pl, p, submitted, "paid_hobby", "pending")
    if submitted >= pl.g.start:
        set_review(pl.g, p.person_id, submitted, pl.rng)
    pl.record("interest_pending_too_long", pl.g.end_period if decoy else m, [("business_interests", row)],
              f"pending since {submitted}", [p], decoy=decoy)


def interest_sickness(pl, m, decoy=False):
    p = pl.person()
    decided = pl.g.day_in(m, pl.rng, True, 8, 22)
    start = decided - timedelta(days=45) if decoy else decided - timedelta(days=10)
    end = start + timedelta(days=39 if decoy else 44)
    # about half the plants, and any absence ending after the data: no end date recorded yet
    still_open = end > pl.g.end or (not decoy and decided.day % 2 == 0)
    pl.clear_absences(p, start - timedelta(days=5), pl.g.end if still_open else end + timedelta(days=5))
    absence = add_absence(pl.g, p.person_id, "sickness", start, None if still_open else end)
    submitted = decided - timedelta(days=20)
    row = _interest(pl, p, submitted, "self_employed", decided=decided)
    if submitted >= pl.g.start:
        set_review(pl.g, p.person_id, submitted, pl.rng)
    note = "decided 6 days after a 40-day sickness absence ended" if decoy else "approved on day 11 of a 45-day sickness absence"
    if still_open:
        # an open absence is long-term once it has run 28 days: reported from the month of that day,
        # and a near miss (must not alert) if the data ends before it gets there
        long_term = start + timedelta(days=27)
        decoy = long_term > pl.g.end
        m = max(m, Period.containing(min(long_term, pl.g.end)))
        note = ("approved on day 11 of a sickness absence open for under 28 days when the data ends" if decoy
                else "approved on day 11 of a sickness absence still open (no end date)")
    pl.record("interest_approved_during_sickness", m, [("business_interests", row), ("absence", absence)],
              note, [p], decoy=decoy)


def interest_hours(pl, m, decoy=False):
    p = pl.person()
    hours = 16.0 if decoy else float(pl.rng.integers(34, 61)) / 2
    reviewed = pl.g.end - timedelta(days=int(pl.rng.integers(20, 200)))
    row = _interest(pl, p, pl.g.start - timedelta(days=600), "waged", hours=hours, reviewed=reviewed,
                    decided=pl.g.start - timedelta(days=580), org=pl.orgs.employer())
    pl.record("interest_hours_exceed_limit", m, [("business_interests", row)],
              f"approved for {hours:g} hours a week", [p], decoy=decoy)


# ---- associations -----------------------------------------------------------------------------
def _association(pl, p, name, dob, category, declared, reviewed, org=None, style="canonical"):
    row = association_row(p, name, dob, category, declared, reviewed, pl.rng,
                          org=pl.orgs.variant(org, pl.rng, style) if org else None, org_id=org.org if org else None)
    return pl.g.add("notifiable_associations", row)


def _old(pl):
    """Declared before the window and reviewed recently (so only the planted rule applies)."""
    return (pl.g.start - timedelta(days=int(pl.rng.integers(200, 900))),
            pl.g.end - timedelta(days=int(pl.rng.integers(20, 150))))


def association_overdue(pl, m, decoy=False):
    p = pl.person()
    fk = pl.g.faker(f"assoc-overdue-{pl.rng.integers(1 << 30)}", reuse=True)
    if decoy:
        declared, last = pl.g.end - timedelta(days=730), pl.g.end - timedelta(days=200)
    else:
        last = _first_over(pl, m, 365)
        declared = last - timedelta(days=300)
    row = _association(pl, p, fk.name(), None, "criminal_record", declared, last)
    pl.record("association_review_overdue", pl.g.end_period if decoy else m, [("notifiable_associations", row)],
              f"last reviewed {last}", [p], decoy=decoy)


def association_barred(pl, m, decoy=False):
    p = pl.person()
    fk = pl.g.faker(f"assoc-barred-{pl.rng.integers(1 << 30)}", reuse=True)
    first, last = fk.first_name(), fk.last_name()
    dob = date(1965, 1, 1) + timedelta(days=int(pl.rng.integers(0, 365 * 25)))
    forces = pl.orgs.by_role["force"]
    force = forces[int(pl.rng.integers(len(forces)))]
    barred = pl.g.add("barred_list", {"list": "barred", "first_name": first, "last_name": last,
                                      "date_of_birth": dob, "former_force": force.name, "_org:former_force": force.org,
                                      "listed_date": pl.g.start - timedelta(days=400), "reason": "Dismissed: corrupt association"})
    declared, reviewed = _old(pl)
    row = _association(pl, p, f"{first} {last}", dob + timedelta(days=400) if decoy else dob,
                       "dismissed_from_policing", declared, reviewed)
    pl.record("association_barred_list_match", m, [("notifiable_associations", row), ("barred_list", barred)],
              "same name as a barred entry, different date of birth" if decoy else "associate is on the barred list",
              [p], decoy=decoy)


def association_org(pl, m, decoy=False, supplier=True):
    kind = "association_with_supplier" if supplier else "association_with_donor"
    p = pl.person()
    if supplier:
        rec = pl.supplier()
        org = rec.org
        parts = pl.proc.chain(rec, pl.weekday(m, lo=1, hi=8), int(pl.rng.integers(80_000, 900_000)),
                              invoice_after=6, pay_after=8)
        event = parts["payment"][0] if "payment" in parts else parts["order"][0]
        event_reg = "procurement"
    else:
        org = pl.donor()
        donee = pl.person()
        event = pl.gift(donee, pl.weekday(m, donee), org, int(pl.rng.integers(900, 2400)))
        event_reg = "gifts_hospitality"
    named = pl.orgs.decoy(org) if decoy else org
    declared, reviewed = _old(pl)
    row = _association(pl, p, pl.g.faker(f"assoc-org-{pl.rng.integers(1 << 30)}", reuse=True).name(), None, "other",
                       declared, reviewed, named, "canonical" if decoy else "limited")
    pl.record(kind, Period.containing(event["transaction_date" if supplier else "offered_date"]),
              [("notifiable_associations", row), (event_reg, event)],
              "associate's organisation is a similarly named different company" if decoy
              else f"associate works for a {'supplier paid' if supplier else 'gift donor'} this month",
              [p], [org, named], decoy)


# ---- vetting ----------------------------------------------------------------------------------
def expiring(pl, m, decoy=False):
    p = pl.person()
    v = pl.g.vetting_of[p.person_id]
    if decoy:
        expiry = pl.g.end + timedelta(days=120)
    else:
        hi = m.end + timedelta(days=90)
        lo = (m.previous().end + timedelta(days=91)) if m != pl.g.periods[0] else hi - timedelta(days=20)
        expiry = lo + timedelta(days=int(pl.rng.integers(0, (hi - lo).days + 1)))
    v["expiry_date"], v["granted_date"] = expiry, add_years(expiry, -RENEWAL_YEARS[v["level"]])
    pl.record("vetting_expired_or_expiring", pl.g.end_period if decoy else m, [("vetting", v)],
              f"active clearance expires {expiry}", [p], decoy=decoy)


def post_level(pl, m, decoy=False):
    p = pl.person(lambda q: q.post_vetting_level == "mv" and q.seniority < 4)
    v = pl.g.vetting_of[p.person_id]
    v["level"] = "sc" if decoy else "rv"
    v["expiry_date"] = add_years(v["granted_date"], RENEWAL_YEARS[v["level"]])
    pl.record("vetting_post_requires_higher_level", m, [("workforce", pl.g.workforce_row[p.person_id]), ("vetting", v)],
              "MV post held with SC (higher)" if decoy else "MV post held with RV only", [p], decoy=decoy)


def leaver(pl, m, decoy=False):
    p = pl.person(lambda q: q.seniority == 0)
    left = pl.weekday(m, hi=25)
    p.end_date = pl.g.workforce_row[p.person_id]["end_date"] = left
    pl.g.drop_rows("absence", {r["_h"] for r in pl.g.absences.get(p.person_id, ()) if r["start_date"] >= left})
    v = pl.g.vetting_of[p.person_id]
    v["status"] = "withdrawn" if decoy else "active"
    pl.record("vetting_leaver_live_clearance", m, [("workforce", pl.g.workforce_row[p.person_id]), ("vetting", v)],
              f"left {left}, clearance {v['status']}", [p], decoy=decoy)


REVIEW_WITHIN_DAYS = 30  # the vetting_no_review_after_new_* rules' default review_within_days


def no_review(pl, m, decoy=False, interest=True):
    """A declaration whose 30-day review deadline falls in `m`, with no vetting review by then.

    The rules check a declaration once, in the month containing `declared + 30 days` (a review on
    day 30 is in time), so that month is the truth period. The holder's clearance was granted
    before the declaration: a grant (its date stands as the last review) inside the 30 days would
    be a review, and the rule would rightly stay silent.
    """
    deadline = m.start + timedelta(days=int(pl.rng.integers(0, 25)))
    submitted = deadline - timedelta(days=REVIEW_WITHIN_DAYS)  # may precede the window: still checked in m
    p = pl.person(lambda q: q.person_id not in pl.g.reviewed_change and q.start_date <= submitted
                  and pl.g.vetting_of[q.person_id]["granted_date"] < submitted)
    v = pl.g.vetting_of[p.person_id]
    if decoy:
        v["last_review_date"] = submitted + timedelta(days=12)
    else:
        v["last_review_date"] = max(v["granted_date"], submitted - timedelta(days=int(pl.rng.integers(60, 250))))
    v["next_review_due"] = v["last_review_date"] + timedelta(days=365)
    if interest:
        row = _interest(pl, p, submitted, "trainer", decided=submitted + timedelta(days=14))
        kind, reg = "vetting_no_review_after_new_interest", "business_interests"
    else:
        row = _association(pl, p, pl.g.faker(f"assoc-new-{pl.rng.integers(1 << 30)}", reuse=True).name(), None,
                           "criminal_record", submitted, None)
        kind, reg = "vetting_no_review_after_new_association", "notifiable_associations"
    pl.record(kind, Period.containing(deadline), [(reg, row), ("vetting", v)],
              "aftercare review 12 days later" if decoy
              else f"declared {submitted}; review due by {deadline}; last review {v['last_review_date']}",
              [p], decoy=decoy)


KINDS = {  # rule name -> (plant, decoy, first usable month index)
    "gifts_over_threshold_unapproved": (over_threshold, lambda pl, m: over_threshold(pl, m, decoy=True), 0),
    "gifts_self_approved": (self_approved, lambda pl, m: self_approved(pl, m, True), 0),
    "gifts_cash_or_voucher_accepted": (cash, lambda pl, m: cash(pl, m, True), 0),
    "gifts_declared_late": (late, lambda pl, m: late(pl, m, True), 0),
    "gifts_repeated_donor": (repeated, lambda pl, m: repeated(pl, m, True), 2),
    "gifts_cumulative_value_from_donor": (cumulative, lambda pl, m: cumulative(pl, m, True), 1),
    "gifts_high_risk_keywords": (keywords, lambda pl, m: keywords(pl, m, True), 0),
    "interest_review_overdue": (interest_overdue, lambda pl, m: interest_overdue(pl, m, True), 0),
    "interest_high_risk_type": (interest_high_risk, lambda pl, m: interest_high_risk(pl, m, True), 0),
    "interest_pending_too_long": (interest_pending, lambda pl, m: interest_pending(pl, m, True), 0),
    "interest_approved_during_sickness": (interest_sickness, lambda pl, m: interest_sickness(pl, m, True), 1),
    "interest_hours_exceed_limit": (interest_hours, lambda pl, m: interest_hours(pl, m, True), 0),
    "association_review_overdue": (association_overdue, lambda pl, m: association_overdue(pl, m, True), 0),
    "association_barred_list_match": (association_barred, lambda pl, m: association_barred(pl, m, True), 0),
    "association_with_supplier": (association_org, lambda pl, m: association_org(pl, m, True), 0),
    "association_with_donor": (lambda pl, m: association_org(pl, m, supplier=False),
                               lambda pl, m: association_org(pl, m, True, supplier=False), 0),
    "vetting_expired_or_expiring": (expiring, lambda pl, m: expiring(pl, m, True), 0),
    "vetting_post_requires_higher_level": (post_level, lambda pl, m: post_level(pl, m, True), 0),
    "vetting_leaver_live_clearance": (leaver, lambda pl, m: leaver(pl, m, True), 0),
    "vetting_no_review_after_new_interest": (no_review, lambda pl, m: no_review(pl, m, True), 1),
    "vetting_no_review_after_new_association": (lambda pl, m: no_review(pl, m, interest=False),
                                                lambda pl, m: no_review(pl, m, True, interest=False), 1),
}
