"""Need-to-know by every path, proven by a canary crawl (issue #13).

A generated force is audited with unique canary strings planted where only the counter-corruption
unit may look: a free-text cell of every notifiable association, the reference of every vetting
clearance, a coded cell of an association that is quarantined (its reason quotes it), and a CCU note
on every need-to-know alert; the suppliers' and staff's bank hashes are canaries as they are. Every
gift's description carries a canary too, owned by that gift: a user may see it only through an
alert they may see.

Then each role signs in (reviewer force-wide, reviewer scoped to a department, reviewer who is the
subject of alerts, line manager, auditor, admin, CCU), follows every link, requests every GET route
of the route table with every run, alert, person and file it knows of, downloads every file offered
(XLSX unzipped), and probes the trail's filters. No canary may reach a role without need-to-know;
the CCU must meet every canary the store holds, so the test cannot pass by showing nothing.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import openpyxl
import pytest
from starlette.testclient import TestClient

from audit import settings as settings_mod
from audit.generator import generate
from audit.period import Period
from audit.pipeline import run_period
from audit.store import lifecycle, open_store
from audit.store.queries import alert_view, list_runs, run_view
from audit.web import access, create_app, users
from audit.web.pages import ROUTES
from audit.web.users import User
from webtest import login

PERIOD = "2026-10"
PASSWORD = "correct horse battery staple"
SECRET = re.compile(r"CNY[AVQN]-[0-9]+")  # the need-to-know canaries (CCU only)
GIFT = re.compile(r"CNYG-[0-9]+")  # a gift's canary: visible with an alert that cites the gift
MAX_PAGES = 600  # per role: the crawl is breadth-first, every route of the table is asked first
HREF = re.compile(r'(?:href|src)="([^"#]+)')


def _header(settings, source: str, fname: str) -> str:
    cfg = next(s for s in settings.sources if s.name == source)
    return next(h for h, f in cfg.columns.items() if f == fname)


def _plant(force: Path) -> None:
    """Canaries into the generated files, through the force's own column mapping."""
    settings = settings_mod.load(force / "config.toml")

    def rewrite_csv(source: str, edit) -> None:
        cfg = next(s for s in settings.sources if s.name == source)
        path = force / cfg.path
        with path.open(encoding=cfg.encoding, newline="") as f:
            rows = list(csv.DictReader(f))
        fields = list(rows[0].keys())
        rows = edit(rows, fields)
        with path.open("w", encoding=cfg.encoding, newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            w.writerows(rows)

    rel = _header(settings, "associations", "relationship")
    category = _header(settings, "associations", "category")

    def associations(rows, fields):
        for n, r in enumerate(rows):
            r[rel] = f"{r[rel]} CNYA-{n}"
        bad = dict(rows[0])
        bad[category] = "CNYQ-1 SECRET: partner's father is an OCG lieutenant"  # not a category: quarantined
        return rows + [bad]

    desc = _header(settings, "gifts", "description")

    def gifts(rows, fields):
        for n, r in enumerate(rows):
            r[desc] = f"{r[desc]} CNYG-{n}"
        return rows

    rewrite_csv("associations", associations)
    rewrite_csv("gifts", gifts)
    vet = next(s for s in settings.sources if s.name == "vetting")
    wb = openpyxl.load_workbook(force / vet.path)
    ws = wb[vet.sheet] if vet.sheet else wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    col = headers.index(_header(settings, "vetting", "record_id")) + 1
    for n, row in enumerate(ws.iter_rows(min_row=2, min_col=col, max_col=col)):
        if row[0].value not in (None, ""):
            row[0].value = f"CNYV-{n}"
    wb.save(force / vet.path)


@pytest.fixture(scope="module")
def force(tmp_path_factory):
    """(settings, store, users by name, alert views) of a generated force audited with canaries."""
    out = tmp_path_factory.mktemp("canary") / "force"
    generate(out, seed=5, months=12, end=PERIOD, scale=0.2)
    _plant(out)
    settings = settings_mod.load(out / "config.toml")
    outcome = run_period(settings, Period.parse(PERIOD), engine="reference")
    assert outcome.status in ("succeeded", "partial"), outcome.error
    store = open_store(settings.store_url)
    views = run_view(store, outcome.run_id).alerts
    sensitive = [a for a in views if a.sensitivity == "sensitive"]
    plain = [a for a in views if a.sensitivity != "sensitive" and a.subject]
    assert sensitive and plain, "the force needs need-to-know and ordinary alerts to crawl"
    for n, a in enumerate(sensitive):
        lifecycle.review(store, a.id, "in_review", f"CNYN-{n} covert check on the associate", "cara")
    # the people behind the roles: a subject of ordinary alerts, their line manager, a department
    subject = plain[0].subject
    manager = _manager_of(store, subject)
    department = next(a.department for a in plain if a.department)
    accounts = {
        "cara": ("ccu", None, None), "rob": ("reviewer", None, None), "dora": ("reviewer", department, None),
        "sam": ("reviewer", None, subject), "aude": ("auditor", None, None), "adam": ("admin", None, None),
    }
    if manager:
        accounts["mona"] = ("reviewer", None, manager)
    for name, (role, dept, pid) in accounts.items():
        users.add_user(store, name, role, PASSWORD, actor="test", department=dept, person_id=pid)
    people = {name: User(name, role, dept, pid, True) for name, (role, dept, pid) in accounts.items()}
    yield settings, store, people, [alert_view(store, a.id) for a in views]
    store.dispose()


def _manager_of(store, person_key: str) -> str | None:
    chain = access.managers_of(store, person_key)
    return chain[0] if chain else None


def _text(resp) -> str:
    body = resp.content
    if body[:2] == b"PK":  # XLSX: every part of the zip
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as z:
                return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        except zipfile.BadZipFile:
            pass
    return body.decode("utf-8", "replace")


def _params(route_path: str, known: dict[str, list[str]]) -> list[str]:
    """Every URL of a GET route with its path parameters filled from what the store holds."""
    names = re.findall(r"{(\w+)(?::\w+)?}", route_path)
    missing = [n for n in names if n not in known]
    assert not missing, f"the crawl has no values for {missing} of {route_path}: add them to `known`"
    urls = [route_path]
    for n in names:
        urls = [re.sub(r"{%s(?::\w+)?}" % n, v, u, count=1) for u in urls for v in known[n]]
    return urls


def crawl(app, name: str, known: dict[str, list[str]]) -> tuple[dict[str, str], int]:
    """url -> text of every page and file `name` can reach; and how many were asked for."""
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=True)
    login(client, name)
    queue = deque(["/"])
    for spec in ROUTES:
        if "GET" in spec.methods and spec.path not in ("/login", "/login/oidc", "/login/oidc/callback"):
            queue.extend(_params(spec.path, known))
    queue.extend(["/trail?action=alert.review", "/trail?action=person.view", "/trail?action=alert.view"]
                 + [f"/trail?object=person:{k}" for k in known["person_key"]])
    seen: dict[str, str] = {}
    asked = 0
    while queue and asked < MAX_PAGES:
        url = queue.popleft()
        if url in seen or "logout" in url:
            continue
        asked += 1
        resp = client.get(url)
        text = _text(resp) if resp.status_code == 200 else ""
        seen[url] = text
        if "html" in resp.headers.get("content-type", ""):
            for href in HREF.findall(text):
                href = href.replace("&amp;", "&")
                target = urljoin(url, href)
                if not urlsplit(target).netloc and target.startswith("/") and target not in seen:
                    queue.append(target)
    client.close()
    return seen, asked


def _known(settings, store, views) -> dict[str, list[str]]:
    from audit.web import outputs

    runs = [str(r.id) for r in list_runs(store)]
    files = [f.name for f in outputs.listing(settings, PERIOD)]
    people = sorted({a.subject for a in views if a.subject})
    return {"run_id": runs, "alert_id": [str(a.id) for a in views], "person_key": people, "name": files}


def _gift_canaries(alert) -> set[str]:
    return {m for f in alert.facts for v in f.values.values() if isinstance(v, str) for m in GIFT.findall(v)}


def test_no_canary_reaches_a_role_without_need_to_know(force):
    settings, store, people, views = force
    app = create_app(settings, store)
    known = _known(settings, store, views)
    held = _canaries_in_store(store)
    assert {c[:4] for c in held} >= {"CNYA", "CNYV", "CNYQ", "CNYN"}, held
    hashes = {v for a in views for f in a.facts for k, v in f.values.items()
              if k in ("supplier_bank_hash", "bank_account_hash") and v}
    assert hashes, "no alert cites a bank hash: nothing to check them with"
    held |= hashes
    leaks = {}
    for name, user in people.items():
        pages, asked = crawl(app, name, known)
        assert asked > 20, (name, asked)
        found = {c: url for url, text in pages.items() for c in SECRET.findall(text)}
        found.update({h: url for url, text in pages.items() for h in hashes if h in text})
        gifts = {c: url for url, text in pages.items() for c in GIFT.findall(text)}
        if user.role == "ccu" and not user.person_id:
            assert set(found) >= held, f"the CCU never met {sorted(held - set(found))[:10]}"
            continue
        allowed = set().union(*[_gift_canaries(a) for a in views
                                if access.can_see(user, sensitivity=a.sensitivity, department=a.department,
                                                  subject=a.subject)]) if user.role in access.READ_ALERTS else set()
        wrong = {c: u for c, u in gifts.items() if c not in allowed}
        if (found or wrong) and __import__("os").environ.get("CANARY_DEBUG"):
            url = next(iter(wrong.values()), None) or next(iter(found.values()))
            text = pages[url]; i = text.find(next(iter(wrong or found)))
            print(name, url, text[max(0, i - 1500):i + 200])
        if found or wrong:
            leaks[name] = {**dict(list(found.items())[:5]), **dict(list(wrong.items())[:5])}
    assert leaks == {}


def _canaries_in_store(store) -> set[str]:
    """Every need-to-know canary the store holds (facts, notes, quarantine reasons, source loads)."""
    from sqlalchemy import text

    found: set[str] = set()
    with store.read() as s:
        for table in ("alert_facts", "dispositions", "source_loads", "quarantine"):
            for row in s.execute(text(f"SELECT * FROM {table}")):
                found |= set(SECRET.findall(" ".join(str(v) for v in row)))
    return found


def test_the_trail_shows_an_auditor_that_the_ccu_looked_not_at_whom(force):
    """`/trail?action=person.view` told an auditor which person a CCU-only alert is about."""
    settings, store, people, views = force
    app = create_app(settings, store)
    only_ccu = sorted({a.subject for a in views if a.sensitivity == "sensitive" and a.subject}
                      - {a.subject for a in views if a.sensitivity != "sensitive"})
    assert only_ccu
    ccu = TestClient(app, raise_server_exceptions=False)
    login(ccu, "cara")
    assert ccu.get(f"/people/{only_ccu[0]}").status_code == 200
    alert = next(a for a in views if a.sensitivity == "sensitive")
    assert ccu.get(f"/alerts/{alert.id}").status_code == 200
    auditor = TestClient(app, raise_server_exceptions=False)
    login(auditor, "aude")
    for url in ("/trail", "/trail?action=person.view", "/trail?action=alert.view"):
        page = auditor.get(url).text
        assert access.WITHHELD in page  # the events are there: that something happened is not hidden
        leaked = [k for k in only_ccu if f"person:{k}" in page]
        assert not leaked, (url, [page[max(0, page.find(f"person:{k}") - 400):page.find(f"person:{k}") + 100] for k in leaked[:1]])
        assert f"alert:{alert.id}<" not in page and f"alert:{alert.id} " not in page, url
    page = auditor.get(f"/trail?object=person:{only_ccu[0]}").text
    rows = page.rsplit("</form>", 1)[-1]  # after the filter form (which repeats what was asked)
    assert access.WITHHELD not in rows and f"person:{only_ccu[0]}" not in rows
    ccu_page = ccu.get("/trail?action=person.view").text
    assert f"person:{only_ccu[0]}" in ccu_page  # the CCU sees its own trail whole


def test_rule_figures_count_only_the_alerts_the_user_may_see(force):
    """A subject's reviewer account counting one more open alert of a rule than its queue holds
    learns there is an alert about them; a scoped reviewer learns other departments' volumes."""
    from audit.web import catalogue

    settings, store, people, views = force
    for name in ("sam", "dora", "rob", "aude", "cara"):
        user = people[name]
        rows, periods = catalogue.rules_overview(store, user)
        seen = [a for a in views if access.can_see(user, sensitivity=a.sensitivity, department=a.department,
                                                   subject=a.subject)]
        for r in rows:
            mine = [a for a in seen if a.rule_id == r.rule_id]
            assert r.volumes.get(PERIOD, 0) == len(mine), (name, r.name)
            assert r.open_alerts == sum(a.status in ("new", "in_review") for a in mine), (name, r.name)
    sam = people["sam"]
    about_sam = next(a for a in views if a.subject == sam.person_id)
    client = TestClient(create_app(settings, store), raise_server_exceptions=False)
    login(client, "sam")
    row = client.get("/rules").text.split(f"<code>{about_sam.rule_name}</code>", 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r'<td class="num">(\d+)</td>', row)
    everyone = sum(1 for a in views if a.rule_id == about_sam.rule_id and a.sensitivity != "sensitive")
    assert cells and int(cells[-1]) < everyone or everyone == 0
