"""Delivery: to a folder (atomic, one subfolder per period), by SMTP to a local aiosmtpd server
(attachments arrive intact: SHA-256 matches the manifest), and a closed port recorded as failed
after its retries."""
from __future__ import annotations

import email
import email.policy
import hashlib
import json
import socket
import warnings

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from audit.settings import Destination
from reports import deliver, export


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def files(run_view, tmp_path):
    return export.export(run_view, tmp_path / "out", ["all"])


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                              session.authenticated))
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()

    def auth(server, session, envelope, mechanism, data):
        ok = data.login == b"ccu-bot" and data.password == b"s3cret"
        return AuthResult(success=ok)

    warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
    ctl = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=auth,
                     auth_required=True, auth_require_tls=False)
    ctl.start()
    try:
        yield ctl, inbox
    finally:
        ctl.stop()


def test_folder_delivery_is_complete_and_only_the_chosen_formats(run_view, files, tmp_path):
    dest = Destination(name="ccu-share", kind="folder", path=str(tmp_path / "ccu"),
                       formats=["csv", "json"])
    (res,) = deliver.deliver(run_view, files, [dest], backoff=0)
    assert res.status == "delivered" and res.attempts == 1 and res.error is None
    target = tmp_path / "ccu" / "2026-03"
    names = sorted(p.name for p in target.iterdir())
    assert names == sorted(
        [p.name for p in files.by_format["csv"] + files.by_format["json"]] + ["manifest.json"])
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["destination"] == "ccu-share"
    assert {e["name"] for e in manifest["files"]} == set(names) - {"manifest.json"}
    for e in manifest["files"]:
        assert hashlib.sha256((target / e["name"]).read_bytes()).hexdigest() == e["sha256"]
    assert not [p for p in target.iterdir() if p.name.endswith(".tmp")]


def test_smtp_delivery_attachments_arrive_intact(run_view, files, smtp_server, monkeypatch):
    ctl, inbox = smtp_server
    monkeypatch.setenv("CCU_SMTP_USER", "ccu-bot")
    monkeypatch.setenv("CCU_SMTP_PASSWORD", "s3cret")
    dest = Destination(name="ccu-mail", kind="smtp", host="127.0.0.1", port=ctl.port,
                       starttls=False, username="${CCU_SMTP_USER}", password="${CCU_SMTP_PASSWORD}",
                       sender="audit@force.example", recipients=["ccu@force.example"],
                       formats=["csv", "xlsx", "json"])
    (res,) = deliver.deliver(run_view, files, [dest], backoff=0)
    assert res.status == "delivered", res.error
    (mail_from, rcpts, content, authed) = inbox.messages[0]
    assert mail_from == "audit@force.example" and rcpts == ["ccu@force.example"] and authed
    msg = email.message_from_bytes(content, policy=email.policy.default)
    assert "2026-03" in msg["Subject"]
    parts = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
    manifest = json.loads(parts.pop("manifest.json"))
    assert sorted(parts) == sorted(p.name for p in files.paths)
    assert {e["name"]: e["sha256"] for e in manifest["files"]} == {
        n: hashlib.sha256(b).hexdigest() for n, b in parts.items()}


def test_unreachable_smtp_is_a_failed_delivery_after_retries(run_view, files, tmp_path):
    port = _free_port()  # nothing listens here
    sleeps = []
    dest = Destination(name="down", kind="smtp", host="127.0.0.1", port=port, starttls=False,
                       sender="a@x.example", recipients=["b@x.example"], retries=2)
    ok = Destination(name="share", kind="folder", path=str(tmp_path / "share"))
    down, share = deliver.deliver(run_view, files, [dest, ok], backoff=0.01, sleep=sleeps.append)
    assert down.status == "failed" and down.attempts == 3
    assert "ConnectionRefusedError" in down.error
    assert sleeps == [0.01, 0.02]  # exponential backoff between the three attempts
    assert share.status == "delivered"  # one failing destination does not stop the others
    assert all(p.exists() for p in files.paths)  # the export is never lost


def test_missing_password_env_is_a_clear_failure_without_retries(run_view, files, monkeypatch):
    monkeypatch.delenv("NO_SUCH_SMTP_PASSWORD", raising=False)
    dest = Destination(name="m", kind="smtp", host="127.0.0.1", port=_free_port(), starttls=False,
                       username="u", password="${NO_SUCH_SMTP_PASSWORD}", sender="a@x.example",
                       recipients=["b@x.example"], retries=3)
    (res,) = deliver.deliver(run_view, files, [dest], backoff=0)
    assert res.status == "failed" and res.attempts == 1
    assert "NO_SUCH_SMTP_PASSWORD is not set" in res.error
