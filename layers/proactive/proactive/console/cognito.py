"""Signing in to the console through Cognito's hosted UI: OAuth 2.0 authorization code with PKCE.

The console is a public client (no client secret). It sends the browser to the hosted UI with a
fresh verifier's S256 challenge and a random state, both kept in a short signed cookie; the
callback checks the state, trades the code and the verifier for the user's tokens at the token
endpoint, and signs in the person the ID token names, after verifying it against the issuer's keys
exactly as the API verifies bearer tokens (issuer, audience = the app client, expiry, the
workspaces claim).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import httpx

from proactive.auth import Principal
from proactive.errors import ServiceUnavailable, Unauthorized

FLOW_COOKIE = "proactive_oauth"
_FLOW_TTL = timedelta(minutes=10)
_AUDIENCE = "proactive-console-oauth"


@dataclass(frozen=True)
class Flow:
    """One sign-in under way: what the callback must see again."""

    state: str
    verifier: str
    next_path: str

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def start(next_path: str) -> Flow:
    return Flow(state=secrets.token_urlsafe(24), verifier=secrets.token_urlsafe(64), next_path=next_path)


def authorize_url(domain: str, client_id: str, redirect_uri: str, flow: Flow) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email profile",
            "state": flow.state,
            "code_challenge": flow.challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{domain.rstrip('/')}/oauth2/authorize?{query}"


def seal(flow: Flow, key: bytes, now: datetime) -> str:
    """The flow as the cookie keeps it (signed: the browser cannot change it)."""
    import jwt

    claims = {
        "state": flow.state,
        "verifier": flow.verifier,
        "next": flow.next_path,
        "exp": int((now + _FLOW_TTL).timestamp()),
        "aud": _AUDIENCE,
    }
    return jwt.encode(claims, key, algorithm="HS256")


def unseal(cookie: str | None, key: bytes) -> Flow | None:
    if not cookie:
        return None
    import jwt

    try:
        claims = jwt.decode(cookie, key, algorithms=["HS256"], audience=_AUDIENCE)
    except jwt.InvalidTokenError:
        return None
    return Flow(state=str(claims["state"]), verifier=str(claims["verifier"]), next_path=str(claims["next"]))


def exchange(domain: str, client_id: str, redirect_uri: str, code: str, flow: Flow) -> str:
    """The ID token the token endpoint gives for `code` and the flow's verifier."""
    try:
        answer = httpx.post(
            f"{domain.rstrip('/')}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "client_id": client_id,
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": flow.verifier,
            },
            headers={"Accept": "application/json"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"the sign-in service did not answer ({type(exc).__name__})") from exc
    if answer.status_code != 200:
        reason = ""
        with contextlib.suppress(ValueError):
            reason = str(answer.json().get("error") or "")
        raise Unauthorized(f"the sign-in service refused the sign-in ({answer.status_code} {reason})".strip())
    try:
        token = answer.json()["id_token"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ServiceUnavailable("the sign-in service answered without an ID token") from exc
    return str(token)


def principal_of(id_token: str) -> Principal:
    """Who the ID token names, verified as the API verifies a bearer token."""
    from proactive.api.deps import token_principal

    return token_principal(id_token)
