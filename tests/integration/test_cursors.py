"""Page cursors are opaque: they show nothing of the table's keys, and only one the API handed out
continues a list."""

from __future__ import annotations

import base64
import binascii

from fastapi.testclient import TestClient


def test_a_cursor_shows_no_key_and_only_the_api_s_own_continues_a_list(client: TestClient) -> None:
    # Given three agents, listed one a page
    for name in ("a", "b", "c"):
        assert client.post("/api/agents", json={"workspace_id": "ws-1", "name": name}).status_code == 201
    first = client.get("/api/agents", params={"workspace_id": "ws-1", "limit": 1}).json()
    cursor = first["next_cursor"]
    # Then the cursor holds none of the keys it stands for, in clear or in base64
    assert cursor
    for text in (cursor, *_decodings(cursor)):
        assert "WS#" not in text
        assert "GSI1" not in text
        assert "AGENT" not in text
    # And it continues the list, to its end
    seen = [first["items"][0]["name"]]
    while cursor:
        page = client.get("/api/agents", params={"workspace_id": "ws-1", "limit": 1, "cursor": cursor}).json()
        seen += [i["name"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert sorted(seen) == ["a", "b", "c"]
    # While a cursor changed by one character, or one made by hand, is refused naming the field
    forged = first["next_cursor"][:-2] + ("A" if first["next_cursor"][-2] != "A" else "B") + "="
    plain = base64.urlsafe_b64encode(b'{"PK": "AGENT#x"}').decode()
    for bad in (forged, plain):
        resp = client.get("/api/agents", params={"workspace_id": "ws-1", "cursor": bad})
        assert resp.status_code == 422, resp.text
        assert resp.json()["field"] == "cursor"


def _decodings(cursor: str) -> list[str]:
    """What a curious client might try: the cursor, or its part after the last colon, as base64."""
    found = []
    for part in (cursor, cursor.rsplit(":", 1)[-1]):
        try:
            found.append(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode("latin-1"))
        except (binascii.Error, ValueError):
            continue
    return found
