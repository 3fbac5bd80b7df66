"""Every list answers, whatever one stored item holds: an item the answer cannot show (stored in
a shape its model no longer takes) is left out of its page with a warning naming it, and the
others are listed."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive.store.table import Update
from tests.integration.conftest import Aws
from tests.integration.test_names import _bodies

# kind -> (the list's path, the store's accessor)
LISTS = {
    "agent": ("/api/agents", "agents"),
    "schedule": ("/api/proactive/schedules", "schedules"),
    "monitor": ("/api/proactive/monitors", "monitors"),
    "trigger": ("/api/proactive/triggers", "triggers"),
    "webhook": ("/api/proactive/webhooks", "webhooks"),
    "channel": ("/api/notifications/channels", "channels"),
}


def _made(client: TestClient, kind: str, name: str) -> dict[str, Any]:
    path, body = _bodies[kind](client, name)
    resp = client.post(path, json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


@pytest.mark.parametrize("kind", sorted(LISTS))
def test_a_list_leaves_out_an_item_it_cannot_show_and_lists_the_others(
    kind: str, client: TestClient, aws: Aws, caplog: pytest.LogCaptureFixture
) -> None:
    # Given two items, one of them stored with a name the answer's model refuses
    good = _made(client, kind, "kept")
    bad = _made(client, kind, "broken")
    path, accessor = LISTS[kind]
    # (written as it is, without reading it back: a kind read as its record refuses it there)
    key = getattr(aws.store, accessor).key(bad["id"])
    aws.store.table.update(Update(key=key, set_values={"name": 12345}))

    # When the list is read
    with caplog.at_level(logging.WARNING):
        resp = client.get(path, params={"workspace_id": "ws-1"})

    # Then it answers with the other item, and a warning names the one left out
    assert resp.status_code == 200, resp.text
    listed = [item["id"] for item in resp.json()["items"]]
    assert good["id"] in listed
    assert bad["id"] not in listed
    assert any(getattr(r, "item_id", None) == bad["id"] for r in caplog.records)
