"""Shadow rules on the web (issue #21 part C): the rules page shows what a shadow rule would have
raised to those who decide on rules (auditor, CCU; a sensitive one to the CCU only), nobody else;
its findings never reach the queue or the people pages. On the web tests' seeded store."""
from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))  # the web tests' seed and helpers

import seed  # noqa: E402
from webtest import login, settings_for, write_outputs  # noqa: E402

from audit.store.record import record_run  # noqa: E402
from rules.finding import Finding  # noqa: E402

SHADOW_GIFT = replace(seed.GIFT_RULE, id="5ad0e000-0000-4000-8000-00000000a001", name="gift_shadow_draft",
                      version="d" * 64, title="Gift from a supplier (draft in shadow)", status="shadow")
SHADOW_VET = replace(seed.VET_RULE, id="5ad0e000-0000-4000-8000-00000000a002", name="vetting_shadow_draft",
                     version="e" * 64, title="Vetting (draft in shadow)", status="shadow")
MARK = "SHADOW-ONLY-TITLE"


@pytest.fixture
def client_for(tmp_path):
    from starlette.testclient import TestClient

    from audit.web import create_app

    store = seed.seed(f"sqlite:///{tmp_path / 'store.db'}", n_gifts=12, n_vetting=3)
    ri = seed.run_input("2026-11", 12, 3, hostile=False)
    shadow = [Finding(rule_id=r.id, rule_name=r.name, rule_version=r.version, level=r.level,
                      title=f"{MARK} {r.name} {n}", subject=f"P{n}", facts={"x": (fid,)}, dedup=(str(n),),
                      params={}, values={}, as_of=ri.period.start)
              for r, fid in ((SHADOW_GIFT, "gifts:{n}"), (SHADOW_VET, "vet:{n}")) for n in range(3)]
    shadow = [replace(f, facts={"x": (f.facts["x"][0].format(n=f.dedup[0]),)}) for f in shadow]
    record_run(store, replace(ri, shadow_rules=[SHADOW_GIFT, SHADOW_VET], shadow_findings=shadow))
    write_outputs(tmp_path / "out")
    app = create_app(settings_for(tmp_path / "out"), store)
    clients = []

    def make(name: str):
        c = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
        clients.append(c)
        c.csrf = login(c, name)
        return c

    yield make
    for c in clients:
        c.close()
    store.dispose()


def _row(html: str, name: str) -> str:
    rows = re.findall(r"<tr class=\"status-[^\"]*\">(.*?)</tr>", html, flags=re.S)
    return next(re.sub(r"<[^>]+>", " ", r) for r in rows if f"<code>{name}</code>" in r)


def test_shadow_figures_for_auditor_and_ccu_only_and_never_in_the_queue(client_for):
    aude, cara, rob = client_for("aude"), client_for("cara"), client_for("rob")
    page = aude.get("/rules").text
    gift = _row(page, SHADOW_GIFT.name)
    assert "shadow" in gift and "would have raised" in gift and re.search(r"\b3\b", gift)
    assert "CCU only" in _row(page, SHADOW_VET.name)  # sensitive: not the auditor's
    vet = _row(cara.get("/rules").text, SHADOW_VET.name)
    assert "would have raised" in vet and re.search(r"\b3\b", vet)
    reviewer = _row(rob.get("/rules").text, SHADOW_GIFT.name)
    assert "would have raised" not in reviewer and not re.search(r"\b3\b", reviewer)
    for client in (aude, cara, rob):
        for url in ("/alerts", "/people/P0", "/people/P1", "/runs"):
            r = client.get(url)
            assert MARK not in r.text and "shadow_draft" not in r.text, (url, r.status_code)
