"""One-time links that sign a person in to the console.

A link's code is a random credential: only its SHA-256 is stored, with the subject and workspaces
it signs in as, and when it lapses (the table's TTL removes it later). Using it deletes it, on the
condition that it is still there, so of two uses at once exactly one signs in.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from proactive.clock import iso, parse_iso
from proactive.store import keys
from proactive.store.table import Table

LIFETIME = timedelta(minutes=15)


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class LoginLinks:
    kind = "loginlink"

    def __init__(self, table: Table) -> None:
        self.table = table

    def create(
        self, subject: str, workspaces: Iterable[str], now: datetime, lifetime: timedelta = LIFETIME
    ) -> tuple[str, datetime]:
        """A new link's code, signing in as `subject` with `workspaces`, and when it lapses."""
        code = secrets.token_urlsafe(32)
        expires = now + lifetime
        self.table.put_new(
            {
                **keys.login_link(_hash(code)),
                "kind": self.kind,
                "subject": subject,
                "workspaces": sorted(set(workspaces)),
                "expires_at": iso(expires),
                keys.TTL_ATTRIBUTE: int(expires.timestamp()) + 3600,
            }
        )
        return code, expires

    def use(self, code: str, now: datetime) -> tuple[str, frozenset[str]] | None:
        """Who the link signs in as (subject, workspaces), once: None when it is unknown, lapsed
        or already used."""
        if not code or len(code) > 200:
            return None
        key = keys.login_link(_hash(code))
        item = self.table.get(key)
        if item is None or parse_iso(str(item["expires_at"])) <= now:
            return None
        if not self.table.delete(key):
            return None
        return str(item["subject"]), frozenset(str(w) for w in item["workspaces"])
