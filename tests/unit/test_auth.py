from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from proactive.auth import (
    issue_local_token,
    parse_workspaces,
    principal_from_apigw_event,
    verify_local_token,
)
from proactive.errors import Unauthorized
from proactive.settings import get_settings

SECRET = "unit-test-secret-with-enough-length-000"


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        (["ws-1", "ws-2"], {"ws-1", "ws-2"}),
        ("[ws-1 ws-2]", {"ws-1", "ws-2"}),  # how API Gateway flattens an array claim
        ('["ws-1","ws-2"]', {"ws-1", "ws-2"}),
        ("ws-1, ws-2", {"ws-1", "ws-2"}),
        ("ws-1", {"ws-1"}),
        (None, set()),
        ("", set()),
    ],
)
def test_workspace_claim_forms(claim: object, expected: set[str]) -> None:
    assert parse_workspaces(claim) == expected


def test_local_token_round_trip() -> None:
    token = issue_local_token(["ws-a", "ws-b"], secret=SECRET, subject="alice")
    principal = verify_local_token(f"Bearer {token}", settings=get_settings(), secret=SECRET)
    assert principal.subject == "alice"
    assert principal.workspaces == {"ws-a", "ws-b"}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing Authorization header"),
        ("Token abc", "must be 'Bearer <token>'"),
        ("Bearer not.a.jwt", "invalid token"),
    ],
)
def test_bad_headers_are_unauthorized(header: str | None, message: str) -> None:
    with pytest.raises(Unauthorized, match=message):
        verify_local_token(header, settings=get_settings(), secret=SECRET)


def test_expired_token() -> None:
    token = issue_local_token(["ws"], secret=SECRET, ttl=timedelta(seconds=-5))
    with pytest.raises(Unauthorized, match="expired"):
        verify_local_token(f"Bearer {token}", settings=get_settings(), secret=SECRET)


def test_token_signed_with_another_key() -> None:
    token = issue_local_token(["ws"], secret="another-key-another-key-another-key!")
    with pytest.raises(Unauthorized, match="Signature verification failed"):
        verify_local_token(f"Bearer {token}", settings=get_settings(), secret=SECRET)


def test_token_without_workspaces() -> None:
    token = jwt.encode({"sub": "x", "exp": 9999999999, "iss": "proactive-local", "aud": "proactive"}, SECRET)
    with pytest.raises(Unauthorized, match="no 'workspaces' claim"):
        verify_local_token(f"Bearer {token}", settings=get_settings(), secret=SECRET)


def test_apigw_claims_are_read_from_the_request_context() -> None:
    event = {
        "requestContext": {"authorizer": {"jwt": {"claims": {"sub": "u1", "workspaces": "[ws-1 ws-9]"}}}}
    }
    principal = principal_from_apigw_event(event, get_settings())
    assert principal.workspaces == {"ws-1", "ws-9"}
    with pytest.raises(Unauthorized):
        principal_from_apigw_event({"requestContext": {}}, get_settings())
