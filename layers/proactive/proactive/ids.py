"""Identifiers. Occurrences get ids derived from what they are an occurrence of, so creating the
item with its id is itself the exactly-once claim."""

from __future__ import annotations

import hashlib
import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


def derived_id(prefix: str, key: str) -> str:
    """The same id for the same key, always: `<prefix>-<24 hex digits>`."""
    return f"{prefix}-" + hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


def occurrence_run_id(occurrence_key: str) -> str:
    return derived_id("run", occurrence_key)
