"""The local stack and workspace secrets: the file beside the table, and the secrets every
workspace once read from the environment copied, at start, to the workspaces that name them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.localstack import running_stack
from tests.quotes import running_quote

pytestmark = pytest.mark.e2e
WS = "ws-e2e-secrets"
VALUE = "e2e-quote-key-5d1c"


def test_named_env_secrets_move_to_the_workspaces_that_name_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    log = tmp_path / "stack.log"
    # The stack's own file, beside its table (the tests' setting would take its place).
    monkeypatch.delenv("SECRETS_FILE", raising=False)
    with running_quote(151.5) as quote:
        # Given a monitor that names a secret, made while names were read from the environment
        with running_stack(log, data_dir=data) as stack, stack.client(WS) as c:
            agent = c.post("/api/agents", json={"workspace_id": WS, "name": "watcher"}).json()
            source = {
                "type": "http",
                "url": quote.url,
                "select": "data.price",
                "headers": {"Authorization": {"secret": "quote-key", "prefix": "Bearer "}},
            }
            body = {
                "name": "Quote",
                "agent_id": agent["id"],
                "workspace_id": WS,
                "source": source,
                "condition": "value > 100",
                "action": "Price {value}",
                "check_interval": 3600,
            }
            mon = c.post("/api/proactive/monitors", json=body).json()
            checked = c.post(f"/api/proactive/monitors/{mon['id']}/check").json()
            assert checked["error"] == f"secret 'quote-key' is not set in workspace '{WS}'"
            assert stack.stop() == 0

        # When the stack starts with the name set in the environment
        monkeypatch.setenv("PROACTIVE_SECRET_QUOTE_KEY", VALUE)
        with running_stack(log, data_dir=data) as stack, stack.client(WS) as c:
            # Then the workspace has its own copy, and its monitor reads it
            assert f"copied           quote-key for workspace {WS}" in log.read_text()
            listed = c.get("/api/secrets").json()["items"]
            assert [(s["name"], [u["id"] for u in s["used_by"]]) for s in listed] == [
                ("quote-key", [mon["id"]])
            ]
            assert c.post(f"/api/proactive/monitors/{mon['id']}/check").json()["fired"] is True
            assert quote.seen_headers[-1]["Authorization"] == f"Bearer {VALUE}"
            assert stack.stop() == 0
    secrets = data / "secrets.json"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert VALUE not in log.read_text()
