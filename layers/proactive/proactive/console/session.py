"""Who is signed in to the console, and proof that a form came from one of its pages.

A session is a cookie holding a short token the platform signs itself (HS256, with a key it made
for itself: `PlatformKeys`, so a deployment sets up nothing by hand). It carries the subject and
the workspaces of the token or link it was opened with, and nothing else: no secret, no bearer
token. Signing out clears it; it lapses on its own after `TTL`.

Every form and every htmx request that changes something carries a CSRF token: an HMAC of the
session's id under the same key, so it is valid for that session only, and a page of another site
(which can make the browser send the cookie, but cannot read the page) cannot know it. The sign-in
form, sent before there is a session, is bound the same way to a random value in a cookie of its
own (`LOGIN_COOKIE`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from proactive.auth import Principal

COOKIE = "proactive_session"
LOGIN_COOKIE = "proactive_login"
TTL = timedelta(hours=12)
KEY_NAME = "console-session"
_AUDIENCE = "proactive-console"


@dataclass(frozen=True)
class Session:
    subject: str
    workspaces: frozenset[str]
    sid: str
    expires_at: int

    def principal(self) -> Principal:
        return Principal(subject=self.subject, workspaces=self.workspaces)


def open_session(principal: Principal, key: bytes, now: datetime) -> tuple[str, Session]:
    """A new session for `principal`: the cookie's value and what it says."""
    import jwt

    session = Session(
        subject=principal.subject,
        workspaces=principal.workspaces,
        sid=secrets.token_urlsafe(16),
        expires_at=int((now + TTL).timestamp()),
    )
    claims = {
        "sub": session.subject,
        "ws": sorted(session.workspaces),
        "sid": session.sid,
        "iat": int(now.timestamp()),
        "exp": session.expires_at,
        "aud": _AUDIENCE,
    }
    return jwt.encode(claims, key, algorithm="HS256"), session


def read_session(cookie: str | None, key: bytes, now: datetime) -> Session | None:
    """The session a cookie holds, or None when there is none, it was not signed here, or it lapsed."""
    if not cookie:
        return None
    import jwt

    try:
        claims = jwt.decode(
            cookie,
            key,
            algorithms=["HS256"],
            audience=_AUDIENCE,
            options={"require": ["exp", "sub", "sid", "ws"], "verify_exp": False},
        )
    except jwt.InvalidTokenError:
        return None
    workspaces = claims.get("ws")
    if not isinstance(workspaces, list) or not workspaces or int(claims["exp"]) <= now.timestamp():
        return None
    return Session(
        subject=str(claims["sub"]),
        workspaces=frozenset(str(w) for w in workspaces),
        sid=str(claims["sid"]),
        expires_at=int(claims["exp"]),
    )


def proof(key: bytes, value: str) -> str:
    """The CSRF token for a session id (or the sign-in form's nonce)."""
    digest = hmac.new(key, f"csrf:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def proves(key: bytes, value: str, sent: str | None) -> bool:
    """Whether `sent` is the CSRF token for `value`."""
    return bool(sent) and hmac.compare_digest(proof(key, value), str(sent))
