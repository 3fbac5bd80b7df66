"""Signing secrets at rest: the table (and GSI2) hold them sealed, the platform still signs and
verifies with them, rotation's grace still holds, secrets stored in clear before still read back
(and are sealed by the next write), and the KMS path works end to end on moto."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook as Signer

from proactive import sealing
from proactive.lib import approval_links
from proactive.lib.signatures import signed_headers, verify_callback
from proactive.loop import approvals
from proactive.settings import get_settings
from proactive.store import keys
from tests.integration.conftest import Aws, Handlers

BODY = b'{"event": "deployment", "version": "v1.2.3"}'


def _strings(value: Any) -> Iterator[str]:
    """Every text a DynamoDB attribute value holds, nested ones and map keys included (binary
    values as Latin-1, so a secret's bytes would show as its text)."""
    for type_, inner in value.items():
        if type_ == "S":
            yield inner
        elif type_ == "SS":
            yield from inner
        elif type_ == "B":
            yield bytes(inner).decode("latin-1")
        elif type_ == "M":
            for key, nested in inner.items():
                yield key
                yield from _strings(nested)
        elif type_ == "L":
            for nested in inner:
                yield from _strings(nested)


def raw_items(index: str | None = None) -> list[dict[str, Any]]:
    """The table's items (or an index's entries) as DynamoDB holds them: a plain scan."""
    client = boto3.client("dynamodb")
    arguments: dict[str, Any] = {"TableName": os.environ["TABLE_NAME"]}
    if index:
        arguments["IndexName"] = index
    return [item for page in client.get_paginator("scan").paginate(**arguments) for item in page["Items"]]


def raw_texts(index: str | None = None) -> list[str]:
    return [text for item in raw_items(index) for value in item.values() for text in _strings(value)]


def raw_item(key: dict[str, str]) -> dict[str, Any]:
    found = boto3.client("dynamodb").get_item(
        TableName=os.environ["TABLE_NAME"], Key={k: {"S": v} for k, v in key.items()}
    )
    return dict(found["Item"])


def set_raw(key: dict[str, str], **values: str) -> None:
    """Write attributes as they were stored before secrets were sealed."""
    names = {f"#n{i}": name for i, name in enumerate(values)}
    boto3.client("dynamodb").update_item(
        TableName=os.environ["TABLE_NAME"],
        Key={k: {"S": v} for k, v in key.items()},
        UpdateExpression="SET " + ", ".join(f"#n{i} = :v{i}" for i in range(len(values))),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":v{i}": {"S": v} for i, v in enumerate(values.values())},
    )


def forget_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a new process: no data key known, each read unwraps its own."""
    monkeypatch.setattr(sealing, "_default", None)


def webhook(client: TestClient) -> dict[str, Any]:
    agent = client.post("/api/agents", json={"workspace_id": "ws-1", "name": "deployer"}).json()
    trigger = client.post(
        "/api/proactive/triggers",
        json={
            "name": "deploys",
            "workspace_id": "ws-1",
            "trigger_type": "webhook",
            "agent_id": agent["id"],
            "task_template": "Deploy {version}",
        },
    ).json()
    made = client.post(
        "/api/proactive/webhooks",
        json={"workspace_id": "ws-1", "name": "deploys", "trigger_id": trigger["id"]},
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def deliver(handlers: Handlers, hook: dict[str, Any], secret: str, msg_id: str) -> int:
    now = datetime.now(UTC)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Signer(secret).sign(msg_id, now, BODY.decode()),
    }
    return handlers.post_hook(hook["url_path"], BODY, headers)[0]


def http_agent(client: TestClient) -> dict[str, Any]:
    made = client.post(
        "/api/agents",
        json={
            "workspace_id": "ws-1",
            "name": "checker",
            "runtime": "http",
            "config": {"url": "https://agent.example.com/run"},
        },
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def callback_accepted(aws: Aws, agent_id: str, secret: str, msg_id: str) -> bool:
    agent = aws.store.agents.get(agent_id)
    assert agent is not None
    now = datetime.now(UTC)
    headers = signed_headers(secret, msg_id, int(now.timestamp()), BODY)
    return verify_callback(agent, headers, BODY, now) == msg_id


def sealed_form(value: dict[str, Any]) -> str:
    text = str(value["S"])
    assert text.startswith("sealed:v1:"), "stored in clear"
    return text


def test_no_signing_secret_is_stored_in_clear_and_each_still_signs(
    client: TestClient, aws: Aws, handlers: Handlers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A webhook, rotated with a grace period
    hook = webhook(client)
    rotated = client.post(
        f"/api/proactive/webhooks/{hook['id']}/regenerate-secret", json={"grace_period_seconds": 600}
    ).json()
    # an http agent, rotated too
    agent = http_agent(client)
    agent_rotated = client.post(
        f"/api/agents/{agent['id']}/regenerate-secret", json={"grace_period_seconds": 600}
    ).json()
    # a webhook channel
    channel = client.post(
        "/api/notifications/channels",
        json={
            "workspace_id": "ws-1",
            "name": "hooks",
            "type": "webhook",
            "config": {"url": "http://127.0.0.1:9/notify"},
        },
    )
    assert channel.status_code == 201, channel.text
    # a goal-loop http action
    action = client.post(
        "/api/autonomous/actions",
        json={
            "name": "Flush cache",
            "goal_types": ["performance_target"],
            "kind": "http",
            "url": "https://cache.example.com/flush",
        },
    )
    assert action.status_code == 201, action.text
    # and the approval links' key, with a link made with it
    link_key = approvals.link_key(aws.store)
    expires = (datetime.now(UTC) + timedelta(hours=1)).timestamp()
    link = approval_links.make_token(link_key, approval_id="ga_1", decision="approve", expires_at=expires)

    secrets = {
        "webhook's first secret": hook["secret"],
        "webhook's secret": rotated["secret"],
        "agent's first secret": agent["secret"],
        "agent's secret": agent_rotated["secret"],
        "channel's secret": channel.json()["secret"],
        "action's secret": action.json()["secret"],
        "approval links' key": base64.b64encode(link_key).decode(),
    }
    assert all(secrets.values())
    assert len(set(secrets.values())) == len(secrets)
    # Then no text anywhere in the table, nor in GSI2 (which holds webhooks' secrets for ingest),
    # holds any of them, whole or its key part.
    texts = raw_texts() + raw_texts(keys.GSI2)
    for what, secret in secrets.items():
        for part in {secret, secret.removeprefix("whsec_")}:
            assert not [t for t in texts if part in t], f"the {what} is stored in clear"
    # Each is there, sealed.
    stored_hook = raw_item(keys.entity("webhook", hook["id"]))
    assert sealed_form(stored_hook["secret"]) != sealed_form(stored_hook["previous_secret"])
    sealed_form(raw_item(keys.entity("agent", agent["id"]))["secret"])
    sealed_form(raw_item(keys.entity("agent", agent["id"]))["previous_secret"])
    sealed_form(raw_item(keys.entity("channel", channel.json()["id"]))["secret"])
    sealed_form(raw_item(keys.entity("action", action.json()["id"]))["secret"])
    sealed_form(raw_item(keys.platform_key(approvals.KEY_NAME))["secret"])
    # The API never shows a sealed form either.
    shown = json.dumps([client.get(p).json() for p in ("/api/proactive/webhooks", "/api/agents")])
    assert "sealed:" not in shown

    # And, read as a new process would (unwrapping each data key), every secret still works:
    forget_keys(monkeypatch)
    # a delivery signed with the new secret, and with the old one during its grace period;
    assert deliver(handlers, hook, rotated["secret"], "msg_new") == 202
    assert deliver(handlers, hook, hook["secret"], "msg_old") == 202
    assert deliver(handlers, hook, "whsec_" + base64.b64encode(b"x" * 32).decode(), "msg_forged") == 401
    # an agent's callback signed with either of its secrets;
    assert callback_accepted(aws, agent["id"], agent_rotated["secret"], "cb_new")
    assert callback_accepted(aws, agent["id"], agent["secret"], "cb_old")
    # the channel and the action sign with the secret shown when they were made;
    assert (
        getattr(aws.store.channels.get(channel.json()["id"]), "secret", None) == secrets["channel's secret"]
    )
    assert (aws.store.actions.get(action.json()["id"]) or {})["secret"] == secrets["action's secret"]
    # the approval link made before still reads.
    claims = approval_links.read_token(approvals.link_key(aws.store), link, datetime.now(UTC).timestamp())
    assert claims.approval_id == "ga_1"

    # Once the grace period is over, the old webhook secret is refused.
    client.post(f"/api/proactive/webhooks/{hook['id']}/regenerate-secret", json={"grace_period_seconds": 0})
    assert deliver(handlers, hook, rotated["secret"], "msg_after") == 401


def test_secrets_stored_in_clear_read_back_and_the_next_write_seals_them(
    client: TestClient, aws: Aws, handlers: Handlers
) -> None:
    # A webhook and an approval key stored before secrets were sealed
    hook = webhook(client)
    key = keys.entity("webhook", hook["id"])
    set_raw(key, secret=hook["secret"])
    assert raw_item(key)["secret"]["S"] == hook["secret"]
    approval_key = base64.b64encode(b"k" * 32).decode()
    boto3.client("dynamodb").put_item(
        TableName=os.environ["TABLE_NAME"],
        Item={
            **{k: {"S": v} for k, v in keys.platform_key(approvals.KEY_NAME).items()},
            "kind": {"S": "platformkey"},
            "secret": {"S": approval_key},
        },
    )
    # read back as they are: a delivery signed with the secret is accepted,
    assert deliver(handlers, hook, hook["secret"], "msg_1") == 202
    assert approvals.link_key(aws.store) == b"k" * 32
    # and the approval key, read by a function that can seal, is sealed in place.
    sealed_form(raw_item(keys.platform_key(approvals.KEY_NAME))["secret"])
    assert approvals.link_key(aws.store) == b"k" * 32

    # The webhook's next write (a rename) seals its secret, which still verifies.
    version = int(raw_item(key)["version"]["N"])
    renamed = client.patch(f"/api/proactive/webhooks/{hook['id']}", json={"name": "deploys (prod)"})
    assert renamed.status_code == 200, renamed.text
    stored = raw_item(key)
    sealed_form(stored["secret"])
    assert int(stored["version"]["N"]) == version + 1  # sealing it is no change of its own
    assert deliver(handlers, hook, hook["secret"], "msg_2") == 202


@pytest.fixture
def kms_key(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A KMS key on moto, and the settings that seal with it (as the template sets them)."""
    created = boto3.client("kms").create_key(Description="table secrets")["KeyMetadata"]["Arn"]
    monkeypatch.setenv("TABLE_KEY_BACKEND", "kms")
    monkeypatch.setenv("TABLE_KEY_ID", created)
    get_settings.cache_clear()
    try:
        yield created
    finally:
        get_settings.cache_clear()


def test_with_the_kms_backend_secrets_are_sealed_by_kms_data_keys_and_ingest_unseals_them(
    client: TestClient, aws: Aws, handlers: Handlers, kms_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = webhook(client)
    rotated = client.post(f"/api/proactive/webhooks/{hook['id']}/regenerate-secret").json()
    stored = raw_item(keys.entity("webhook", hook["id"]))
    blob = base64.urlsafe_b64decode(sealed_form(stored["secret"]).removeprefix("sealed:v1:"))
    assert blob[0] == sealing.KMS
    texts = raw_texts() + raw_texts(keys.GSI2)
    assert not [t for t in texts if hook["secret"] in t or rotated["secret"] in t]
    forget_keys(monkeypatch)
    assert deliver(handlers, hook, rotated["secret"], "msg_1") == 202
    assert deliver(handlers, hook, hook["secret"], "msg_2") == 202
    # The value is bound to its item: moved to another webhook, it does not unseal.
    other = webhook(client)
    set_raw(keys.entity("webhook", other["id"]), secret=stored["secret"]["S"])
    with pytest.raises(sealing.SealError):
        aws.store.webhooks.get(other["id"])
