"""Helpers shared by the web tests and the load benchmark (a module name of its own, so it never
collides with another folder's conftest): settings, sign-in, CSRF tokens, the Chromium check."""
from __future__ import annotations

import os
import re
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

import seed

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LOGIN_CSRF = re.compile(r'action="/login"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"')


def settings_for(out_dir: Path, **web):
    from audit.settings import Settings

    return Settings.model_validate({"exports": {"out_dir": str(out_dir)}, "web": web})


def write_outputs(out_dir: Path, period: str = "2026-10") -> None:
    folder = out_dir / period
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"report-{period}.html").write_text("<p>full report with vetting</p>")
    (folder / f"report-{period}-reviewers.html").write_text("<p>reviewers' report</p>")
    (folder / "alerts.csv").write_text("alert_id\n1\n")
    (folder / "manifest.json").write_text("{}")


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "page has no CSRF token"
    return m.group(1)


def login_csrf_of(html: str) -> str:
    m = LOGIN_CSRF.search(html)
    assert m, "page has no login form"
    return m.group(1)


def login(client, name: str, password: str = seed.PASSWORD):
    """Sign `client` in as `name`; returns the session's CSRF token."""
    page = client.get("/login")
    r = client.post("/login", data={"csrf": login_csrf_of(page.text), "username": name, "password": password},
                    follow_redirects=False)
    assert r.status_code == 303, (name, r.status_code, r.text[:300])
    return csrf_of(client.get(r.headers["location"]).text)


def chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: browser tests must run, but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    """A port free now, for a server of another process (it may be taken before that server binds
    it: use reserve_port for a server started with `serving`)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_reserved: dict[int, socket.socket] = {}


def reserve_port() -> int:
    """A port bound and listening in this process until `serving` hands its socket to uvicorn, so no
    other test (xdist runs several at once) can take it in between, as it could with free_port."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    port = s.getsockname()[1]
    _reserved[port] = s
    return port


@contextmanager
def serving(asgi_app, port: int):
    """Serve `asgi_app` with uvicorn on 127.0.0.1:port in a thread, for browser tests."""
    import uvicorn

    srv = uvicorn.Server(uvicorn.Config(asgi_app, host="127.0.0.1", port=port, log_level="warning"))
    sock = _reserved.pop(port, None)  # a reserved port's own socket: nothing to race for
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock] if sock else None}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield
    finally:
        srv.should_exit = True
        thread.join(10)
