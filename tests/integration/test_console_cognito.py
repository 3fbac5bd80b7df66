"""Signing in to the console through a hosted UI (authorization code with PKCE), against an
identity provider on loopback that checks the verifier as Cognito does."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from fastapi.testclient import TestClient

from proactive.settings import get_settings
from tests.integration.conftest import Aws

BASE = "http://127.0.0.1:8000"


class _HostedUi:
    """Publishes its RSA keys, and trades a code for an ID token only with the code's verifier."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()
        self.codes: dict[str, str] = {}  # code -> the challenge it was issued for
        self.trades: list[dict[str, list[str]]] = []
        ui = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(200 if self.path == "/.well-known/jwks.json" else 404, ui.jwks)

            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["content-length"])).decode())
                ui.trades.append(form)
                code, verifier = form.get("code", [""])[0], form.get("code_verifier", [""])[0]
                digest = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
                )
                if self.path != "/oauth2/token" or ui.codes.pop(code, None) != digest:
                    self._answer(400, b'{"error": "invalid_grant"}')
                    return
                self._answer(200, json.dumps({"id_token": ui.id_token(), "access_token": "x"}).encode())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def id_token(self) -> str:
        now = int(time.time())
        claims = {"sub": "ana", "iss": self.url, "aud": "console-client", "exp": now + 600}
        claims["workspaces"] = "ws-7 ws-8"  # a Cognito custom attribute is text
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture
def hosted_ui(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[_HostedUi]:
    ui = _HostedUi()
    monkeypatch.setenv("AUTH_MODE", "jwks")
    monkeypatch.setenv("JWT_ISSUER", ui.url)
    monkeypatch.setenv("JWT_AUDIENCE", "api-client,console-client")
    monkeypatch.setenv("CONSOLE_COGNITO_DOMAIN", ui.url)
    monkeypatch.setenv("CONSOLE_COGNITO_CLIENT_ID", "console-client")
    get_settings.cache_clear()
    yield ui
    ui.server.shutdown()
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def browser(hosted_ui: _HostedUi) -> Iterator[TestClient]:
    from tests.apps import api_app

    with TestClient(api_app(), base_url=BASE, follow_redirects=False) as c:
        yield c


def _authorize(browser: TestClient, next_path: str) -> dict[str, str]:
    page = browser.get("/console/login")
    assert "/console/login/cognito" in page.text  # offered once it is set up
    answer = browser.get("/console/login/cognito", params={"next": next_path})
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def test_hosted_ui_sign_in_with_pkce(browser: TestClient, hosted_ui: _HostedUi) -> None:
    asked = _authorize(browser, "/console/ws-8/runs")
    assert asked["response_type"] == "code"
    assert asked["client_id"] == "console-client"
    assert asked["code_challenge_method"] == "S256"
    assert len(asked["code_challenge"]) == 43
    assert asked["redirect_uri"] == f"{BASE}/console/login/callback"

    # The person signs in at the hosted UI, which sends the browser back with a code.
    hosted_ui.codes["code-1"] = asked["code_challenge"]
    answer = browser.get("/console/login/callback", params={"code": "code-1", "state": asked["state"]})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/ws-8/runs"
    # The verifier went only to the token endpoint, never through the browser.
    verifier = hosted_ui.trades[-1]["code_verifier"][0]
    assert verifier not in json.dumps(asked)
    assert browser.get("/console/").headers["location"] == "/console/ws-7/"


def test_a_callback_that_did_not_start_here_signs_nobody_in(
    browser: TestClient, hosted_ui: _HostedUi
) -> None:
    asked = _authorize(browser, "/console/")
    hosted_ui.codes["code-2"] = asked["code_challenge"]
    forged = browser.get("/console/login/callback", params={"code": "code-2", "state": "someone-elses"})
    assert forged.status_code == 401
    assert "did not start here" in forged.text
    assert "proactive_session" not in forged.headers.get("set-cookie", "")
    # A code issued for another challenge (another browser's flow) is refused by the provider.
    hosted_ui.codes["code-3"] = "not-this-challenge"
    refused = browser.get("/console/login/callback", params={"code": "code-3", "state": asked["state"]})
    assert refused.status_code == 401
    assert "invalid_grant" in refused.text


def test_without_a_hosted_ui_the_console_does_not_offer_it(aws: Aws) -> None:
    from tests.apps import api_app

    with TestClient(api_app(), base_url=BASE, follow_redirects=False) as c:
        assert "/console/login/cognito" not in c.get("/console/login").text
        assert c.get("/console/login/cognito").status_code == 404
