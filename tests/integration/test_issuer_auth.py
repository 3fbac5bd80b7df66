"""Where no API Gateway stands in front (the streaming function's URL), the app verifies bearer
tokens itself against the issuer's published keys, served here by an issuer on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import jwt
import pytest
from fastapi.testclient import TestClient

from proactive.auth import verify_issuer_token
from proactive.errors import Unauthorized
from proactive.settings import get_settings
from tests.integration.conftest import Aws


class _Issuer:
    """An identity provider on loopback publishing its RSA signing key as a JWKS."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwks = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()
        self.fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.fetches += 1
                self.send_response(200 if self.path == "/.well-known/jwks.json" else 404)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(jwks)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def token(self, **claims: object) -> str:
        now = int(time.time())
        base = {"sub": "u1", "iss": self.url, "aud": "app-client", "exp": now + 600, "workspaces": ["ws-1"]}
        return jwt.encode({**base, **claims}, self.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture
def issuer(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Issuer]:
    found = _Issuer()
    monkeypatch.setenv("AUTH_MODE", "jwks")
    monkeypatch.setenv("JWT_ISSUER", found.url)
    monkeypatch.setenv("JWT_AUDIENCE", "other-client,app-client")
    get_settings.cache_clear()
    yield found
    found.server.shutdown()
    monkeypatch.undo()
    get_settings.cache_clear()


def test_without_api_gateway_the_app_verifies_tokens_against_the_issuers_keys(issuer: _Issuer) -> None:
    settings = get_settings()
    principal = verify_issuer_token(f"Bearer {issuer.token()}", settings=settings)
    assert principal.subject == "u1"
    assert principal.workspaces == frozenset({"ws-1"})
    # A Cognito access token names its app client in client_id, not aud.
    access = issuer.token(aud=None, client_id="app-client")
    assert verify_issuer_token(f"Bearer {access}", settings=settings).subject == "u1"
    assert issuer.fetches == 1  # the keys are fetched once and kept


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "https://elsewhere.example"}, "issuer"),
        ({"exp": 1}, "expired"),
    ],
)
def test_issuer_tokens_with_the_wrong_claims_are_refused(
    issuer: _Issuer, claims: dict[str, object], message: str
) -> None:
    with pytest.raises(Unauthorized, match=message):
        verify_issuer_token(f"Bearer {issuer.token(**claims)}", settings=get_settings())


def test_a_token_signed_with_another_key_is_refused(issuer: _Issuer) -> None:
    forged = jwt.encode(
        {"sub": "x", "iss": issuer.url, "aud": "app-client", "exp": int(time.time()) + 60},
        "not-the-key-but-long-enough-for-hmac-sha256!",
        algorithm="HS256",
        headers={"kid": "k1"},
    )
    with pytest.raises(Unauthorized, match="invalid token"):
        verify_issuer_token(f"Bearer {forged}", settings=get_settings())


def test_the_app_in_jwks_mode_answers_an_issuer_token_and_refuses_a_local_one(
    issuer: _Issuer, aws: Aws
) -> None:
    from proactive.api.deps import get_store
    from tests.apps import api_app

    get_store.cache_clear()
    with TestClient(api_app(), raise_server_exceptions=False) as client:
        ok = client.get("/conversations", headers={"Authorization": f"Bearer {issuer.token()}"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["items"] == []
        refused = client.get("/tasks", headers={"Authorization": "Bearer not-a-token"})
        assert refused.status_code == 401
        assert refused.json()["error"] == "unauthorized"
