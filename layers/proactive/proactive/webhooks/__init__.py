"""Webhooks: public, signed URLs that deliver events to a trigger.

A delivery arrives through `proactive.webhooks.ingest` (its own small function), and the worker runs it
through `proactive.webhooks.deliveries`. Every delivery, accepted or not, is in the webhook's delivery
log, and an accepted one links to its run and back. Whether ingest accepts a delivery (signature,
body, the webhook's state and rate limit) is decided in `proactive.webhooks.acceptance`.

Webhooks are made, changed, listed and their secrets rotated in `proactive.webhooks.crud`;
this package's own module imports nothing, so the ingest function loads only what ingest needs.

The capability's other pieces: what the API accepts and shows, and the records of webhooks and
deliveries as the table holds them, in `proactive.models.webhooks`;
webhooks and their delivery log in the table in `proactive.store.webhooks`; the routes that manage
them (`/api/proactive/webhooks`) in `proactive.api.routes_webhooks`, the public ingest route
(`/api/hooks/{url_path}`) in `proactive.api.routes_hooks`, and the ingest function's adapter in
`functions/ingest/handler.py`.
"""
