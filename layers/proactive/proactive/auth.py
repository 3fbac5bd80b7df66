"""Who is calling, and which workspaces they may use.

In AWS, API Gateway's JWT authorizer verifies the token (issuer and audience are template
parameters) and the app reads the verified claims from the request context; where no API Gateway
stands in front (the streaming function's URL), the app verifies the token itself against the
issuer's published keys (JWKS), with the same issuer and audience. Locally, the app verifies
HS256 tokens itself with a per-machine secret.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from proactive.clock import utcnow
from proactive.errors import Forbidden, InvalidInput, Unauthorized
from proactive.settings import Settings, default

# PyJWT (and the cryptography it loads) is imported where a token is issued or verified: behind
# API Gateway's authorizer the app verifies none.
if TYPE_CHECKING:
    import jwt

LOCAL_SECRET_ENV = "LOCAL_JWT_SECRET"  # noqa: S105 - the variable name, not a secret


@dataclass(frozen=True)
class Principal:
    subject: str
    workspaces: frozenset[str]

    def only_workspace(self) -> str:
        """The token's one workspace, where a request may leave its workspace out."""
        if len(self.workspaces) == 1:
            return next(iter(self.workspaces))
        raise InvalidInput(
            "workspace_id is required when the token grants several workspaces", field="workspace_id"
        )

    def require(self, workspace_id: str) -> None:
        """Refuse to create anything in a workspace the token does not grant."""
        if workspace_id not in self.workspaces:
            raise Forbidden(
                f"token does not grant access to workspace {workspace_id!r}", field="workspace_id"
            )


def parse_workspaces(value: Any) -> frozenset[str]:
    """Workspaces from a claim. API Gateway flattens array claims to strings like "[a b]", and
    Cognito custom attributes are strings, so accept a list, JSON, or space/comma separated text."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                value = text.strip("[]").replace(",", " ").split()
        else:
            value = text.replace(",", " ").split()
    if not isinstance(value, Iterable):
        return frozenset()
    return frozenset(str(v).strip() for v in value if str(v).strip())


def principal_from_claims(claims: Mapping[str, Any], workspaces_claim: str) -> Principal:
    workspaces = parse_workspaces(claims.get(workspaces_claim))
    if not workspaces:
        raise Unauthorized(f"token has no {workspaces_claim!r} claim listing workspaces")
    return Principal(subject=str(claims.get("sub") or "unknown"), workspaces=workspaces)


def local_secret() -> str:
    """The local stack's signing secret: $LOCAL_JWT_SECRET, else one generated once per machine."""
    if os.environ.get(LOCAL_SECRET_ENV):
        return os.environ[LOCAL_SECRET_ENV]
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "proactive"
    path = state / "local-jwt-secret"
    if not path.exists():
        state.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def issue_local_token(
    workspaces: Iterable[str],
    *,
    secret: str,
    subject: str = "local-user",
    ttl: timedelta = timedelta(hours=12),
    issuer: str | None = None,
    audience: str | None = None,
    workspaces_claim: str | None = None,
) -> str:
    """A token the local stack accepts. Issuer, audience and claim name default to the settings'
    defaults, overridable by the same environment variables the server reads."""
    import jwt

    now = utcnow()
    claims = {
        "sub": subject,
        "iss": issuer or os.environ.get("JWT_ISSUER") or default("jwt_issuer"),
        "aud": audience or os.environ.get("JWT_AUDIENCE") or default("jwt_audience"),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        (workspaces_claim or os.environ.get("WORKSPACES_CLAIM") or default("workspaces_claim")): sorted(
            set(workspaces)
        ),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("missing Authorization header; send 'Authorization: Bearer <token>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    return token.strip()


@lru_cache(maxsize=4)
def _issuer_keys(url: str) -> jwt.PyJWKClient:
    """The issuer's signing keys, fetched when first needed and kept for an hour."""
    import jwt

    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)


def verify_issuer_token(authorization: str | None, *, settings: Settings) -> Principal:
    """A token signed by the issuer (RS/ES algorithms, its JWKS), as API Gateway's JWT authorizer
    checks it: issuer, expiry, and an audience (`aud`, or a Cognito access token's `client_id`)
    among the configured ones."""
    import jwt

    token = _bearer(authorization)
    url = settings.jwks_url or settings.jwt_issuer.rstrip("/") + "/.well-known/jwks.json"
    audiences = {a.strip() for a in settings.jwt_audience.split(",") if a.strip()}
    try:
        key = _issuer_keys(url).get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"],
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub"], "verify_aud": False},
        )
    except jwt.PyJWKClientConnectionError as exc:
        raise Unauthorized(f"could not fetch the token issuer's keys: {exc}") from exc
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token has expired") from exc
    except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    given = claims.get("aud")
    named = {given} if isinstance(given, str) else set(given or [])
    if claims.get("client_id"):
        named.add(str(claims["client_id"]))
    if not named & audiences:
        raise Unauthorized("invalid token: its audience is not one this API accepts")
    return principal_from_claims(claims, settings.workspaces_claim)


def verify_local_token(authorization: str | None, *, settings: Settings, secret: str) -> Principal:
    import jwt

    token = _bearer(authorization)
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    return principal_from_claims(claims, settings.workspaces_claim)


def principal_from_apigw_event(event: Mapping[str, Any] | None, settings: Settings) -> Principal:
    """Claims the HTTP API's JWT authorizer verified; their absence means no authorizer ran."""
    claims = (
        (((event or {}).get("requestContext") or {}).get("authorizer") or {}).get("jwt", {}).get("claims")
    )
    if not claims:
        raise Unauthorized("request carries no verified token claims")
    return principal_from_claims(claims, settings.workspaces_claim)
