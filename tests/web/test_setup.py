"""First-run setup (/setup): the first administrator made in the browser with the one-time token
`integrity-audit serve` prints when the store has no accounts."""
from __future__ import annotations

import threading
from urllib.parse import unquote

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from audit.store import open_store, trail
from audit.web import users
from webtest import csrf_of, settings_for

TOKEN = "the-one-time-setup-token-printed-on-the-console"
PASSWORD = "a long enough password"


@pytest.fixture
def empty_store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'empty.db'}")
    yield store
    store.dispose()


def _client(store, tmp_path, token: str | None = TOKEN) -> TestClient:
    from audit.web import create_app

    app = create_app(settings_for(tmp_path / "out"), store, setup_token=token)
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


def _form(client: TestClient) -> dict[str, str]:
    """Fetch the form (which sets its CSRF cookie); the fields of a valid submission."""
    page = client.get(f"/setup?token={TOKEN}")
    assert page.status_code == 200, page.text[:300]
    return {"csrf": csrf_of(page.text), "token": TOKEN, "username": "ada", "password": PASSWORD,
            "password2": PASSWORD}


def _submit(client: TestClient, **fields):
    """Fetch the form, then post it with `fields` over the valid defaults."""
    return client.post("/setup", data={**_form(client), **fields})


def test_setup_is_404_without_the_right_token(empty_store, tmp_path):
    client = _client(empty_store, tmp_path)
    for url in ("/setup", "/setup?token=", "/setup?token=wrong", f"/setup?token={TOKEN}x", "/setup?token=é"):
        assert client.get(url).status_code == 404, url
    # a valid form, posted with a wrong token, creates nothing
    assert _submit(client, token="wrong").status_code == 404
    assert _submit(client, token="").status_code == 404
    assert not users.has_accounts(empty_store)


def test_setup_is_404_when_no_token_was_configured(empty_store, tmp_path):
    client = _client(empty_store, tmp_path, token=None)
    for url in ("/setup", "/setup?token=", "/setup?token=None", f"/setup?token={TOKEN}"):
        assert client.get(url).status_code == 404, url


def test_setup_is_404_once_an_account_exists(empty_store, tmp_path):
    users.add_user(empty_store, "kim", "reviewer", PASSWORD, actor="test")
    client = _client(empty_store, tmp_path)
    assert client.get(f"/setup?token={TOKEN}").status_code == 404
    assert client.get("/setup").status_code == 404


def test_setup_creates_the_admin_signs_them_in_and_then_closes(empty_store, tmp_path):
    client, late = _client(empty_store, tmp_path), _client(empty_store, tmp_path)
    login_page = client.get("/login").text
    assert "No accounts yet: see the server console" in login_page and 'action="/login"' not in login_page
    late_form = _form(late)  # a second browser opens the link too
    r = _submit(client, username="ada")
    assert r.status_code == 303 and r.headers["location"] == "/admin/users?notice=welcome"
    assert [(u.name, u.role, u.active) for u in users.list_users(empty_store)] == [("ada", "admin", True)]
    assert users.authenticate(empty_store, "ada", PASSWORD) is not None
    events = trail.events(empty_store)
    assert [e["action"] for e in events] == ["auth.login", "auth.setup", "user.add"]
    login, setup, add = events
    assert (add["actor"], add["object"], add["details"]["role"]) == ("setup", "user:ada", "admin")
    assert (setup["actor"], setup["object"], setup["details"]["ip"]) == ("setup", "user:ada", "testclient")
    assert (login["actor"], login["details"]["method"]) == ("ada", "setup")
    assert trail.verify(empty_store) is None
    # signed in: the users page answers (not a redirect to /login) with the welcome message
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and "Welcome, ada" in page.text and "Add a user" in page.text
    # then setup is closed: the second browser's form (valid token and CSRF) and the link answer 404
    assert late.post("/setup", data={**late_form, "username": "eve"}).status_code == 404
    assert late.get(f"/setup?token={TOKEN}").status_code == 404
    assert users.get_user(empty_store, "eve") is None
    login_page = late.get("/login").text
    assert "No accounts yet" not in login_page and 'action="/login"' in login_page


@pytest.mark.parametrize("fields, message", [
    ({"password": "too short", "password2": "too short"}, "The password must be at least 12 characters long."),
    ({"password2": PASSWORD + "!"}, "The two passwords are not the same."),
    ({"username": "ada lovelace"}, "A user name is 1-128 letters"),
])
def test_setup_enforces_the_account_rules_with_a_clear_message(empty_store, tmp_path, fields, message):
    client = _client(empty_store, tmp_path)
    r = _submit(client, **fields)
    assert r.status_code == 400 and message in r.text
    assert 'action="/setup"' in r.text  # the form again, to correct it
    assert not users.has_accounts(empty_store)
    assert _submit(client).status_code == 303  # and correcting it works


def test_setup_post_without_the_csrf_token_is_refused(empty_store, tmp_path):
    client = _client(empty_store, tmp_path)
    client.get(f"/setup?token={TOKEN}")  # has the CSRF cookie, but does not send the token
    form = {"token": TOKEN, "username": "ada", "password": PASSWORD, "password2": PASSWORD}
    assert client.post("/setup", data=form).status_code == 403
    fresh = _client(empty_store, tmp_path)  # sends a token, but has no cookie to match
    assert fresh.post("/setup", data={**form, "csrf": "made-up"}).status_code == 403
    assert not users.has_accounts(empty_store)
    assert [e["details"]["why"] for e in trail.events(empty_store, action="web.denied")] == \
        ["missing or wrong CSRF token"] * 2


def test_setup_cookie_is_scoped_to_the_setup_form(empty_store, tmp_path):
    client = _client(empty_store, tmp_path)
    cookie = client.get(f"/setup?token={TOKEN}").headers["set-cookie"]
    assert "ia_login_csrf=" in cookie and "Path=/setup" in cookie and "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()


# -- only one first account, even from two browsers at once ------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def any_empty_store(request, empty_store):
    if request.param == "sqlite":
        yield empty_store
        return
    from pgschema import scratch_schema

    with scratch_schema(request.getfixturevalue("pg_url"), "t_setup") as url:
        store = open_store(url)
        yield store
        store.dispose()


def test_two_setups_at_once_make_exactly_one_account(any_empty_store):
    store, names = any_empty_store, [f"admin{i}" for i in range(4)]
    barrier, made, refused = threading.Barrier(len(names)), [], []

    def setup(name):
        barrier.wait()
        try:
            made.append(users.add_user(store, name, "admin", PASSWORD, actor="setup", only_first=True).name)
        except users.UserError as e:
            refused.append(str(e))

    threads = [threading.Thread(target=setup, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(made) == 1 and [u.name for u in users.list_users(store)] == made
    assert refused == ["an account already exists, so first-run setup is closed"] * 3
    assert len(trail.events(store, action="user.add")) == 1  # the refused ones rolled back their event
    assert trail.verify(store) is None


# -- the serve command prints the link only for an empty store ----------------------------------

def _serve(tmp_path, monkeypatch, *args):
    """Run `serve` with uvicorn.run replaced; returns (output, the app or factory it was given)."""
    import uvicorn

    from audit.cli import app
    from audit.web.app import CONFIG_ENV, HOST_ENV, SETUP_ENV

    for name in (CONFIG_ENV, HOST_ENV):
        monkeypatch.setenv(name, "")  # restored after the test: `serve --workers` sets them
    monkeypatch.setenv(SETUP_ENV, "stale token from an earlier start")
    given = {}
    monkeypatch.setattr(uvicorn, "run", lambda web_app, **kw: given.setdefault("app", web_app))
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "s.db"}"\n')
    r = CliRunner().invoke(app, ["serve", "-c", str(cfg), "--port", "8765", *args])
    assert r.exit_code == 0, r.output
    return r.output, given["app"]


def _printed_token(output: str) -> str:
    line = next(ln for ln in output.splitlines() if ln.startswith("No accounts yet."))
    assert line.startswith("No accounts yet. To create the first administrator, open "
                           "http://127.0.0.1:8765/setup?token=")
    return unquote(line.rsplit("token=", 1)[1].strip())


def test_serve_prints_the_setup_link_on_an_empty_store_and_the_link_works(tmp_path, monkeypatch):
    output, web = _serve(tmp_path, monkeypatch)
    token = _printed_token(output)
    assert len(token) >= 40 and web.state.setup_token == token
    with TestClient(web, follow_redirects=False) as client:
        assert client.get(f"/setup?token={token}").status_code == 200
    web.state.store.dispose()


def test_serve_with_workers_hands_the_token_to_the_workers(tmp_path, monkeypatch):
    import os

    from audit.web.app import SETUP_ENV, app_from_environment

    output, factory = _serve(tmp_path, monkeypatch, "--workers", "2")
    assert factory == "audit.web.app:app_from_environment"
    assert os.environ[SETUP_ENV] == _printed_token(output)
    web = app_from_environment()
    assert web.state.setup_token == os.environ[SETUP_ENV]
    web.state.store.dispose()


def test_serve_prints_no_setup_link_once_there_are_accounts(tmp_path, monkeypatch):
    import os

    from audit.web.app import SETUP_ENV

    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    users.add_user(store, "ada", "admin", PASSWORD, actor="test")
    store.dispose()
    output, web = _serve(tmp_path, monkeypatch)
    assert "No accounts yet" not in output and "setup?token" not in output
    assert web.state.setup_token is None
    web.state.store.dispose()
    output, _factory = _serve(tmp_path, monkeypatch, "--workers", "2")
    assert "setup?token" not in output and SETUP_ENV not in os.environ  # the stale token is not passed on
