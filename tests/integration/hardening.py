"""What the hardening tests share: an agent to name, made through the API."""

from __future__ import annotations

from fastapi.testclient import TestClient


def agent(client: TestClient, name: str = "worker") -> str:
    return str(client.post("/api/agents", json={"workspace_id": "ws-1", "name": name}).json()["id"])
