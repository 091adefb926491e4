"""`integrity-audit users ...` and `serve --help`: accounts made from the command line."""
from __future__ import annotations

from typer.testing import CliRunner

from audit.cli import app
from audit.store import open_store, trail
from audit.web import users


def _config(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "s.db"}"\n')
    return str(cfg)


def test_users_add_list_disable_from_the_command_line(tmp_path):
    cfg, run = _config(tmp_path), CliRunner().invoke
    r = run(app, ["users", "add", "jo", "--role", "reviewer", "--person-id", "000417", "--department", "CID",
                  "--password-stdin", "-c", cfg], input="a long enough password\n")
    assert r.exit_code == 0, r.output
    r = run(app, ["users", "add", "kim", "--role", "ccu", "-c", cfg], input="another good password\nmismatch here!!\n")
    assert r.exit_code == 2 and "not the same" in r.output  # input refused: usage (docs/cli.md)
    r = run(app, ["users", "add", "kim", "--role", "boss", "--password-stdin", "-c", cfg], input="another good password\n")
    assert r.exit_code == 2 and "role must be one of" in r.output
    r = run(app, ["users", "add", "kim", "--role", "ccu", "--password-stdin", "-c", cfg], input="short\n")
    assert r.exit_code == 2 and "at least 12 characters" in r.output
    assert "jo" in run(app, ["users", "list", "-c", cfg]).output
    assert run(app, ["users", "disable", "jo", "-c", cfg]).exit_code == 0
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    jo = users.get_user(store, "jo")
    assert (jo.role, jo.person_id, jo.department, jo.active) == ("reviewer", "000417", "CID", False)
    assert users.authenticate(store, "jo", "a long enough password") is None  # disabled
    assert [e["action"] for e in trail.events(store, obj="user:jo")] == ["user.disable", "user.add"]
    with store.read() as s:
        from audit.store.models import WebUser
        assert s.get(WebUser, "jo").password_hash.startswith("$argon2id$")
    store.dispose()


def test_serve_has_help():
    r = CliRunner().invoke(app, ["serve", "--help"])
    assert r.exit_code == 0 and "--port" in r.output


def test_serve_offers_workers_and_a_worker_builds_the_app_from_the_environment(tmp_path, monkeypatch):
    from starlette.testclient import TestClient

    from audit.web.app import CONFIG_ENV, HOST_ENV, app_from_environment

    r = CliRunner().invoke(app, ["serve", "--help"])
    assert "--workers" in r.output and "--no-access-log" in r.output
    assert CliRunner().invoke(app, ["serve", "--workers", "0", "-c", _config(tmp_path)]).exit_code == 2
    cfg = _config(tmp_path)
    open_store(f"sqlite:///{tmp_path / 's.db'}").dispose()  # `serve` migrates before it starts workers
    monkeypatch.setenv(CONFIG_ENV, cfg)
    monkeypatch.setenv(HOST_ENV, "0.0.0.0")
    web = app_from_environment()
    assert web.state.settings.web.host == "0.0.0.0" and web.state.store.url == f"sqlite:///{tmp_path / 's.db'}"
    with TestClient(web) as client:
        page = client.get("/login")
        assert page.status_code == 200 and "Secure" in page.headers["set-cookie"]  # off loopback: Secure cookies
    web.state.store.dispose()
