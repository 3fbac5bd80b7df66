"""Each workspace's autonomous mode (id: the workspace id), in the due index while enabled."""

from __future__ import annotations

from typing import Any

from proactive.store.schedules import DueEntities


class Autonomy(DueEntities[dict[str, Any]]):
    kind = "autonomy"
