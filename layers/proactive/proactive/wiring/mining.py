"""The work only the functions with the full layer perform: mining a workspace's history for
suggestions (its statistics need numpy, which the light layer does not hold).

Installed (`install`) by the worker, beside the wiring's event bus (`proactive.wiring.bus`); the
dispatcher, which hands the daily mining over (`proactive.wiring.DUE_KINDS`), cannot reach it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from proactive.context import Context
from proactive.wiring import WorkKind, register_work


def _mine(ctx: Context, workspace_id: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    from proactive.suggestions import refresh

    return refresh.perform(ctx.store, workspace_id, ctx.now())


# A workspace's daily mining: one per slot (the message names it), kept by its idempotency key.
MINING = WorkKind("mining", _mine)


def install() -> None:
    """Make the mining a kind of work. Calling it again changes nothing."""
    register_work(MINING)
