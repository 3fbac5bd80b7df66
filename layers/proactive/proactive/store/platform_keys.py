"""Keys the platform makes for itself.

- `PlatformKeys`: random keys the platform makes for itself on first use (the approval links'
  signing key), so a deployment needs no secret set up by hand. Each is sealed in the table
  (`proactive.sealing`); one stored in clear before keys were sealed is sealed when next read.
"""

from __future__ import annotations

import base64
import contextlib
import secrets

from boto3.dynamodb.conditions import Attr

from proactive.store import keys
from proactive.store.entities import in_clear, seal_fields, seal_in_place, unseal_fields
from proactive.store.table import ConditionFailed, Table

_KEY_BYTES = 32


class PlatformKeys:
    kind = "platformkey"
    sealed_fields = ("secret",)

    def __init__(self, table: Table) -> None:
        self.table = table

    def get_or_create(self, name: str) -> bytes:
        """The key named `name`, made (random, 32 bytes) by whoever asks first. It is stored
        sealed; one stored in clear, before keys were sealed, is sealed now (`seal_in_place`)."""
        key = keys.platform_key(name)
        item = self.table.get(key)
        if item is None:
            made = base64.b64encode(secrets.token_bytes(_KEY_BYTES)).decode()
            # Someone else made it first: use theirs.
            with contextlib.suppress(ConditionFailed):
                self.table.put(
                    {
                        **key,
                        "kind": self.kind,
                        **seal_fields(self.kind, name, {"secret": made}, self.sealed_fields),
                    },
                    condition=Attr(keys.PK).not_exists(),
                )
            item = self.table.get(key)
            assert item is not None
        seal_in_place(self.table, key, self.kind, name, in_clear(item, self.sealed_fields))
        shown = unseal_fields(self.kind, {**item, "id": name}, self.sealed_fields)
        return base64.b64decode(str(shown["secret"]))
