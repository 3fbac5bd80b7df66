"""What every route's JSON body must be beyond its model: text that is valid Unicode.

JSON may escape a lone surrogate (`"\\ud800"`), which Python reads into a string that cannot be
encoded as UTF-8. A model refuses one in a field it types as a string, but a field of any JSON (a
payload, a config, metadata) would store it, and from then on every answer showing that item
would fail. The app runs `readable_body` before each route that reads a JSON body, so no such
text is stored, whichever field holds it.
"""

from __future__ import annotations

from fastapi import Request

from proactive.errors import InvalidInput
from proactive.lib.surrogates import lone_surrogate, may_hold_surrogates


async def readable_body(request: Request) -> None:
    """422 naming the field (`metrics[3].metric_name`, or `body`) when the JSON body the route
    reads holds a lone surrogate. Routes that read their body as bytes (the signed webhook ingest,
    agents' callbacks) are left alone: they check it themselves, after its signature."""
    route = request.scope.get("route")
    if getattr(route, "body_field", None) is None:
        return
    raw = await request.body()
    if not may_hold_surrogates(raw):
        return
    try:
        # Already read by the route's own parsing, which Starlette keeps: not parsed twice.
        value = await request.json()
    except (ValueError, RecursionError):  # not JSON: the route's validation says so
        return
    found = lone_surrogate(value)
    if found is not None:
        path, what = found
        raise InvalidInput(f"{path}: holds text that is not valid Unicode: {what}", field=path)
