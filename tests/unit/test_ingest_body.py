"""Webhook bodies as ingest reads them: JSON, or GitHub's form encoding; anything else a BodyError."""

from __future__ import annotations

import json

import pytest

from proactive.webhooks.acceptance import BodyError, parse_body

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "headers", "payload"),
    [
        (b'{"a": [1, 2.5, null, true]}', JSON, {"a": [1, 2.5, None, True]}),
        (b"", JSON, {}),
        (
            b"payload=%7B%22action%22%3A%22opened%22%7D",
            {"content-type": "application/x-www-form-urlencoded"},
            {"action": "opened"},
        ),
    ],
)
def test_bodies_read_as_payloads(body: bytes, headers: dict[str, str], payload: object) -> None:
    assert parse_body(body, headers) == payload


@pytest.mark.parametrize(
    "body",
    [b"\xff", b"{", b"NaN", b'{"a": Infinity}', b"[" * 100_000],
)
def test_unreadable_bodies_are_body_errors(body: bytes) -> None:
    with pytest.raises(BodyError):
        parse_body(body, JSON)


@pytest.mark.parametrize("body", [b"1e999", b'{"reading": 1e999}', b"[-1e400]"])
def test_numbers_out_of_range_are_body_errors_not_infinity(body: bytes) -> None:
    # Found by the fuzzer: Python reads 1e999 as inf, which the payload store refuses, so ingest
    # raised and the sender got 503 ("retry") for a delivery that can never be stored.
    try:
        payload = parse_body(body, JSON)
    except BodyError:
        return
    json.dumps(payload, allow_nan=False)  # what the store does with it: raises for inf
