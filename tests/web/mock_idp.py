"""A small OpenID Connect provider for the SSO tests, served in-process (Starlette): discovery,
JWKS, authorize (signs in `idp.user` at once) and token (single-use codes, PKCE S256, client
secret by Basic or POST). ID tokens are signed with keys made here; `claims`, `sign_with`,
`header` and `make_token` let a test make them wrong in one way at a time.

The app's server-side calls reach it through a starlette TestClient (an httpx.Client) given to
audit.web.oidc.OidcClient; the test's "browser" follows the authorize redirect with it too."""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import time
from functools import lru_cache
from urllib.parse import unquote_plus, urlencode

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.routing import Route

ISSUER = "https://idp.example"
CLIENT_ID = "integrity-audit"
SECRET_ENV = "IA_TEST_OIDC_SECRET"
SECRET = "s3cret with+special/=chars"  # form-encoding of Basic credentials matters for these


def oidc_config(**overrides) -> dict:
    """The [web.oidc] table of a configured app."""
    return {"issuer": ISSUER, "client_id": CLIENT_ID, "client_secret": "${%s}" % SECRET_ENV,
            "button_label": "Force account", **overrides}


@lru_cache(maxsize=None)
def rsa_key(kid: str = "rsa-1") -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"})


@lru_cache(maxsize=None)
def ec_key(kid: str = "ec-1") -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig"})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class MockIdP:
    def __init__(self, user: str = "rob", auth_method: str = "client_secret_basic", issuer: str = ISSUER):
        self.issuer = issuer
        self.user = user
        self.auth_method = auth_method
        self.alg = "RS256"
        self.claims: dict = {}  # merged over the good claims
        self.header: dict = {}  # merged over the good JOSE header
        self.sign_with = None  # another key, same kid: a bad signature
        self.make_token = None  # nonce -> the ID token to send instead
        self.advertised_issuer = issuer  # what discovery says the issuer is
        self.interactive = False  # authorize shows a page whose link the person follows back
        self.codes: dict[str, dict] = {}
        self.token_requests: list[dict] = []
        self.app = Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/jwks", self.jwks), Route("/authorize", self.authorize),
            Route("/token", self.token, methods=["POST"])])

    @property
    def key(self):
        return ec_key() if self.alg == "ES256" else rsa_key()

    async def discovery(self, request: Request):
        return JSONResponse({"issuer": self.advertised_issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                             "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                             "token_endpoint_auth_methods_supported": [self.auth_method],
                             "id_token_signing_alg_values_supported": ["RS256", "ES256"]})

    async def jwks(self, request: Request):
        return JSONResponse({"keys": [rsa_key().as_dict(private=False), ec_key().as_dict(private=False)]})

    async def authorize(self, request: Request):
        q = request.query_params
        assert q["client_id"] == CLIENT_ID and q["response_type"] == "code", dict(q)
        assert q["code_challenge_method"] == "S256" and "openid" in q["scope"].split(), dict(q)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": q["nonce"], "challenge": q["code_challenge"],
                            "redirect_uri": q["redirect_uri"], "used": False}
        back = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]})
        if self.interactive:  # like a real sign-in page: the way back starts on the provider's site
            return HTMLResponse(f'<!doctype html><title>IdP</title><link rel="icon" href="data:,"><a id="continue" href="{html.escape(back)}">Continue</a>')
        return RedirectResponse(back, 302)

    def _client_ok(self, request: Request, form) -> bool:
        if self.auth_method == "client_secret_post":
            return form.get("client_id") == CLIENT_ID and form.get("client_secret") == SECRET
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        user, _, password = base64.b64decode(value).decode().partition(":")
        return (unquote_plus(user), unquote_plus(password)) == (CLIENT_ID, SECRET)

    async def token(self, request: Request):
        form = await request.form()
        self.token_requests.append(dict(form))
        if not self._client_ok(request, form):
            return JSONResponse({"error": "invalid_client"}, 401)
        grant = self.codes.get(form.get("code", ""))
        verifier = form.get("code_verifier", "")
        if (grant is None or grant["used"] or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != grant["redirect_uri"]
                or b64(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]):
            return JSONResponse({"error": "invalid_grant"}, 400)
        grant["used"] = True
        return JSONResponse({"access_token": "at", "token_type": "Bearer", "id_token": self.id_token(grant["nonce"])})

    def id_token(self, nonce: str) -> str:
        if self.make_token is not None:
            return self.make_token(nonce)
        key = self.sign_with or self.key
        header = {"alg": self.alg, "kid": self.key.kid, **self.header}
        return jwt.encode(header, self.good_claims(nonce), key, algorithms=[header["alg"]])

    def good_claims(self, nonce: str) -> dict:
        now = int(time.time())
        return {"iss": self.issuer, "aud": CLIENT_ID, "sub": f"sub-{self.user}", "iat": now, "exp": now + 300,
                "nonce": nonce, "preferred_username": self.user, **self.claims}

    def handmade_token(self, nonce: str, alg: str, secret: bytes = b"") -> str:
        """A token with good claims that joserfc would not make: alg "none", or HS256 keyed with
        the provider's public key (the algorithm-confusion attack)."""
        head = b64(json.dumps({"alg": alg, "kid": rsa_key().kid}).encode())
        body = b64(json.dumps(self.good_claims(nonce)).encode())
        signature = b64(hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()) if secret else ""
        return f"{head}.{body}.{signature}"


def attach(app, idp: MockIdP):
    """Route the app's calls to the provider through `idp` (returns the client for the browser)."""
    from starlette.testclient import TestClient

    from audit.web.oidc import OidcClient

    http = TestClient(idp.app, base_url=ISSUER, raise_server_exceptions=True, follow_redirects=False)
    app.state.oidc = OidcClient(app.state.settings.web.oidc, http=http)
    return http
