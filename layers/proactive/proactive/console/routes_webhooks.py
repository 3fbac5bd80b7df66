"""The console's webhooks & triggers pages.

- `/console/{ws}/webhooks`: the workspace's webhooks (name, public URL to copy, the trigger and
  agent it starts, created) and triggers (what each listens to, its filter, its agent, whether it
  is active, and links to the runs and deliveries it started), one page of each.
- `/console/{ws}/webhooks/{id}`: a webhook and its delivery log, newest first and paged: for each
  delivery the signature's verdict, whether it was a duplicate or filtered out (and by what), the
  trigger it was evaluated against and the run it started. The first page follows new deliveries.
- Rotating a webhook's secret (`POST .../rotate`) answers a page showing the new secret, the only
  page that ever shows it; sending a test delivery (`POST .../test`) has the API sign and deliver
  one with the webhook's own secret (the console never reads a secret), and shows what came of it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from proactive.console.web import Checked, Looking, Viewer, api, console_router, form_fields, render
from proactive.errors import DomainError, InvalidInput, NotFound
from proactive.settings import get_settings
from proactive.webhooks.crud import webhook_url

router = console_router()
PAGE = 50
# Triggers looked up one by one, at most, for webhooks whose trigger is not on the page.
LOOKUPS = 25
# How much of a delivery's payload the log shows (the API holds all of it).
PAYLOAD_CHARS = 4000
# How long the old secret keeps signing after a rotation, as the form offers it.
GRACE_HOURS = {"0": 0, "1": 1, "24": 24, "168": 168}


async def agent_names(request: Request, viewer: Viewer) -> dict[str, str]:
    """The names of the workspace's agents (its first hundred), by id."""
    found = await api(request, viewer, "GET", "/api/agents", params={"limit": 100})
    return {a["id"]: a["name"] for a in found.get("items", [])}


async def maybe(request: Request, viewer: Viewer, path: str) -> dict[str, Any] | None:
    """The API's answer to `GET path`, or None when it refuses (an item since deleted)."""
    try:
        found = await api(request, viewer, "GET", path)
    except DomainError:
        return None
    return found if isinstance(found, dict) else None


def hook_url(request: Request, hook: dict[str, Any]) -> str:
    """Where senders deliver: the API's public address, or the address this page was asked at."""
    if get_settings().public_base_url:
        return str(hook.get("webhook_url") or "")
    return webhook_url(str(request.base_url), str(hook.get("url_path") or ""))


def listens_to(trigger: dict[str, Any]) -> str:
    """What starts the trigger, in words: `GitHub owner/repo: pull_request (opened)`."""
    config = trigger.get("config") or {}
    kind = trigger.get("trigger_type")
    if kind == "github":
        events = ", ".join(config.get("event") or [])
        actions = f" ({', '.join(config['actions'])})" if config.get("actions") else ""
        return f"GitHub {config.get('repository')}: {events}{actions}"
    if kind == "event" and config.get("recorded_event"):
        return f"recorded event {config['recorded_event']}"
    if kind == "event":
        source = " ".join(str(config[k]) for k in ("source_type", "source_id") if config.get(k))
        return f"{config.get('event')}" + (f" of {source}" if source else "")
    if kind == "webhook":
        return "deliveries to its webhooks"
    return "fired by hand (POST .../fire)"


def next_url(request: Request, **cursors: str | None) -> str | None:
    """This page's address with its query changed to `cursors`; None when there is no next page."""
    changed = {k: v for k, v in cursors.items() if v}
    if not changed:
        return None
    query = {**dict(request.query_params), **changed}
    return f"{request.url.path}?{urlencode(query)}"


async def _triggers_of(
    request: Request, viewer: Viewer, hooks: list[dict[str, Any]], listed: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The triggers the webhooks deliver to, by id: those on the page, the others looked up."""
    known = {t["id"]: t for t in listed}
    missing = list(dict.fromkeys(h["trigger_id"] for h in hooks if h["trigger_id"] not in known))
    for trigger_id in missing[:LOOKUPS]:
        found = await maybe(request, viewer, f"/api/proactive/triggers/{quote(trigger_id, safe='')}")
        if found is not None:
            known[trigger_id] = found
    return known


@router.get("/{workspace}/webhooks")
async def webhooks_page(
    request: Request,
    workspace: str,
    viewer: Looking,
    cursor: str | None = None,
    triggers_cursor: str | None = None,
) -> HTMLResponse:
    """One page of the workspace's webhooks and one of its triggers."""
    hooks = await api(
        request, viewer, "GET", "/api/proactive/webhooks", params={"limit": PAGE, "cursor": cursor}
    )
    listed = await api(
        request, viewer, "GET", "/api/proactive/triggers", params={"limit": PAGE, "cursor": triggers_cursor}
    )
    triggers = await _triggers_of(request, viewer, hooks["items"], listed["items"])
    delivering: dict[str, list[dict[str, Any]]] = {}
    for hook in hooks["items"]:
        delivering.setdefault(hook["trigger_id"], []).append(hook)
    return render(
        request,
        "webhooks/index.html",
        viewer,
        hooks=hooks["items"],
        urls={h["id"]: hook_url(request, h) for h in hooks["items"]},
        triggers=listed["items"],
        trigger_of=triggers,
        delivering=delivering,
        agents=await agent_names(request, viewer),
        listens_to=listens_to,
        hooks_next=next_url(request, cursor=hooks.get("next_cursor")),
        triggers_next=next_url(request, triggers_cursor=listed.get("next_cursor")),
    )


async def own_webhook(request: Request, viewer: Viewer, webhook_id: str) -> dict[str, Any]:
    """The webhook, when it is of the page's workspace (404 otherwise, as for one that is not)."""
    hook = await api(request, viewer, "GET", f"/api/proactive/webhooks/{quote(webhook_id, safe='')}")
    if hook.get("workspace_id") != viewer.workspace:
        raise NotFound(f"webhook {webhook_id!r} not found")
    return dict(hook)


def verdicts(delivery: dict[str, Any]) -> dict[str, Any]:
    """What the log shows of a delivery beside what it holds: the signature's verdict (only an
    unauthorized delivery failed it; every other one was signed by a current secret), whether it
    was a duplicate, what filtered it out, and its payload as text (cut to `PAYLOAD_CHARS`)."""
    status = delivery.get("status")
    payload = delivery.get("payload")
    text = "" if payload is None else json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False)
    return {
        "signature_ok": status != "unauthorized",
        "duplicate": status == "duplicate",
        "filtered_by": delivery.get("reason") if status == "filtered" else None,
        "payload_text": text[:PAYLOAD_CHARS],
        "payload_cut": len(text) > PAYLOAD_CHARS,
    }


@router.get("/{workspace}/webhooks/{webhook_id}")
async def webhook_page(
    request: Request, workspace: str, webhook_id: str, viewer: Looking, cursor: str | None = None
) -> HTMLResponse:
    """A webhook and one page of its delivery log."""
    hook = await own_webhook(request, viewer, webhook_id)
    log = await api(
        request,
        viewer,
        "GET",
        f"/api/proactive/webhooks/{quote(webhook_id, safe='')}/deliveries",
        params={"limit": PAGE, "cursor": cursor},
    )
    wanted = [hook["trigger_id"], *(d.get("trigger_id") for d in log["items"])]
    triggers: dict[str, dict[str, Any]] = {}
    for trigger_id in list(dict.fromkeys(t for t in wanted if t))[:LOOKUPS]:
        found = await maybe(request, viewer, f"/api/proactive/triggers/{quote(trigger_id, safe='')}")
        if found is not None:
            triggers[trigger_id] = found
    trigger = triggers.get(hook["trigger_id"])
    agent = (
        await maybe(request, viewer, f"/api/agents/{quote(trigger['agent_id'], safe='')}")
        if trigger
        else None
    )
    return render(
        request,
        "webhooks/detail.html",
        viewer,
        hook=hook,
        url=hook_url(request, hook),
        trigger=trigger,
        triggers=triggers,
        agent=agent,
        deliveries=[{**d, **verdicts(d)} for d in log["items"]],
        first_page=not cursor,
        next_page=next_url(request, cursor=log.get("next_cursor")),
    )


@router.post("/{workspace}/webhooks/{webhook_id}/rotate")
async def rotate_secret(request: Request, workspace: str, webhook_id: str, viewer: Checked) -> HTMLResponse:
    """A new secret for the webhook, shown on the answer page only; the old one keeps signing
    for the hours the form chose (`grace_hours`: 0, 1, 24 or 168)."""
    chosen = next(iter((await form_fields(request)).get("grace_hours", [])), "24")
    if chosen not in GRACE_HOURS:
        raise InvalidInput(
            "choose how long the old secret stays valid: 0, 1, 24 or 168 hours", field="grace_hours"
        )
    await own_webhook(request, viewer, webhook_id)
    rotated = await api(
        request,
        viewer,
        "POST",
        f"/api/proactive/webhooks/{quote(webhook_id, safe='')}/regenerate-secret",
        {"grace_period_seconds": GRACE_HOURS[chosen] * 3600},
    )
    return render(request, "webhooks/secret.html", viewer, hook=rotated, grace_hours=GRACE_HOURS[chosen])


def _test_body(fields: dict[str, list[str]]) -> dict[str, Any]:
    """The test delivery the form asks for: its payload (a JSON object, or the API's default when
    left empty) and its event name."""
    body: dict[str, Any] = {}
    text = next(iter(fields.get("payload", [])), "").strip()
    if text:
        try:
            payload = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"the payload is not JSON: {exc}", field="payload") from None
        if not isinstance(payload, dict):
            raise InvalidInput("the payload must be a JSON object ({...})", field="payload")
        body["payload"] = payload
    event = next(iter(fields.get("event", [])), "").strip()
    if event:
        body["event"] = event
    return body


@router.post("/{workspace}/webhooks/{webhook_id}/test")
async def send_test(request: Request, workspace: str, webhook_id: str, viewer: Checked) -> HTMLResponse:
    """Have the API sign and deliver a test event to the webhook; show what its URL answered, the
    delivery and the run it started."""
    body = _test_body(await form_fields(request))
    hook = await own_webhook(request, viewer, webhook_id)
    result = await api(
        request, viewer, "POST", f"/api/proactive/webhooks/{quote(webhook_id, safe='')}/test", body
    )
    delivery = result.get("delivery")
    return render(
        request,
        "webhooks/tested.html",
        viewer,
        hook=hook,
        result=result,
        delivery={**delivery, **verdicts(delivery)} if delivery else None,
    )
