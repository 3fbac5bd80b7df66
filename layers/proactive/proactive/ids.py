"""Identifiers. Occurrence runs get ids derived from what they are an occurrence of, so the
id itself is the exactly-once claim."""

from __future__ import annotations

import hashlib
import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


def occurrence_run_id(occurrence_key: str) -> str:
    return "run-" + hashlib.blake2b(occurrence_key.encode(), digest_size=12).hexdigest()
