"""One-click approval links: what they carry, and every way a forged, altered or stale one is refused."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proactive.lib.approval_links import LinkClaims, LinkError, make_token, read_token

SECRET = b"0123456789abcdef0123456789abcdef"
NOW = 1_772_442_000.0
EXPIRES = NOW + 24 * 3600


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_a_link_says_which_approval_which_decision_and_until_when() -> None:
    token = make_token(SECRET, approval_id="appr-42", decision="approve", expires_at=EXPIRES + 0.9)

    claims = read_token(SECRET, token, NOW)

    assert isinstance(claims, LinkClaims)
    assert (claims.approval_id, claims.decision, claims.expires_at) == ("appr-42", "approve", int(EXPIRES))
    assert len(claims.nonce) >= 16
    assert token.replace("-", "").replace("_", "").replace(".", "").isalnum()  # URL-safe as it is


def test_each_link_is_distinct_by_its_nonce() -> None:
    first = make_token(SECRET, approval_id="appr-42", decision="approve", expires_at=EXPIRES)
    second = make_token(SECRET, approval_id="appr-42", decision="approve", expires_at=EXPIRES)

    assert first != second
    assert read_token(SECRET, first, NOW).nonce != read_token(SECRET, second, NOW).nonce


def test_an_expired_link_is_refused() -> None:
    token = make_token(SECRET, approval_id="appr-42", decision="reject", expires_at=EXPIRES)

    assert read_token(SECRET, token, EXPIRES - 1).decision == "reject"
    with pytest.raises(LinkError) as caught:
        read_token(SECRET, token, EXPIRES)

    assert caught.value.reason == "expired"
    assert "expired" in str(caught.value)


def test_a_swapped_decision_is_refused() -> None:
    approve = make_token(SECRET, approval_id="appr-42", decision="approve", expires_at=EXPIRES)
    reject = make_token(SECRET, approval_id="appr-42", decision="reject", expires_at=EXPIRES)
    payload, signature = approve.split(".")
    claims = json.loads(unb64(payload))

    # Rewriting the decision inside a signed approve link
    rewritten = b64(json.dumps({**claims, "d": "reject"}, separators=(",", ":"), sort_keys=True).encode())
    # or pairing an approve link's contents with a reject link's signature
    spliced = f"{payload}.{reject.split('.')[1]}"

    for forged in (f"{rewritten}.{signature}", spliced):
        with pytest.raises(LinkError) as caught:
            read_token(SECRET, forged, NOW)
        assert caught.value.reason == "bad_signature"


def test_a_link_from_another_secret_or_with_a_moved_expiry_is_refused() -> None:
    token = make_token(
        b"another secret, 32 bytes long!!!", approval_id="appr-42", decision="approve", expires_at=EXPIRES
    )
    payload, signature = make_token(
        SECRET, approval_id="appr-42", decision="approve", expires_at=EXPIRES
    ).split(".")
    later = b64(
        json.dumps(
            {**json.loads(unb64(payload)), "exp": int(EXPIRES) + 86_400}, separators=(",", ":")
        ).encode()
    )

    for forged in (token, f"{later}.{signature}"):
        with pytest.raises(LinkError) as caught:
            read_token(SECRET, forged, NOW)
        assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "no-dot-at-all",
        "a.b.c",
        "payload.",
        ".signature",
        "pay load.c2ln",
        "cGF5bG9hZA.c2lnbmF0dXJl",  # a signature of the wrong length
        "cGF5bG9hZA." + "A" * 44,  # 44 characters are 33 bytes, not a 32-byte digest
        "x" * 2000 + "." + "A" * 43,
    ],
)
def test_a_token_of_the_wrong_shape_is_refused_as_malformed(token: str) -> None:
    with pytest.raises(LinkError) as caught:
        read_token(SECRET, token, NOW)

    assert caught.value.reason == "malformed"


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        make_token(b"short", approval_id="appr-42", decision="approve", expires_at=EXPIRES)


@pytest.mark.parametrize(
    ("approval_id", "decision", "expires_at", "message"),
    [
        ("", "approve", EXPIRES, "approval_id"),
        ("x" * 201, "approve", EXPIRES, "approval_id"),
        ("a", "maybe", EXPIRES, "decision"),
        ("a", "approve", float("nan"), "expires_at"),
    ],
)
def test_make_token_refuses_what_it_cannot_carry(
    approval_id: str, decision: str, expires_at: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_token(SECRET, approval_id=approval_id, decision=decision, expires_at=expires_at)


@settings(max_examples=150, deadline=None)
@given(
    approval_id=st.text(min_size=1, max_size=200),
    decision=st.sampled_from(["approve", "reject"]),
    position=st.integers(min_value=0),
    replacement=st.sampled_from("AQgw_-.x="),
)
def test_any_link_reads_back_and_any_one_character_change_is_refused(
    approval_id: str, decision: str, position: int, replacement: str
) -> None:
    token = make_token(SECRET, approval_id=approval_id, decision=decision, expires_at=EXPIRES)
    claims = read_token(SECRET, token, NOW)
    assert (claims.approval_id, claims.decision) == (approval_id, decision)

    index = position % len(token)
    tampered = token[:index] + replacement + token[index + 1 :]
    if tampered != token:
        with pytest.raises(LinkError):
            read_token(SECRET, tampered, NOW)
