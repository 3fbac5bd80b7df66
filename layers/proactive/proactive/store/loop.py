"""The goal loop's settings (one item per workspace, id: the workspace id).

The settings are written whole, on the condition that their version is still the one read, so
two updates made from the same read cannot both land: the second is told (ConditionFailed) and
applies its change again on what the first one wrote (`entities.modify`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from proactive.clock import parse_iso
from proactive.store import keys
from proactive.store.entities import version_is
from proactive.store.schedules import DueEntities


class LoopSettings(DueEntities[dict[str, Any]]):
    kind = "loop_settings"

    def save(self, workspace_id: str, settings: Mapping[str, Any], *, expect_version: int) -> dict[str, Any]:
        """Write the settings (version `expect_version` + 1) if nobody wrote them since they were
        read at `expect_version` (0: never stored); ConditionFailed otherwise. Returns them as
        stored."""
        saved = {
            **settings,
            "id": workspace_id,
            "workspace_id": workspace_id,
            keys.VERSION_ATTRIBUTE: expect_version + 1,
        }
        due_at = saved.get("next_analysis_at")
        self.table.put(
            {
                **self.key(workspace_id),
                "kind": self.kind,
                **saved,
                # In the due index while an analysis is due: the dispatcher starts it.
                **self.due.attributes(workspace_id, parse_iso(due_at) if due_at else None),
            },
            condition=version_is(expect_version),
        )
        return saved
