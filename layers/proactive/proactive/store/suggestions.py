"""Suggestions (one per pattern found in a workspace's history, its id derived from the pattern's
fingerprint so that mining again finds the same one) and each workspace's mining: when its
history was last mined and what was found (`patterns`), in the due index for the next daily
mining, with the count of suggestions people accepted and dismissed of each kind."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr

from proactive.models.common import Record
from proactive.models.suggestions import SuggestionRecord
from proactive.store.entities import Entities, fields_of
from proactive.store.schedules import DueEntities
from proactive.store.table import ConditionFailed

# Every item's `kind` attribute names its entity kind, so a suggestion's own kind is stored apart.
_KIND_ATTRIBUTE = "suggestion_kind"


def _stored_kind(values: Mapping[str, Any]) -> dict[str, Any]:
    return {(_KIND_ATTRIBUTE if name == "kind" else name): value for name, value in values.items()}


class Suggestions(Entities[SuggestionRecord]):
    kind = "suggestion"
    record = SuggestionRecord

    def item(
        self, entity: Mapping[str, Any] | Record, extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        return super().item(_stored_kind(fields_of(entity)), extra)

    def shown(self, item: Mapping[str, Any]) -> dict[str, Any]:
        shown = super().shown(item)
        if _KIND_ATTRIBUTE in shown:
            shown["kind"] = shown.pop(_KIND_ATTRIBUTE)
        return shown

    def update(
        self, item_id: str, changes: Mapping[str, Any] | None = None, **options: Any
    ) -> SuggestionRecord:
        return super().update(item_id, _stored_kind(changes or {}), **options)

    def claim(self, suggestion_id: str, *, now: datetime, until: datetime) -> SuggestionRecord | None:
        """Hold an open (or snoozed) suggestion while its request is made; None when it is
        accepted already, or another accept holds it and its hold has not lapsed."""
        try:
            return self.update(
                suggestion_id,
                {"accepting_until": until},
                condition=Attr("status").is_in(["open", "snoozed", "expired", "superseded"])
                & (
                    Attr("accepting_until").not_exists()
                    | Attr("accepting_until").eq(None)
                    | Attr("accepting_until").lt(now)
                ),
            )
        except ConditionFailed:
            return None


class Minings(DueEntities[dict[str, Any]]):
    """One item per workspace (its id is the workspace's id)."""

    kind = "mining"
    # What was found: any JSON the statistics give, kept as text.
    json_fields = ("patterns",)

    def listing(self, entity: Any) -> dict[str, str]:
        # Looked up by workspace, never listed.
        return {}
