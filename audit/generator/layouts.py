"""How the fictional force writes each register: file, headers (never the canonical names),
date and money formats, enum labels, encoding, preamble lines, and which cells are made dirty.

One Layout drives both the writer and the [[sources]] mapping in config.toml, so the two can
never disagree.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Layout:
    name: str
    register: str
    kind: str  # csv | xlsx | sql
    file: str
    columns: tuple[tuple[str, str | None], ...]  # (source header, canonical field | None = unmapped)
    date_format: str = "%Y-%m-%d"
    money: str = "plain"  # plain "1234.50" | pound "£1,234.50"
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> canonical -> label
    encoding: str = "utf-8-sig"
    preamble: tuple[str, ...] = ()
    newline: str = "\n"
    constants: dict[str, str] = field(default_factory=dict)  # unmapped header -> constant text
    composite: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # header -> (fmt, regex, note)
    sheet: str | None = None
    table: str | None = None
    dirty: tuple[tuple[str, str], ...] = ()  # (canonical field, reason)
    rows_from: str | None = None  # only rows whose _layout equals this name (shared registers)

    @property
    def skip_rows(self) -> int:
        return len(self.preamble)


def _labels(values: list[str], labels: list[str]) -> dict[str, str]:
    return dict(zip(values, labels))


LEVEL_LABELS = _labels(["none", "nppv1", "nppv2", "rv", "nppv3", "mv", "ctc", "sc", "dv"],
                       ["None", "NPPV1", "NPPV2", "RV", "NPPV3", "MV", "CTC", "SC", "DV"])
INTEREST_LABELS = {v: v.replace("_", " ").capitalize() for v in [
    "property_rental", "paid_hobby", "self_employed", "trainer", "consultant", "waged", "directorship",
    "family_business", "entertainer", "voluntary", "private_investigation", "security", "vehicle_recovery",
    "debt_collection", "licensed_premises", "betting_gaming", "other"]}
CATEGORY_LABELS = {v: v.replace("_", " ").capitalize() for v in [
    "criminal_record", "under_investigation", "charged", "organised_crime", "drug_supply", "extremism",
    "dismissed_from_policing", "private_investigator", "journalist", "other"]}
GIFT_COLUMNS = (("Ref", "record_id"), ("Employee No", "person_id"), ("Date Offered", "offered_date"),
                ("Date Declared", "declared_date"), ("Offered By", "donor_name"),
                ("Donor Co. Reg", "donor_company_number"), ("Gift/Hospitality", "kind"), ("Description", "description"),
                ("Estimated Value", "estimated_value"), ("Accepted/Declined", "outcome"),
                ("Authorised By", "approver"), ("Date Authorised", "approval_date"))

LAYOUTS: tuple[Layout, ...] = (
    Layout("workforce", "workforce", "csv", "hr_establishment.csv", (
        ("Employee No", "person_id"), ("Forename", "first_name"), ("Surname", "last_name"),
        ("Date of Birth", "date_of_birth"), ("Employee Category", "staff_type"), ("Rank/Grade", "rank_grade"),
        ("Department", "department"), ("Post No", "post_id"), ("Post Title", "post_title"),
        ("Post Vetting Requirement", "post_vetting_level"), ("Start Date", "start_date"),
        ("Leaving Date", "end_date"), ("Line Manager No", "line_manager_id"), ("Address Line 1", "home_address"),
        ("Postcode", "home_postcode"), ("Bank Account", "bank_account_hash")),
        values={"staff_type": _labels(["officer", "staff", "special", "contractor", "volunteer"],
                                      ["Police Officer", "Police Staff", "Special Constable", "Contractor", "Volunteer"]),
                "post_vetting_level": LEVEL_LABELS},
        dirty=(("date_of_birth", "bad date"), ("staff_type", "unknown enum value"), ("first_name", "missing required value"))),
    Layout("vetting", "vetting", "xlsx", "vetting_register.xlsx", (
        ("Vetting Ref", "record_id"), ("Employee Number", "person_id"), ("Clearance", "level"),
        ("Date Granted", "granted_date"), ("Expiry Date", "expiry_date"), ("Status", "status"),
        ("Last Aftercare Review", "last_review_date"), ("Next Review Due", "next_review_due"),
        ("Vetting Officer", None)),
        values={"level": LEVEL_LABELS, "status": _labels(["active", "expired", "withdrawn", "pending"],
                                                         ["Active", "Expired", "Withdrawn", "Pending"])},
        date_format="%d/%m/%Y", sheet="Clearances", constants={"Vetting Officer": "Force Vetting Unit"},
        dirty=(("expiry_date", "bad date"), ("level", "unknown enum value"), ("status", "missing required value"))),
    Layout("absence", "absence", "csv", "absence_records.csv", (
        ("Absence ID", "record_id"), ("Staff No", "person_id"), ("Absence Type", "absence_type"),
        ("First Day", "start_date"), ("Last Day", "end_date"), ("Working Days Lost", "days")),
        date_format="%d/%m/%Y",
        values={"absence_type": _labels(["sickness", "annual_leave", "suspension", "other"],
                                        ["Sickness", "Annual Leave", "Suspension", "Other"])},
        dirty=(("start_date", "bad date"), ("absence_type", "unknown enum value"), ("start_date", "missing required value"))),
    Layout("gifts", "gifts_hospitality", "csv", "gifts_hospitality_register.csv", GIFT_COLUMNS,
           date_format="%d/%m/%Y", money="pound", rows_from="gifts",
           values={"kind": {"gift": "Gift", "hospitality": "Hospitality"},
                   "outcome": {"accepted": "Accepted", "declined": "Declined"}},
           dirty=(("offered_date", "bad date"), ("estimated_value", "bad amount"), ("outcome", "unknown enum value"),
                  ("donor_name", "missing required value"))),
    Layout("gifts_divisional", "gifts_hospitality", "csv", "divisional_gifts_returns.csv", (
        ("Return Ref", "record_id"), ("Name", "person_name"), ("Dept", "person_department"),
        ("Offered", "offered_date"), ("Declared", "declared_date"), ("Donor", "donor_name"),
        ("Company No", "donor_company_number"), ("Type", "kind"), ("Details", "description"),
        ("Value", "estimated_value"), ("Outcome", "outcome"), ("Approved By", "approver"), ("Approved", "approval_date")),
        date_format="%d-%b-%Y", money="pound", encoding="cp1252", newline="\r\n", rows_from="gifts_divisional",
        preamble=("Generated Constabulary – Divisional Gifts & Hospitality Returns", "Compiled by Professional Standards; values in £"),
        values={"kind": {"gift": "G", "hospitality": "H"}, "outcome": {"accepted": "Accepted", "declined": "Declined"}},
        dirty=(("offered_date", "bad date"), ("estimated_value", "bad amount"), ("kind", "unknown enum value"))),
    Layout("business_interests", "business_interests", "csv", "business_interests.csv", (
        ("Interest ID", "record_id"), ("Employee No", "person_id"), ("Interest Type", "interest_type"),
        ("Organisation", "organisation_name"), ("Company Number", "company_number"), ("Role", "role"),
        ("Hours per Week", "hours_per_week"), ("Submitted", "submitted_date"), ("Decision", "decision"),
        ("Decided By", "decided_by"), ("Decision Date", "decision_date"), ("Review Due", "review_due_date"),
        ("Last Reviewed", "last_reviewed_date")),
        values={"interest_type": INTEREST_LABELS,
                "role": _labels(["director", "owner", "employee", "partner", "other"],
                                ["Director", "Owner", "Employee", "Partner", "Other"]),
                "decision": _labels(["approved", "refused", "pending", "withdrawn"],
                                    ["Approved", "Refused", "Pending", "Withdrawn"])},
        dirty=(("submitted_date", "bad date"), ("interest_type", "unknown enum value"), ("decision", "missing required value"))),
    Layout("associations", "notifiable_associations", "csv", "notifiable_associations.csv", (
        ("NA Ref", "record_id"), ("Employee No", "person_id"), ("Associate Name", "associate_name"),
        ("Associate DOB", "associate_dob"), ("Associate Organisation", "associate_organisation"),
        ("Relationship", "relationship"), ("Category", "category"), ("Date Declared", "declared_date"),
        ("Risk Assessment", "risk_outcome"), ("Last Review", "last_reviewed_date")),
        date_format="%d/%m/%Y",
        values={"category": CATEGORY_LABELS, "risk_outcome": _labels(["no_risk", "managed", "high_risk", "pending"],
                                                                     ["No risk", "Managed", "High risk", "Pending"])},
        dirty=(("declared_date", "bad date"), ("category", "unknown enum value"), ("associate_name", "missing required value"))),
    Layout("expenses", "expenses", "sql", "finance.sqlite", (
        ("claim_ref", "claim_id"), ("line_no", "line_id"), ("emp_no", "person_id"), ("exp_date", "expense_date"),
        ("claim_date", "claim_date"), ("exp_type", "expense_type"), ("narrative", "description"), ("amount", "amount"),
        ("miles", "miles"), ("merchant", "merchant"), ("approved_by", "approver"), ("approved_on", "approved_date"),
        ("paid_on", "paid_date")),
        table="expense_lines",
        values={"expense_type": _labels(["mileage", "subsistence", "travel", "accommodation", "other"],
                                        ["MILEAGE", "SUBS", "TRAVEL", "HOTEL", "OTHER"])},
        dirty=(("expense_date", "bad date"), ("amount", "bad amount"), ("expense_type", "unknown enum value"),
               ("expense_type", "missing required value"))),
    Layout("procurement", "procurement", "csv", "ap_transactions.csv", (
        ("Client", None), ("Transaction Date", "transaction_date"), ("Posted", "posted_date"),
        ("Trans No", "transaction_id+line_no"),
        ("Type", "transaction_type"), ("Supplier ID", "supplier_id"), ("Supplier Name", "supplier_name"),
        ("Company Reg No", "company_number"), ("VAT Reg No", "vat_number"), ("Supplier Address", "supplier_address"),
        ("Supplier Postcode", "supplier_postcode"), ("Supplier Bank Account", "supplier_bank_hash"),
        ("Supplier Created By", "supplier_created_by"), ("Supplier Created", "supplier_created_date"),
        ("Invoice Number", "invoice_ref"), ("Net Amount", "net_amount"), ("Service Area", "department"),
        ("Expenditure Category", "category"), ("Requisitioned By", "requisitioner"), ("Approved By", "approver"),
        ("Procurement Route", "route"), ("Contract Ref", "contract_id")),
        date_format="%d/%m/%Y", constants={"Client": "Generated Constabulary"},
        composite={"Trans No": ("{transaction_id} - {line_no}",
                                r"^(?P<transaction_id>[A-Z]+\d+) - (?P<line_no>\d+)$", "")},
        values={"transaction_type": _labels(["order", "invoice", "payment", "credit"], ["PO", "INV", "PAY", "CRN"]),
                "route": _labels(["tender", "quotes", "single_tender_waiver", "framework", "card", "other"],
                                 ["Tender", "Quotes", "Single Tender Waiver", "Framework", "P-Card", "Other"])},
        dirty=(("transaction_date", "bad date"), ("net_amount", "bad amount"), ("transaction_type", "unknown enum value"),
               ("net_amount", "missing required value"))),
    Layout("barred_list", "barred_list", "csv", "college_barred_advisory_list.csv", (
        ("Entry ID", "record_id"), ("List", "list"), ("Forename", "first_name"), ("Surname", "last_name"),
        ("Date of Birth", "date_of_birth"), ("Former Force", "former_force"), ("Date Listed", "listed_date"),
        ("Reason", "reason")),
        values={"list": {"barred": "Barred List", "advisory": "Advisory List"}},
        dirty=(("date_of_birth", "bad date"), ("list", "unknown enum value"), ("last_name", "missing required value"))),
)
