"""Fuzz target: webhook signature verification and body parsing, called directly.

Contract, for any headers and body (format in `webhook_format`):
- `verify` raises SignatureError or returns; `parse_body` raises BodyError or returns;
- a delivery is accepted only if it carries a valid signature by a current secret (the current
  one or the previous one in its grace period), never one by another secret;
- a delivery a correct sender signed with a current secret is accepted, keyed on its delivery id;
- a body `parse_body` accepts is JSON that can be stored, read back unchanged and shown as UTF-8.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from proactive.lib.signatures import SignatureError, verify
from proactive.webhooks.acceptance import BodyError, parse_body
from tests.fuzz import webhook_format as fmt
from tests.fuzz.common import NOW, Violation, expect


def check_payload(payload: Any) -> None:
    """A parsed body must be storable and showable: ingest stores it as JSON text, and the API
    shows it again as UTF-8 (so it holds no number JSON cannot write, and no lone surrogate)."""
    try:
        text = json.dumps(payload, allow_nan=False, ensure_ascii=False)
        text.encode("utf-8")
    except (ValueError, UnicodeEncodeError) as exc:
        raise Violation(f"parse_body accepted a body that cannot be stored and shown: {exc}") from None
    expect(json.loads(text) == payload, "the parsed body does not survive storing it as JSON")


def run(data: bytes) -> str:
    delivery = fmt.parse(data)
    try:
        payload = parse_body(delivery.body, delivery.headers)
    except BodyError:
        parsed = "bad-body"
    else:
        check_payload(payload)
        parsed = "body"
    if delivery.scheme not in fmt.SCHEMES:
        return parsed
    keys = fmt.secrets_for(delivery.scheme)
    current = [keys["current"], keys["old"]]
    try:
        verified = verify(delivery.scheme, current, delivery.headers, delivery.body, NOW)  # type: ignore[arg-type]
    except SignatureError:
        expect(
            not fmt.well_signed(delivery),
            f"a delivery signed correctly ({delivery.mode}) was refused",
        )
        return f"refused/{parsed}"
    expect(
        fmt.signed_by(delivery, current),
        f"a delivery not signed by a current secret was accepted ({delivery.mode})",
    )
    expect(
        delivery.mode in ("sign", "old", "raw"),
        f"a delivery signed with the {delivery.mode} secret was accepted",
    )
    expect(
        verified.delivery_key == fmt.delivery_key(delivery),
        f"delivery key {verified.delivery_key!r} is not the sender's ({fmt.delivery_key(delivery)!r})",
    )
    return f"accepted/{parsed}"


@contextmanager
def target() -> Iterator[Callable[[bytes], str]]:
    yield run
