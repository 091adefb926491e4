"""OpenID Connect single sign-on ([web.oidc]): the provider authenticates, local accounts authorise.

The flow is the authorization code flow with PKCE (S256), state and nonce. What the browser must
bring back (state, nonce, PKCE verifier, where to go next) travels in a short-lived cookie that is
HMAC-signed with a key derived from the client secret, so every worker process can check it and
nothing is kept server-side until the callback. The cookie is SameSite=Lax: the provider's
redirect back is a cross-site navigation, on which Strict cookies are not sent.

The ID token is verified here (joserfc): signature against the provider's JWKS (RS256 or ES256
only, so "none" and HS* are refused), iss, aud (and azp), exp / iat with LEEWAY_SECONDS, nonce.
The user name claim is taken from the ID token; a provider that keeps to OIDC Core 5.4 gives
scope claims such as preferred_username only from its UserInfo endpoint, so when the ID token
lacks it, it is asked there with the access token, and that answer must be about the same `sub`.
Every failure is an OidcError carrying a plain message for the person and a reason for the
audit trail; nothing from the provider is ever shown as a trace.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable
from urllib.parse import quote_plus, urlencode

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from audit.settings import OidcSection, SettingsError, expand_env, secure_url

log = logging.getLogger("audit.web.oidc")

FLOW_COOKIE = "ia_oidc"
FLOW_PATH = "/login/oidc"
FLOW_SECONDS = 600
ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 60
DISCOVERY_SECONDS = 3600
HTTP_TIMEOUT = httpx.Timeout(10.0)
MAX_USERNAME = 128


class OidcError(Exception):
    """A sign-in that cannot go on: `message` is for the person, `reason` for the audit trail."""

    def __init__(self, message: str, reason: str, status: int = 502):
        super().__init__(reason)
        self.message, self.reason, self.status = message, reason, status


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Flow:
    """One sign-in attempt, from /login/oidc to its callback."""

    id: str
    state: str
    nonce: str
    verifier: str
    next: str
    expires: int

    @classmethod
    def start(cls, next_path: str, now: float) -> "Flow":
        flow_id, state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(4))
        return cls(id=flow_id, state=state, nonce=nonce, verifier=verifier, next=next_path,
                   expires=int(now) + FLOW_SECONDS)

    @property
    def challenge(self) -> str:
        """The PKCE S256 code challenge of the verifier (RFC 7636)."""
        return _b64(hashlib.sha256(self.verifier.encode("ascii")).digest())


def seal(flow: Flow, key: bytes) -> str:
    body = _b64(json.dumps(asdict(flow), separators=(",", ":")).encode("utf-8"))
    return body + "." + _b64(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())


def unseal(value: str | None, key: bytes, now: float) -> Flow | None:
    """The flow in a cookie value, or None if it is missing, forged, malformed or expired."""
    if not value or len(value) > 2000 or value.count(".") != 1 or not value.isascii():
        return None
    body, mac = value.split(".")
    expected = _b64(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())
    if not hmac.compare_digest(mac.encode("ascii"), expected.encode("ascii")):
        return None
    try:
        flow = Flow(**json.loads(_unb64(body)))
    except (ValueError, TypeError):
        return None
    return flow if flow.expires > now else None


@dataclass(frozen=True)
class Provider:
    """What this app uses from the provider's discovery document."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth: str  # client_secret_basic | client_secret_post
    userinfo_endpoint: str | None = None


class OidcClient:
    """Talks to one provider. Discovery and JWKS are cached; pass `http` to route calls in tests."""

    def __init__(self, cfg: OidcSection, http: httpx.Client | None = None,
                 clock: Callable[[], float] = time.time):
        self.cfg = cfg
        self.http = http or httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False)
        self.clock = clock
        self._provider: tuple[float, Provider] | None = None
        self._keys: KeySet | None = None

    @property
    def secret(self) -> str:
        try:
            return expand_env(self.cfg.client_secret, "web.oidc.client_secret")
        except SettingsError as e:
            log.error("single sign-on: %s", e)
            raise OidcError("Single sign-on is not set up correctly on the server: tell the administrator.",
                            "client secret not set") from None

    @property
    def flow_key(self) -> bytes:
        """The flow cookie's HMAC key: derived from the client secret, so all workers share it."""
        return hmac.new(self.secret.encode("utf-8"), b"integrity-audit oidc flow cookie v1", hashlib.sha256).digest()

    # -- provider metadata ------------------------------------------------------------------

    def _get_json(self, url: str, what: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            r = self.http.get(url, headers={"accept": "application/json", **(headers or {})})
            r.raise_for_status()
            data = r.json()
        except (httpx.HTTPError, ValueError) as e:
            log.warning("single sign-on: %s at %s failed: %r", what, url, e)
            raise OidcError("The sign-in provider could not be reached. Try again later, or sign in with "
                            "your password.", f"{what} failed: {type(e).__name__}") from None
        if not isinstance(data, dict):
            raise OidcError("The sign-in provider gave an answer this app does not understand.",
                            f"{what}: not a JSON object")
        return data

    def provider(self) -> Provider:
        cached = self._provider
        if cached and cached[0] > self.clock():
            return cached[1]
        issuer = self.cfg.issuer
        doc = self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery")
        if doc.get("issuer") != issuer:
            log.error("single sign-on: the provider calls itself %r; set [web.oidc] issuer to exactly that",
                      doc.get("issuer"))
            raise OidcError("Single sign-on is not set up correctly on the server: tell the administrator.",
                            "discovery issuer differs from the configured issuer")
        urls = {k: doc.get(k) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")}
        bad = [k for k, v in urls.items() if not isinstance(v, str) or not secure_url(v)]
        userinfo = doc.get("userinfo_endpoint")
        if userinfo is not None and (not isinstance(userinfo, str) or not secure_url(userinfo)):
            bad.append("userinfo_endpoint")
        if bad:
            raise OidcError("The sign-in provider gave an answer this app does not understand.",
                            f"discovery: missing or insecure {', '.join(bad)}")
        methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        auth = next((m for m in ("client_secret_basic", "client_secret_post") if m in methods), None)
        if auth is None:
            raise OidcError("Single sign-on is not set up correctly on the server: tell the administrator.",
                            f"token endpoint offers no client secret method ({methods})")
        provider = Provider(**urls, token_auth=auth, userinfo_endpoint=userinfo)
        self._provider = (self.clock() + DISCOVERY_SECONDS, provider)
        return provider

    def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            doc = self._get_json(self.provider().jwks_uri, "jwks")
            keys = [k for k in doc.get("keys") or [] if isinstance(k, dict) and k.get("use", "sig") == "sig"]
            try:
                self._keys = KeySet.import_key_set({"keys": keys})
            except (JoseError, ValueError) as e:
                raise OidcError("The sign-in provider gave an answer this app does not understand.",
                                f"jwks: {type(e).__name__}") from None
        return self._keys

    # -- the flow ---------------------------------------------------------------------------

    def authorize_url(self, flow: Flow, redirect_url: str) -> str:
        endpoint = self.provider().authorization_endpoint
        query = urlencode({"response_type": "code", "client_id": self.cfg.client_id, "redirect_uri": redirect_url,
                           "scope": self.cfg.scopes, "state": flow.state, "nonce": flow.nonce,
                           "code_challenge": flow.challenge, "code_challenge_method": "S256"})
        return endpoint + ("&" if "?" in endpoint else "?") + query

    def identify(self, code: str, flow: Flow, redirect_url: str) -> str:
        """Exchange the code and verify the ID token; returns the user name claim's value (from the
        ID token, else from the UserInfo endpoint)."""
        id_token, access_token = self._exchange(code, flow.verifier, redirect_url)
        claims = self.verify(id_token, flow.nonce)
        name = claims.get(self.cfg.username_claim)
        if name is None and access_token:
            name = self._userinfo(access_token, claims["sub"]).get(self.cfg.username_claim)
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_USERNAME:
            raise OidcError(f"The sign-in provider did not say who you are (no usable "
                            f"{self.cfg.username_claim} claim).", f"no {self.cfg.username_claim} claim", 403)
        return name.strip()

    def _exchange(self, code: str, verifier: str, redirect_url: str) -> tuple[str, str | None]:
        """The ID token and the access token (if any) for the code."""
        provider = self.provider()
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_url,
                "code_verifier": verifier}
        auth = None
        if provider.token_auth == "client_secret_basic":  # RFC 6749 2.3.1: form-encode, then Basic
            auth = httpx.BasicAuth(quote_plus(self.cfg.client_id), quote_plus(self.secret))
        else:
            data |= {"client_id": self.cfg.client_id, "client_secret": self.secret}
        try:
            r = self.http.post(provider.token_endpoint, data=data, auth=auth, headers={"accept": "application/json"})
            body = r.json()
        except (httpx.HTTPError, ValueError) as e:
            log.warning("single sign-on: token request failed: %r", e)
            raise OidcError("The sign-in provider could not be reached. Try again later.",
                            f"token request failed: {type(e).__name__}") from None
        if r.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
            error = str(body.get("error", r.status_code) if isinstance(body, dict) else r.status_code)[:80]
            raise OidcError("The sign-in provider did not accept the sign-in. Start again.",
                            f"token endpoint refused: {error}")
        access_token = body.get("access_token")
        return body["id_token"], access_token if isinstance(access_token, str) and access_token else None

    def _userinfo(self, access_token: str, sub: str) -> dict[str, Any]:
        """The UserInfo endpoint's claims ({} if the provider has none); its `sub` must be the ID
        token's (OIDC Core 5.3.2), or the answer is refused."""
        endpoint = self.provider().userinfo_endpoint
        if endpoint is None:
            return {}
        info = self._get_json(endpoint, "userinfo", {"authorization": f"Bearer {access_token}"})
        if info.get("sub") != sub:
            raise OidcError("The sign-in provider's answer could not be verified. Start again.",
                            "userinfo sub differs from the id token's", 403)
        return info

    def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of a valid ID token for this client and nonce; OidcError otherwise."""
        try:
            try:
                token = jwt.decode(id_token, self._key_set(), algorithms=list(ALGORITHMS))
            except InvalidKeyIdError:  # the provider may have rotated its keys: fetch them once more
                token = jwt.decode(id_token, self._key_set(refresh=True), algorithms=list(ALGORITHMS))
            claims = token.claims
            jwt.JWTClaimsRegistry(
                now=int(self.clock()), leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self.cfg.issuer}, aud={"essential": True, "value": self.cfg.client_id},
                sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
                nonce={"essential": True, "value": nonce}).validate(claims)
        except (JoseError, ValueError) as e:
            log.warning("single sign-on: ID token refused: %r", e)
            raise OidcError("The sign-in provider's answer could not be verified. Start again.",
                            f"id token refused: {type(e).__name__} {e}"[:200], 403) from None
        several = isinstance(claims["aud"], list) and len(claims["aud"]) > 1
        if (several or "azp" in claims) and claims.get("azp") != self.cfg.client_id:
            raise OidcError("The sign-in provider's answer could not be verified. Start again.",
                            "id token refused: azp is not this client", 403)
        return claims


_CLIENT_LOCK = threading.Lock()


def client_for(state: Any, cfg: OidcSection | None) -> OidcClient | None:
    """The app's OidcClient (made on first use and kept on app.state), or None when SSO is off."""
    if cfg is None:
        return None
    with _CLIENT_LOCK:
        client = getattr(state, "oidc", None)
        if client is None:
            client = state.oidc = OidcClient(cfg)
    return client
