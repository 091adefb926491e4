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
    assert r.exit_code == 1 and "not the same" in r.output
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
