"""Every route of the app x every role x method: allowed or refused, decided here.

The matrix is enumerated from the app's router, so adding a route without deciding who may use
it fails this test. Allowed = the request reaches the handler (any status but 403/404 and not a
redirect to sign-in); refused = 403, or a redirect to sign-in for anonymous page views. Single
sign-on is configured (against the mock provider), so its routes answer instead of 404."""
from __future__ import annotations

import pytest
from starlette.routing import Mount, Route

from mock_idp import SECRET, SECRET_ENV, MockIdP, attach, oidc_config
from webtest import login_csrf_of, settings_for, write_outputs

ROLES = ("reviewer", "ccu", "auditor", "admin")
USER_OF = {"reviewer": "rob", "ccu": "cara", "auditor": "aude", "admin": "adam"}
ALL, ALERTS, WORK, RUNS = set(ROLES), {"reviewer", "ccu", "auditor"}, {"reviewer", "ccu"}, {"reviewer", "ccu", "auditor"}
PUBLIC = "public"

MATRIX: dict[tuple[str, str], set[str] | str] = {
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/login/oidc"): PUBLIC,
    ("GET", "/login/oidc/callback"): PUBLIC,
    ("POST", "/logout"): ALL,
    ("GET", "/"): ALL,
    ("GET", "/alerts"): ALERTS,
    ("POST", "/alerts/take-next"): WORK,
    ("GET", "/alerts/{alert_id}"): ALERTS,
    ("GET", "/alerts/{alert_id}/access-timeline.csv"): {"ccu"},  # need-to-know rows (audit.web.timeline)
    ("POST", "/alerts/{alert_id}/assign"): WORK,
    ("POST", "/alerts/{alert_id}/status"): WORK,
    ("POST", "/alerts/{alert_id}/reopen"): WORK,
    ("POST", "/alerts/{alert_id}/suppress"): WORK,
    ("POST", "/alerts/{alert_id}/link"): WORK,
    ("GET", "/people/{person_key}"): ALERTS,
    ("GET", "/runs"): RUNS,
    ("GET", "/runs/{run_id}"): RUNS,
    ("GET", "/runs/{run_id}/files/{name:path}"): {"ccu"},  # the published files; others: /report
    ("GET", "/runs/{run_id}/report"): RUNS,
    ("GET", "/rules"): RUNS,
    ("GET", "/trail"): {"ccu", "auditor"},
    ("GET", "/admin/users"): {"admin"},
    ("POST", "/admin/users"): {"admin"},
    ("POST", "/admin/users/{name}/disable"): {"admin"},
    ("POST", "/admin/users/{name}/enable"): {"admin"},
    ("POST", "/admin/users/{name}/password"): {"admin"},
    # PUBLIC (no session needed), but 404 to everyone unless serve printed a setup token and the
    # store has no accounts: this app has no token and the store has accounts (tests/web/test_setup.py).
    ("GET", "/setup"): set(),
    ("POST", "/setup"): set(),
    ("GET", "/static/report.css"): PUBLIC,
    ("GET", "/static"): PUBLIC,
}
# Concrete values: alert 55 is an internal alert about S55 (no role user is conflicted with it).
PARAMS = {"alert_id": "55", "person_key": "S55", "run_id": "1", "name:path": "report-2026-10-reviewers.html",
          "name": "victim"}
STATIC_PROBE = {"/static": "/static/app.css"}
# Form data that passes the role and CSRF gates but is refused by validation (no state change).
FORMS = {"/alerts/{alert_id}/status": {"status": "no_further_action"}, "/admin/users": {"name": "x"},
         "/login": {"username": ""}}


@pytest.fixture
def app(store, tmp_path, monkeypatch):
    from audit.web import create_app

    monkeypatch.setenv(SECRET_ENV, SECRET)
    write_outputs(tmp_path / "out")
    web = create_app(settings_for(tmp_path / "out", oidc=oidc_config()), store)
    provider = attach(web, MockIdP())
    yield web
    provider.close()


def app_routes(app) -> set[tuple[str, str]]:
    found = set()
    for r in app.routes:
        if isinstance(r, Route):
            found |= {(m, r.path) for m in r.methods if m != "HEAD"}
        elif isinstance(r, Mount):
            found.add(("GET", r.path))
    return found


def concrete(path: str) -> str:
    if path in STATIC_PROBE:
        return STATIC_PROBE[path]
    for k, v in PARAMS.items():
        path = path.replace("{" + k + "}", v)
    return path


def test_every_route_is_in_the_matrix(app):
    routes = app_routes(app)
    assert routes - set(MATRIX) == set(), "routes with no access decision in MATRIX"
    assert set(MATRIX) - routes == set(), "MATRIX names routes the app no longer has"


def _allowed(r) -> bool:
    if r.status_code in (401, 403, 404):
        return False
    # A page view without the right session is sent to sign in; a refused POST is a 403.
    return not (r.request.method == "GET" and r.status_code in (302, 303, 307)
                and r.headers["location"].startswith("/login"))


@pytest.mark.parametrize("role", [*ROLES, None])
def test_role_matrix(app, client_for, store, role):
    from audit.web import users

    users.add_user(store, "victim", "reviewer", "victim password 123", actor="test")
    client = client_for(USER_OF[role] if role else None)
    ordered = sorted(MATRIX, key=lambda k: k[1] == "/logout")  # sign out last
    wrong = []
    for method, path in ordered:
        url = concrete(path)
        data = {"csrf": client.csrf, **FORMS.get(path, {})}
        if path == "/login" and method == "POST":
            data["csrf"] = login_csrf_of(client.get("/login").text)
        r = client.get(url) if method == "GET" else client.post(url, data=data)
        rule = MATRIX[(method, path)]
        expected = rule == PUBLIC or (role is not None and role in rule)
        if _allowed(r) != expected:
            wrong.append(f"{role or 'anonymous'} {method} {url}: {r.status_code}, expected "
                         f"{'allowed' if expected else 'refused'}")
    assert wrong == []
