"""Workspace secrets: each workspace reads its own and nothing else; the API never gives a value
back; the file and Parameter Store backends; the platform's secrets; moving to workspaces."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from proactive import secret_store
from proactive.clock import utcnow
from proactive.dev import migrate_secrets
from proactive.settings import Settings, SettingsError, get_settings
from proactive.store import Store
from proactive.workspace_secrets import references
from tests.integration.conftest import Aws, Handlers, token
from tests.mockaws import mocked_aws
from tests.quotes import Quote, running_quote

PLATFORM_PASSWORD = "platform-smtp-password-7f3a9c"
VALUE = "sk-ws1-only-9b2e41d7"


@pytest.fixture
def quote() -> Iterator[Quote]:
    with running_quote(151.5) as q:
        yield q


@pytest.fixture
def platform_smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform's SMTP password, set as the operator sets it locally."""
    monkeypatch.setenv("SMTP_PASSWORD_SECRET", "smtp-password")
    monkeypatch.setenv(secret_store.env_name("smtp-password"), PLATFORM_PASSWORD)


class Logs(logging.Handler):
    """Every log record of the test, whatever the logger, as text with its extra fields."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {vars(record)}")


@pytest.fixture
def logs() -> Iterator[Logs]:
    handler = Logs()
    loggers = [logging.getLogger(), logging.getLogger("proactive")]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.addHandler(handler)
        each.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for each, level in zip(loggers, levels, strict=True):
            each.removeHandler(handler)
            each.setLevel(level)


def as_workspace(client: TestClient, *workspaces: str) -> dict[str, str]:
    del client
    return {"Authorization": f"Bearer {token(*workspaces)}"}


def monitor(client: TestClient, quote: Quote, secret: str, workspace: str = "ws-1") -> dict[str, Any]:
    headers = as_workspace(client, workspace)
    agent = client.post("/api/agents", json={"workspace_id": workspace, "name": "watcher"}, headers=headers)
    body = {
        "name": "Quote",
        "agent_id": agent.json()["id"],
        "workspace_id": workspace,
        "source": {
            "type": "http",
            "url": quote.url,
            "select": "data.price",
            "headers": {"Authorization": {"secret": secret, "prefix": "Bearer "}},
        },
        "condition": "value > 100",
        "action": "Price {value}",
        "check_interval": 60,
    }
    resp = client.post("/api/proactive/monitors", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def check(client: TestClient, mon: dict[str, Any], workspace: str = "ws-1") -> dict[str, Any]:
    resp = client.post(f"/api/proactive/monitors/{mon['id']}/check", headers=as_workspace(client, workspace))
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


# -- the hole: a workspace naming a secret that is not its own ---------------------------------------------


def test_a_monitor_naming_the_platforms_smtp_password_gets_an_error_not_the_password(
    client: TestClient, quote: Quote, platform_smtp: None
) -> None:
    mon = monitor(client, quote, "smtp-password")
    result = check(client, mon)
    assert result["status"] == "error"
    assert result["error"] == "secret 'smtp-password' is not set in workspace 'ws-1'"
    # Nothing was sent: the source was never asked, so the password reached no one.
    assert quote.seen_headers == []
    shown = client.get(f"/api/proactive/monitors/{mon['id']}").json()
    assert shown["last_error"] == result["error"]
    history = client.get(f"/api/proactive/monitors/{mon['id']}/history").json()
    assert PLATFORM_PASSWORD not in json.dumps([result, shown, history])
    # The platform reads it, for its own email, by its own setting.
    assert secret_store.resolve_platform("smtp-password") == PLATFORM_PASSWORD


def test_a_secret_of_another_workspace_is_not_resolved(client: TestClient, quote: Quote) -> None:
    ws2 = as_workspace(client, "ws-2")
    assert client.put("/api/secrets/quote-key", json={"value": VALUE}, headers=ws2).status_code == 201
    mine = monitor(client, quote, "quote-key")
    theirs = monitor(client, quote, "quote-key", workspace="ws-2")
    refused = check(client, mine)
    assert refused["error"] == "secret 'quote-key' is not set in workspace 'ws-1'"
    assert quote.seen_headers == []
    # The same name in ws-2's own monitor reads ws-2's secret.
    assert check(client, theirs, "ws-2")["fired"] is True
    assert [h["Authorization"] for h in quote.seen_headers] == [f"Bearer {VALUE}"]
    # ws-1 sets its own: each reads its own.
    assert client.put("/api/secrets/quote-key", json={"value": "ws1-key"}).status_code == 201
    assert check(client, mine)["fired"] is True
    assert quote.seen_headers[-1]["Authorization"] == "Bearer ws1-key"


def test_an_http_agents_run_naming_a_missing_secret_fails_naming_it(
    client: TestClient, handlers: Handlers, platform_smtp: None
) -> None:
    config = {
        "url": "http://127.0.0.1:9/agent",
        "headers": {"Authorization": {"secret": "smtp-password", "prefix": "Bearer "}},
    }
    agent = client.post(
        "/api/agents", json={"workspace_id": "ws-1", "name": "caller", "runtime": "http", "config": config}
    )
    assert agent.status_code == 201, agent.text
    run = client.post(
        "/api/runs", json={"workspace_id": "ws-1", "agent_id": agent.json()["id"], "task": "go"}
    )
    assert run.status_code == 202, run.text
    handlers.drain()
    done = client.get(f"/api/runs/{run.json()['id']}").json()
    assert done["status"] == "failed"
    assert done["error"] == "secret 'smtp-password' is not set in workspace 'ws-1'"
    assert PLATFORM_PASSWORD not in json.dumps(done)


def test_header_secrets_of_agents_and_actions_come_from_their_own_workspace() -> None:
    from proactive.agents.runtimes.http import resolved_headers

    secret_store.put("ws-2", "hook-token", VALUE)
    headers = {"Authorization": {"secret": "hook-token", "prefix": "Bearer "}, "X-Team": "ops"}
    assert resolved_headers("ws-2", headers) == {"Authorization": f"Bearer {VALUE}", "X-Team": "ops"}
    with pytest.raises(secret_store.SecretMissing) as missing:
        resolved_headers("ws-1", headers)
    assert str(missing.value) == "secret 'hook-token' is not set in workspace 'ws-1'"
    with pytest.raises(secret_store.SecretMissing):
        resolved_headers("", headers)  # a resource without a workspace reads nothing


# -- the API -----------------------------------------------------------------------------------------------


def test_put_list_delete_never_show_the_value(
    client: TestClient, quote: Quote, aws: Aws, logs: Logs, capsys: pytest.CaptureFixture[str]
) -> None:
    bodies: list[str] = []

    def call(method: str, path: str, **kwargs: Any) -> Any:
        resp = client.request(method, path, **kwargs)
        bodies.append(resp.text)
        return resp

    created = call("PUT", "/api/secrets/quote-key", json={"workspace_id": "ws-1", "value": VALUE})
    assert created.status_code == 201, created.text
    first = created.json()
    assert set(first) == {"workspace_id", "name", "created_at", "updated_at"}
    assert (first["workspace_id"], first["name"]) == ("ws-1", "quote-key")
    replaced = call("PUT", "/api/secrets/quote-key", json={"value": VALUE + "-2"})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["created_at"] == first["created_at"]
    assert replaced.json()["updated_at"] >= first["updated_at"]

    listed = call("GET", "/api/secrets", params={"workspace_id": "ws-1"})
    assert listed.status_code == 200
    assert listed.json() == {
        "items": [{**replaced.json(), "used_by": []}],
        "next_cursor": None,
    }
    mon = monitor(client, quote, "quote-key")
    assert check(client, mon)["fired"] is True
    channel = call(
        "POST",
        "/api/notifications/channels",
        json={
            "workspace_id": "ws-1",
            "name": "phone",
            "type": "ntfy",
            "config": {"topic": "ops", "token_secret": "quote-key"},
        },
    ).json()
    used = call("GET", "/api/secrets").json()["items"][0]["used_by"]
    assert sorted((u["kind"], u["id"], u["field"]) for u in used) == [
        ("channel", channel["id"], "config.token_secret"),
        ("monitor", mon["id"], "source.headers.Authorization"),
    ]
    assert {u["name"] for u in used} == {"Quote", "phone"}

    refused = call("DELETE", "/api/secrets/quote-key")
    assert refused.status_code == 409
    assert refused.json()["error"] == "conflict"
    assert sorted((d["field"], d["message"]) for d in refused.json()["details"]) == [
        ("channels", channel["id"]),
        ("monitors", mon["id"]),
    ]
    assert secret_store.resolve("ws-1", "quote-key") == VALUE + "-2"  # still there

    forced = call("DELETE", "/api/secrets/quote-key", params={"force": "true"})
    assert forced.status_code == 204
    paused = call("GET", f"/api/proactive/monitors/{mon['id']}").json()
    assert paused["is_active"] is False
    assert paused["paused_reason"] == "paused when the secret 'quote-key' it names was deleted"
    off = call("GET", f"/api/notifications/channels/{channel['id']}").json()
    assert (off["is_active"], off["disabled_reason"]) == (
        False,
        "turned off when the secret 'quote-key' it names was deleted",
    )
    assert call("GET", "/api/secrets").json()["items"] == []
    assert call("DELETE", "/api/secrets/quote-key").status_code == 404
    with pytest.raises(secret_store.SecretMissing):
        secret_store.resolve("ws-1", "quote-key")
    assert aws.store.secrets.get("ws-1", "quote-key") is None

    printed = capsys.readouterr()
    for text in [*bodies, *logs.lines, printed.out, printed.err]:
        assert VALUE not in text
    assert any("secret set" in line for line in logs.lines)  # the handler did see the API's logs


def test_another_workspaces_secret_is_not_found(client: TestClient) -> None:
    both = as_workspace(client, "ws-1", "ws-2")
    assert (
        client.put(
            "/api/secrets/theirs", json={"workspace_id": "ws-2", "value": VALUE}, headers=both
        ).status_code
        == 201
    )
    # ws-1's token: ws-1 has no secret by that name.
    assert client.delete("/api/secrets/theirs").status_code == 404
    assert client.get("/api/secrets").json()["items"] == []
    # Naming ws-2 with a token that does not grant it is refused, as for every resource.
    assert client.delete("/api/secrets/theirs", params={"workspace_id": "ws-2"}).status_code == 403
    assert client.get("/api/secrets", params={"workspace_id": "ws-2"}).status_code == 403
    assert client.put("/api/secrets/x", json={"workspace_id": "ws-2", "value": VALUE}).status_code == 403
    # The token that grants both must say which.
    assert client.get("/api/secrets", headers=both).status_code == 422
    listed = client.get("/api/secrets", params={"workspace_id": "ws-2"}, headers=both).json()["items"]
    assert [s["name"] for s in listed] == ["theirs"]


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("k", {"value": ""}, "value"),
        ("k", {"value": "x" * 5 * 1024}, "value"),
        ("k", {"value": "é" * 2049}, "value"),  # 4098 bytes
        ("k", {"value": "a\0b"}, "value"),
        ("k", {}, "value"),
        ("k", {"value": 12}, "value"),
        ("k", {"value": "v", "extra": 1}, "extra"),
        ("bad$name", {"value": "v"}, "name"),
        ("n" * 129, {"value": "v"}, "name"),
        ("...", {"value": "v"}, "name"),
        ("k", {"workspace_id": "not a workspace", "value": "v"}, "workspace_id"),
    ],
)
def test_bad_input_is_refused_without_repeating_the_value(
    client: TestClient, name: str, body: dict[str, Any], field: str
) -> None:
    resp = client.put(f"/api/secrets/{name}", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["field"] == field
    value = body.get("value")
    if isinstance(value, str) and len(value) > 1:
        assert value not in resp.text
    assert client.get("/api/secrets").json()["items"] == []


def test_the_largest_value_is_taken(client: TestClient) -> None:
    assert client.put("/api/secrets/k", json={"value": "x" * 4096}).status_code == 201
    assert secret_store.resolve("ws-1", "k") == "x" * 4096


def test_the_local_file_is_readable_by_its_owner_only(client: TestClient) -> None:
    path = get_settings().secrets_file
    assert client.put("/api/secrets/k", json={"value": VALUE}).status_code == 201
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(Path(path).read_text(encoding="utf-8")) == {"ws-1": {"k": VALUE}}
    assert client.put("/api/secrets/k2", json={"value": "v2"}).status_code == 201
    assert client.delete("/api/secrets/k").status_code == 204
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(Path(path).read_text(encoding="utf-8")) == {"ws-1": {"k2": "v2"}}
    # Only the file and its lock: no temporary file is left behind.
    assert sorted(os.listdir(os.path.dirname(path))) == ["secrets.json", "secrets.json.lock"]


# -- the platform's secrets and SHARED_SECRETS -------------------------------------------------------------


def test_a_platform_secret_reaches_a_workspace_only_through_shared_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(secret_store.env_name("house-openai"), "sk-house")
    with pytest.raises(
        secret_store.SecretMissing, match="secret 'house-openai' is not set in workspace 'ws-1'"
    ):
        secret_store.resolve("ws-1", "house-openai")
    with pytest.raises(secret_store.SecretMissing):
        secret_store.resolve("ws-1", "model-key")

    monkeypatch.setenv("SHARED_SECRETS", "model-key=house-openai")
    get_settings.cache_clear()
    assert secret_store.resolve("ws-1", "model-key") == "sk-house"
    assert secret_store.resolve("ws-2", "model-key") == "sk-house"
    # Still not by the platform's own name; and a workspace's own secret comes first.
    with pytest.raises(secret_store.SecretMissing):
        secret_store.resolve("ws-1", "house-openai")
    secret_store.put("ws-1", "model-key", "sk-own")
    assert secret_store.resolve("ws-1", "model-key") == "sk-own"

    monkeypatch.delenv(secret_store.env_name("house-openai"))
    with pytest.raises(secret_store.SecretMissing, match=r"SHARED_SECRETS grants .* is not set either"):
        secret_store.resolve("ws-2", "model-key")


@pytest.mark.parametrize("shared", ["model-key", "model-key=", "=x", "a=b,a=c", "a b=c"])
def test_shared_secrets_must_be_alias_pairs(shared: str) -> None:
    env = {"TABLE_NAME": "tbl", "RUN_QUEUE_URL": "q", "SHARED_SECRETS": shared}
    with pytest.raises(SettingsError, match="SHARED_SECRETS"):
        Settings.from_env(env)


# -- Parameter Store ---------------------------------------------------------------------------------------


@pytest.fixture
def ssm_backend() -> Iterator[Any]:
    with mocked_aws(SECRETS_BACKEND="ssm", SECRETS_PREFIX="/proactive/test/"):
        yield boto3.client("ssm")


def test_parameter_store_holds_each_workspaces_secret_at_its_path(ssm_backend: Any) -> None:
    secret_store.put("ws-1", "quote-key", VALUE)
    found = ssm_backend.get_parameter(Name="/proactive/test/workspaces/ws-1/quote-key", WithDecryption=True)
    assert (found["Parameter"]["Type"], found["Parameter"]["Value"]) == ("SecureString", VALUE)
    assert secret_store.resolve("ws-1", "quote-key") == VALUE
    with pytest.raises(secret_store.SecretMissing, match="not set in workspace 'ws-2'"):
        secret_store.resolve("ws-2", "quote-key")
    # Replaced and deleted in this process: what it had read is forgotten at once.
    secret_store.put("ws-1", "quote-key", "second")
    assert secret_store.resolve("ws-1", "quote-key") == "second"
    secret_store.delete("ws-1", "quote-key")
    with pytest.raises(ssm_backend.exceptions.ParameterNotFound):
        ssm_backend.get_parameter(Name="/proactive/test/workspaces/ws-1/quote-key")
    with pytest.raises(secret_store.SecretMissing):
        secret_store.resolve("ws-1", "quote-key")
    secret_store.delete("ws-1", "quote-key")  # deleting again is no error
    # Workspace ids with '.' or ':' get a path segment of their own each.
    secret_store.put("org:a.b", "k", "v1")
    secret_store.put("org.3aa.b", "k", "v2")
    names = {p["Name"] for p in ssm_backend.describe_parameters()["Parameters"]}
    assert names == {"/proactive/test/workspaces/org.3aa.2eb/k", "/proactive/test/workspaces/org.2e3aa.2eb/k"}
    assert (secret_store.resolve("org:a.b", "k"), secret_store.resolve("org.3aa.b", "k")) == ("v1", "v2")


def test_parameter_store_platform_secrets_are_out_of_workspaces_reach(
    ssm_backend: Any, quote: Quote, monkeypatch: pytest.MonkeyPatch
) -> None:
    ssm_backend.put_parameter(
        Name="/proactive/test/platform/smtp-password", Value=PLATFORM_PASSWORD, Type="SecureString"
    )
    assert secret_store.resolve_platform("smtp-password") == PLATFORM_PASSWORD
    from tests.apps import api_app

    with TestClient(api_app(), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token('ws-1')}"
        mon = monitor(client, quote, "smtp-password")
        assert check(client, mon)["error"] == "secret 'smtp-password' is not set in workspace 'ws-1'"
        assert quote.seen_headers == []
        # Through the API, on Parameter Store: set, used, deleted.
        assert client.put("/api/secrets/smtp-password", json={"value": "ws1-own"}).status_code == 201
        assert check(client, mon)["fired"] is True
        assert quote.seen_headers[-1]["Authorization"] == "Bearer ws1-own"
        assert client.delete("/api/secrets/smtp-password", params={"force": "true"}).status_code == 204
    with pytest.raises(ssm_backend.exceptions.ParameterNotFound):
        ssm_backend.get_parameter(Name="/proactive/test/workspaces/ws-1/smtp-password")
    # The platform's own is untouched.
    assert secret_store.resolve_platform("smtp-password") == PLATFORM_PASSWORD
    monkeypatch.setenv("SHARED_SECRETS", "house=smtp-password")
    get_settings.cache_clear()
    assert secret_store.resolve("ws-1", "house") == PLATFORM_PASSWORD


def test_a_store_that_refuses_is_a_503_or_a_recorded_error_never_the_value(
    ssm_backend: Any, quote: Quote, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.stub import Stubber

    from tests.apps import api_app

    refusing = boto3.client("ssm", region_name="us-east-1")  # a client of its own: it is stubbed
    stub = Stubber(refusing)
    stub.add_client_error("put_parameter", "AccessDeniedException", "User is not authorized: " + VALUE)
    stub.add_client_error("get_parameter", "ThrottlingException", "Rate exceeded")
    stub.activate()
    with TestClient(api_app(), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token('ws-1')}"
        mon = monitor(client, quote, "quote-key")
        monkeypatch.setattr(secret_store, "_client", refusing)
        refused = client.put("/api/secrets/quote-key", json={"value": VALUE})
        assert refused.status_code == 503
        assert refused.json()["message"].startswith(
            "secret 'quote-key' could not be stored (AccessDeniedException); the value was not stored"
        )
        assert VALUE not in refused.text
        # Listed, so that it can be seen and set again or deleted.
        assert [s["name"] for s in client.get("/api/secrets").json()["items"]] == ["quote-key"]
        unread = check(client, mon)
        assert unread["error"] == "secret 'quote-key' could not be read (ThrottlingException)"
        assert quote.seen_headers == []


# -- where configuration names secrets ---------------------------------------------------------------------


def test_references_finds_every_field_that_names_a_secret() -> None:
    agent = {
        "config": {
            "headers": {"Authorization": {"secret": "a", "prefix": "Bearer "}, "X-Team": "ops"},
            "api_key_secret": "b",
        }
    }
    assert references("agent", agent) == [
        ("a", "config.headers.Authorization"),
        ("b", "config.api_key_secret"),
    ]
    monitor_item = {"source": {"type": "http", "headers": {"K": {"secret": "c"}, "X": "plain"}}}
    assert references("monitor", monitor_item) == [("c", "source.headers.K")]
    assert references("monitor", {"source": {"type": "metric"}}) == []
    assert references("channel", {"type": "ntfy", "config": {"topic": "t", "token_secret": "d"}}) == [
        ("d", "config.token_secret")
    ]
    assert references("channel", {"type": "webhook", "config": {"url": "u"}, "secret": "whsec_x"}) == []
    assert references("action", {"kind": "http", "headers": {"A": {"secret": "e"}}}) == [("e", "headers.A")]
    # An http agent's own signing secret is no named secret.
    assert references("agent", {"config": {}, "secret": "whsec_y", "previous_secret": "whsec_z"}) == []


# -- moving to workspace secrets ---------------------------------------------------------------------------


def test_the_local_stack_copies_named_env_secrets_to_the_workspaces_that_name_them(
    client: TestClient, quote: Quote, aws: Aws, platform_smtp: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = monitor(client, quote, "quote-key")
    monitor(client, quote, "quote-key", workspace="ws-2")
    monitor(client, quote, "smtp-password", workspace="ws-2")
    monitor(client, quote, "never-set")
    monkeypatch.setenv(secret_store.env_name("quote-key"), VALUE)

    outcomes = migrate_secrets.from_environment(aws.store.table, utcnow())
    assert sorted((o.workspace_id, o.name, o.status) for o in outcomes) == [
        ("ws-1", "never-set", "not found"),
        ("ws-1", "quote-key", "copied"),
        ("ws-2", "quote-key", "copied"),
        ("ws-2", "smtp-password", "platform secret"),
    ]
    assert all(VALUE not in o.line() and PLATFORM_PASSWORD not in o.line() for o in outcomes)
    assert secret_store.resolve("ws-1", "quote-key") == VALUE
    assert [s["name"] for s in Store().secrets.all_in("ws-2")] == ["quote-key"]
    with pytest.raises(secret_store.SecretMissing):
        secret_store.resolve("ws-2", "smtp-password")
    assert check(client, mine)["fired"] is True
    again = migrate_secrets.from_environment(aws.store.table, utcnow())
    assert {o.status for o in again if o.name == "quote-key"} == {"set already"}


def test_the_aws_migration_copies_from_the_old_path_to_each_workspaces_path(
    client: TestClient, quote: Quote, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    monitor(client, quote, "quote-key")
    monitor(client, quote, "smtp-password", workspace="ws-2")
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/proactive/prod/secrets/quote-key", Value=VALUE, Type="SecureString")
    ssm.put_parameter(
        Name="/proactive/prod/secrets/smtp-password", Value=PLATFORM_PASSWORD, Type="SecureString"
    )
    table = os.environ["TABLE_NAME"]

    assert (
        migrate_secrets.main(
            ["--table", table, "--stage", "prod", "--platform", "smtp-password", "--dry-run"]
        )
        == 0
    )
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name="/proactive/prod/workspaces/ws-1/quote-key")
    assert migrate_secrets.main(["--table", table, "--stage", "prod", "--platform", "smtp-password"]) == 0
    printed = capsys.readouterr()
    assert "copied           quote-key for workspace ws-1" in printed.out
    assert (
        "copied           platform secret smtp-password to /proactive/prod/platform/smtp-password"
        in printed.out
    )
    assert "platform secret  smtp-password for workspace ws-2" in printed.out
    assert VALUE not in printed.out + printed.err
    assert PLATFORM_PASSWORD not in printed.out + printed.err
    got = ssm.get_parameter(Name="/proactive/prod/workspaces/ws-1/quote-key", WithDecryption=True)[
        "Parameter"
    ]
    assert (got["Type"], got["Value"]) == ("SecureString", VALUE)
    platform = ssm.get_parameter(Name="/proactive/prod/platform/smtp-password", WithDecryption=True)
    assert platform["Parameter"]["Value"] == PLATFORM_PASSWORD
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name="/proactive/prod/workspaces/ws-2/smtp-password")
    assert aws.store.secrets.get("ws-1", "quote-key") is not None
