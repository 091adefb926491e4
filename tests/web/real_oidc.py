"""A real OpenID Connect provider for the browser tests: oidc-provider (an OpenID Certified
implementation, from the npm registry) run by Node.js from tests/web/real_idp/server.js.

`node_idp` (session) finds node and npm and runs `npm ci` there once if node_modules is missing;
`RealIdP.start` runs the server on a free port for one test and stops it after. Without Node.js,
or when `npm ci` fails (no registry), the tests are skipped with the reason, except with CI=true:
there it is a failure, so CI never passes by skipping them."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from webtest import free_port

IDP_DIR = Path(__file__).resolve().parent / "real_idp"
CLIENT_ID = "integrity-audit"
SECRET_ENV = "IA_TEST_REAL_OIDC_SECRET"
SECRET = "real s3cret with+special/=chars"  # the Basic credentials must be form-encoded (RFC 6749 2.3.1)
ACCOUNTS = {"rob": "rob-at-the-idp", "stranger": "stranger-at-the-idp"}  # as in server.js
NODE_MAJOR = 18  # oidc-provider 8 needs Node.js 18 or later
NPM_CI_SECONDS = 300
START_SECONDS = 30


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: the real OpenID provider tests must run, but {reason}", pytrace=False)
    pytest.skip(reason)


def _node_or_skip() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
        _unavailable(f"Node.js is not installed: {missing} not found on PATH "
                     "(apt-get install nodejs npm; .ci/run then runs npm ci --prefix tests/web/real_idp)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        major = 0
    if major < NODE_MAJOR:
        _unavailable(f"Node.js {version or '(unknown version)'} is too old: oidc-provider needs {NODE_MAJOR} or later")
    return node, npm


def _installed() -> bool:
    return (IDP_DIR / "node_modules" / "oidc-provider" / "package.json").is_file()


@pytest.fixture(scope="session")
def node_idp() -> str:
    """The node executable, once tests/web/real_idp has its packages (npm ci, from package-lock.json)."""
    node, npm = _node_or_skip()
    if not _installed():
        try:
            done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=IDP_DIR,
                                  capture_output=True, text=True, timeout=NPM_CI_SECONDS)
        except subprocess.TimeoutExpired:
            _unavailable(f"npm ci in {IDP_DIR} took longer than {NPM_CI_SECONDS} s (is the npm registry reachable?)")
        if done.returncode != 0 or not _installed():
            lines = [line for line in (done.stdout + done.stderr).strip().splitlines()
                     if not line.removeprefix("npm error").strip().startswith("at ")]  # no stack frames
            _unavailable(f"npm ci in {IDP_DIR} failed (exit {done.returncode}; is the npm registry reachable?):\n"
                         + "\n".join(lines[:12]))
    return node


@dataclass
class RealIdP:
    issuer: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @classmethod
    @contextmanager
    def start(cls, node: str, redirect_uri: str, log: Path):
        """oidc-provider on http://localhost:<free port> for one client with `redirect_uri`;
        stopped (SIGTERM, then SIGKILL) when the block ends."""
        port = free_port()
        issuer = f"http://localhost:{port}"  # another site than the app on 127.0.0.1
        env = {**os.environ, "IDP_CLIENT_SECRET": SECRET, "NODE_ENV": "test"}
        with log.open("wb") as out:
            process = subprocess.Popen(
                [node, "server.js", "--port", str(port), "--issuer", issuer, "--client-id", CLIENT_ID,
                 "--redirect-uri", redirect_uri], cwd=IDP_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
        idp = cls(issuer=issuer, process=process, log=log)
        try:
            idp._wait()
            yield idp
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

    def _wait(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        url = f"http://127.0.0.1:{self.issuer.rsplit(':', 1)[1]}/.well-known/openid-configuration"
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"the OpenID provider exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(url, timeout=2).json().get("issuer") == self.issuer:
                    return
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the OpenID provider did not answer in {START_SECONDS} s:\n{self.output()}")
            time.sleep(0.1)
