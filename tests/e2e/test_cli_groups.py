"""Each command group of `proactive` against the local stack, its command lines run through the
command's entry point in this process (`InProcess`): its main commands do what the API does, and
`-o json` prints exactly what the API answers to the same request (`-o jsonl` and `-o yaml` the
same data)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.terminal import Cli, InProcess
from tests.e2e.waiting import eventually
from tests.fakes import WebhookReceiver
from tests.localstack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def ws() -> str:
    return f"ws-cli-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cli(stack: Stack, ws: str, tmp_path: Path) -> Cli:
    return InProcess(stack.base_url, tmp_path / "config", token=stack.token(ws))


@pytest.fixture
def api(stack: Stack, ws: str) -> Iterator[httpx.Client]:
    with stack.client(ws) as client:
        yield client


def agent(cli: Cli, name: str = "helper") -> str:
    return str(cli.json("agents", "create", "--name", name)["id"])


def test_schedules(cli: Cli, api: httpx.Client) -> None:
    made = cli.json(
        "schedules", "create", "--name", "weekday report", "--agent", agent(cli), "--cron", "0 9 * * 1-5",
        "--timezone", "Europe/Paris", "--task", "Send the report", "--catch-up", "skip", "--overlap", "allow",
    )  # fmt: skip
    sid = made["id"]
    assert (made["catch_up"], made["overlap"], made["cron_description"]) == (
        "skip",
        "allow",
        "At 09:00, Monday through Friday",
    )
    path = f"/api/proactive/schedules/{sid}"
    assert cli.json("schedules", "show", sid) == api.get(path).json()
    listed = api.get("/api/proactive/schedules", params={"limit": 50}).json()
    assert cli.json("schedules", "list") == listed
    lines = cli.ok("schedules", "list", "-o", "jsonl").stdout.splitlines()
    assert [json.loads(line) for line in lines] == listed["items"]
    assert yaml.safe_load(cli.ok("schedules", "show", sid, "-o", "yaml").stdout) == api.get(path).json()
    table = cli.ok("schedules", "list").stdout
    assert sid in table
    assert "Europe/Paris" in table

    assert (
        cli.json("schedules", "next", sid, "-n", "3")
        == api.get(f"{path}/next-runs", params={"count": 3}).json()
    )
    preview = {"cron_expression": "0 9 * * 1", "timezone": "America/New_York", "count": 3}
    preview["after"] = "2026-03-01T00:00:00Z"
    asked = [
        "--cron",
        "0 9 * * 1",
        "--timezone",
        "America/New_York",
        "-n",
        "3",
        "--after",
        "2026-03-01T00:00:00Z",
    ]
    shown = cli.json("schedules", "next", *asked)
    assert shown == api.get("/api/proactive/schedules/preview", params=preview).json()
    assert shown["next_runs"][:2] == ["2026-03-02T09:00:00-05:00", "2026-03-09T09:00:00-04:00"]
    printed = cli.ok("schedules", "next", *asked)
    assert "2026-03-09T09:00:00-04:00" in printed.stdout
    assert "At 09:00, only on Monday" in printed.stderr

    paused = cli.json("schedules", "pause", sid)
    assert (paused["is_active"], paused["upcoming"]) == (False, [])
    assert cli.json("schedules", "resume", sid)["is_active"] is True
    assert cli.json("schedules", "update", sid, "--cron", "30 8 * * *")["cron_expression"] == "30 8 * * *"
    assert cli.run("schedules", "update", sid, "--timezone", "Mars/Olympus").returncode == 5

    ran = cli.json("schedules", "run", sid, "--wait")
    assert (ran["status"], ran["source_type"], ran["source_id"]) == ("succeeded", "schedule", sid)
    assert ran["id"] in [r["id"] for r in cli.json("schedules", "runs", sid)["items"]]

    assert "deleted" in cli.ok("schedules", "delete", sid, "--yes").stderr
    assert cli.run("schedules", "show", sid).returncode == 4


def test_triggers_and_webhooks(cli: Cli, api: httpx.Client) -> None:
    trigger = cli.json(
        "triggers", "create", "--name", "deploys", "--agent", agent(cli),
        "--task-template", "Check the deploy of {service}", "--filter", "service == 'api'",
    )  # fmt: skip
    tid = trigger["id"]
    assert cli.json("triggers", "show", tid) == api.get(f"/api/proactive/triggers/{tid}").json()
    assert cli.json("triggers", "list") == api.get("/api/proactive/triggers", params={"limit": 50}).json()

    hook = cli.json("webhooks", "create", "--name", "ci", "--trigger", tid)
    secret = hook.pop("secret")
    assert secret.startswith("whsec_")
    wid, path = hook["id"], f"/api/proactive/webhooks/{hook['id']}"
    assert cli.json("webhooks", "show", wid) == api.get(path).json() == hook
    assert cli.json("webhooks", "list") == api.get("/api/proactive/webhooks", params={"limit": 50}).json()

    send_tests(cli, api, wid, secret)

    rotated = cli.ok("webhooks", "rotate-secret", wid)
    new_secret = rotated.stdout.strip()
    assert new_secret.startswith("whsec_")
    assert new_secret != secret
    assert "shown only now" in rotated.stderr
    test = ["webhooks", "send-test", wid, "--payload", '{"service": "api"}', "--wait", "-o", "json"]
    waited = cli.run(*test, PROACTIVE_WEBHOOK_SECRET=new_secret)
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["status"] == "succeeded"

    fired = cli.json("triggers", "fire", tid, "--payload", '{"service": "api"}', "--wait")
    assert (fired["status"], fired["source_type"]) == ("succeeded", "trigger")
    in_use = cli.run("triggers", "delete", tid, "--yes")
    assert in_use.returncode == 5
    assert "409" in in_use.stderr
    cli.ok("webhooks", "delete", wid, "--yes")
    assert cli.run("webhooks", "show", wid).returncode == 4
    cli.ok("triggers", "delete", tid, "--yes")


def send_tests(cli: Cli, api: httpx.Client, wid: str, secret: str) -> None:
    """Test deliveries signed here with the secret, as a sender signs: run, filtered, refused."""
    path = f"/api/proactive/webhooks/{wid}"
    test = ["webhooks", "send-test", wid, "--payload", '{"service": "api"}']
    sent = cli.run(*test, "--secret-stdin", "-o", "json", stdin=secret + "\n")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["status"] == "accepted"
    run_id = re.search(r"started run (\S+)", sent.stderr)
    assert run_id is not None, sent.stderr
    done = eventually(
        lambda: (r := api.get(f"/api/runs/{run_id[1]}").json())["status"] == "succeeded" and r, "the run"
    )
    assert done["task"] == "Check the deploy of api"
    # The secret from the environment; the trigger's filter turns this one down.
    skipped = cli.run(
        "webhooks", "send-test", wid, "--payload", '{"service": "web"}', PROACTIVE_WEBHOOK_SECRET=secret
    )
    assert skipped.returncode == 0, skipped.stderr
    assert "no run: the delivery was filtered" in skipped.stderr
    wrong = cli.run("webhooks", "send-test", wid, PROACTIVE_WEBHOOK_SECRET="whsec_" + "A" * 43 + "=")
    assert wrong.returncode == 3
    assert "401" in wrong.stderr
    assert cli.run("webhooks", "send-test", wid).returncode == 2  # no secret given

    deliveries = cli.json("webhooks", "deliveries", wid)
    assert deliveries == api.get(f"{path}/deliveries", params={"limit": 50}).json()
    assert [d["status"] for d in deliveries["items"]] == ["unauthorized", "filtered", "accepted"]
    # Or signed by the platform itself, with the current secret.
    via = cli.json("webhooks", "send-test", wid, "--via-api", "--payload", '{"service": "api"}')
    assert (via["status_code"], via["delivery"]["status"]) == (202, "accepted")
    assert via["run"]["task"] == "Check the deploy of api"


def test_monitors(cli: Cli, api: httpx.Client) -> None:
    source = json.dumps({"type": "metric", "aggregation": "max", "window": 300})
    made = cli.json(
        "monitors", "create", "--name", "queue depth", "--agent", agent(cli), "--source", source,
        "--condition", "value > 100", "--action", "The queue is at {value}: drain it", "--interval", "300",
    )  # fmt: skip
    mid, path = made["id"], f"/api/proactive/monitors/{made['id']}"
    assert cli.json("monitors", "show", mid) == api.get(path).json()
    cli.ok("monitors", "record", mid, "150")
    checked = cli.json("monitors", "check", mid)
    assert (checked["value"], checked["condition_met"], checked["fired"]) == (150, True, True)
    assert checked["run_id"]
    history = cli.json("monitors", "history", mid)
    assert history == api.get(f"{path}/history", params={"limit": 50}).json()
    assert [c["id"] for c in history["items"]] == [checked["id"]]
    assert cli.json("monitors", "list") == api.get("/api/proactive/monitors", params={"limit": 50}).json()
    assert cli.json("monitors", "pause", mid)["is_active"] is False
    assert cli.json("monitors", "resume", mid)["is_active"] is True
    cli.ok("monitors", "delete", mid, "--yes")
    assert cli.run("monitors", "show", mid).returncode == 4


def test_channels(cli: Cli, api: httpx.Client) -> None:
    with WebhookReceiver() as receiver:
        made = cli.json(
            "channels",
            "create",
            "--name",
            "ops hook",
            "--type",
            "webhook",
            "--config",
            json.dumps({"url": receiver.url}),
        )
        receiver.secret = made.pop("secret")
        cid, path = made["id"], f"/api/notifications/channels/{made['id']}"
        assert cli.json("channels", "show", cid) == api.get(path).json() == made
        assert (
            cli.json("channels", "list")
            == api.get("/api/notifications/channels", params={"limit": 50}).json()
        )

        tested = cli.json("channels", "test", cid, "--message", "Hello from the terminal")
        assert tested["status"] == "sent"
        assert "Hello from the terminal" in json.dumps(receiver.messages[-1])
        assert receiver.verifications[-1].ok

        # A trigger that tells the channel of its runs: the notification log shows what was sent.
        notify = json.dumps({"channels": [cid], "on": ["success"]})
        trigger = cli.json(
            "triggers",
            "create",
            "--name",
            "told",
            "--agent",
            agent(cli),
            "--task-template",
            "Hi",
            "--notify",
            notify,
        )
        cli.json("triggers", "fire", trigger["id"], "--wait")
        log = {"channel_id": cid, "limit": 50}
        eventually(
            lambda: (
                [n["status"] for n in api.get("/api/notifications/log", params=log).json()["items"]]
                == ["sent"]
            ),
            "the notification to be sent",
        )
        assert (
            cli.json("channels", "log", "--channel", cid)
            == api.get("/api/notifications/log", params=log).json()
        )
        named = cli.json("channels", "subscriptions", cid)
        assert named == api.get(f"{path}/subscriptions").json()
        assert [s["id"] for s in named["items"]] == [trigger["id"]]

        assert cli.run("channels", "delete", cid, "--yes").returncode == 5
        cli.ok("channels", "delete", cid, "--force", "--yes")
        assert cli.run("channels", "show", cid).returncode == 4


def test_conversations_and_tasks(cli: Cli, api: httpx.Client) -> None:
    helper = agent(cli, "standup")
    made = cli.json("conversations", "create", "--agent", helper, "--title", "Standup")
    cid = made["id"]
    assert cli.json("conversations", "show", cid) == api.get(f"/conversations/{cid}").json()
    answered = cli.ok("conversations", "send", cid, "What happened yesterday?")
    assert "What happened yesterday?" in answered.stdout
    # Not a terminal: no prompt, each line a message, /exit ends it.
    piped = cli.run("conversations", "chat", cid, stdin="And today?\n/exit\nnot sent\n")
    assert piped.returncode == 0, piped.stderr
    assert "And today?" in piped.stdout
    assert "you>" not in piped.stderr
    messages = cli.json("conversations", "messages", cid)
    assert messages == api.get(f"/conversations/{cid}/messages", params={"limit": 50}).json()
    assert [m["role"] for m in messages["items"]] == ["user", "assistant"] * 2
    assert cli.json("conversations", "list") == api.get("/conversations", params={"limit": 50}).json()
    cli.ok("conversations", "delete", cid, "--yes")
    assert cli.run("conversations", "show", cid).returncode == 4

    task = cli.json(
        "tasks", "create", "--type", "scheduled", "--prompt", "Summarise the night", "--agent", helper,
        "--cron", "0 7 * * *", "--timezone", "Europe/Berlin", "--name", "morning",
    )  # fmt: skip
    tid = task["id"]
    assert cli.json("tasks", "show", tid) == api.get(f"/tasks/{tid}").json()
    query = {"task_type": "scheduled", "limit": 50}
    assert cli.json("tasks", "list", "--type", "scheduled") == api.get("/tasks", params=query).json()
    assert cli.json("tasks", "disable", tid)["status"] == "disabled"
    assert cli.json("tasks", "enable", tid)["status"] == "active"
    ran = cli.json("tasks", "execute", tid, "--wait")
    assert ran["status"] == "succeeded"
    assert "Summarise the night" in ran["task"]
    cli.ok("tasks", "delete", tid, "--yes")
    assert cli.run("tasks", "show", tid).returncode == 4
    triggered = cli.json(
        "tasks", "create", "--type", "triggered", "--prompt", "Look at {title}", "--agent", helper
    )
    assert triggered["webhook"]["secret"]


def spiky_csv(path: Path) -> int:
    """700 hours of two metrics with a few spikes nothing watches (mining suggests monitors), with
    a header line and one row whose value is no number; the rows written."""
    now = datetime.now(UTC).replace(microsecond=0)
    spikes = {100, 260, 420, 600}
    rows = ["metric,timestamp,value"]
    for metric in ("cpu", "disk_io"):
        for i in range(700):
            value = 95.0 if i in spikes or i - 1 in spikes else 50.0 + (i * 7919 % 11) / 2
            at = (now - timedelta(hours=700 - i)).isoformat().replace("+00:00", "Z")
            rows.append(f"{metric},{at},{value}")
    rows.insert(3, f"cpu,{now.isoformat()},lots")
    path.write_text("\n".join(rows) + "\n")
    return len(rows) - 1


def test_the_goal_loop_and_suggestions_from_metrics_pushed_as_csv(
    cli: Cli, api: httpx.Client, ws: str, tmp_path: Path
) -> None:
    assert api.put("/api/workspace/settings", json={"default_agent_id": agent(cli, "ops")}).status_code == 200
    rows = spiky_csv(tmp_path / "metrics.csv")
    pushed = cli.run("loop", "metrics", "push", str(tmp_path / "metrics.csv"))
    assert pushed.returncode == 5  # one row refused: the others are stored all the same
    assert re.search(r"accepted\s+1400\b", pushed.stdout)
    assert re.search(r"requests\s+2\b", pushed.stdout)
    assert re.search(r"\b4\b[\s│]+metrics\[2\]\.value", pushed.stdout)  # line 4 of the file
    assert f"1 of {rows} rows refused" in pushed.stderr
    assert (
        cli.json("loop", "metrics", "list") == api.get("/api/autonomous/metrics", params={"limit": 50}).json()
    )
    points = "/api/autonomous/metrics/cpu"
    window = cli.json("loop", "metrics", "show", "cpu", "--newest", "--limit", "100")
    assert window == api.get(points, params={"order": "newest", "limit": 100}).json()
    # Page by page: a page's cursor gives the next (cursors are sealed anew at each answer).
    first = cli.json("loop", "metrics", "show", "cpu", "--newest", "--limit", "3")
    second = cli.json(
        "loop", "metrics", "show", "cpu", "--newest", "--limit", "3", "--cursor", first["next_cursor"]
    )
    assert first["items"] + second["items"] == window["items"][:6]

    events = 'event_type,timestamp,metadata\ndeploy,,"{""service"": ""api""}"\n'
    recorded = cli.json("loop", "events", "push", "-", stdin=events)
    assert [(a["accepted"], a["refused"]) for a in recorded] == [(1, [])]
    assert (
        cli.json("loop", "events", "list") == api.get("/api/autonomous/events", params={"limit": 50}).json()
    )
    for args, route, params in [
        (("goals", "list"), "/api/autonomous/goals", {}),
        (("approvals", "list"), "/api/autonomous/approvals", {}),
        (("approvals", "list", "--decided"), "/api/autonomous/approvals", {"state": "decided"}),
        (("actions", "list"), "/api/autonomous/actions", {}),
    ]:
        assert cli.json("loop", *args) == api.get(route, params={**params, "limit": 50}).json()
    report = yaml.safe_load(cli.ok("loop", "report", "-o", "yaml").stdout)
    assert (report["workspace_id"], report["metrics_tracked"]) == (ws, 2)
    assert cli.run("loop", "approvals", "approve", "gact-not-there").returncode == 4
    # What mining makes of those metrics.
    suggestions(cli, api)


def suggestions(cli: Cli, api: httpx.Client) -> None:
    """Mined now: two monitor suggestions; one accepted, the other snoozed, then dismissed."""
    mined = cli.json("suggestions", "refresh")
    assert mined["status"] == "mined"
    listed = cli.json("suggestions", "list", "--kind", "monitor")
    assert listed == api.get("/api/proactive/suggestions", params={"kind": "monitor", "limit": 50}).json()
    by_subject = {s["subject"]: s for s in listed["items"]}
    cpu, disk = by_subject["metric:cpu"], by_subject["metric:disk_io"]
    assert (
        cli.json("suggestions", "show", cpu["id"])
        == api.get(f"/api/proactive/suggestions/{cpu['id']}").json()
    )
    accepted = cli.json("suggestions", "accept", cpu["id"], "--overrides", '{"check_interval": 600}')
    assert (accepted["created"], accepted["resource"]["check_interval"]) == (True, 600)
    snoozed = cli.json("suggestions", "snooze", disk["id"], "--for", "3d")
    until = datetime.fromisoformat(snoozed["snoozed_until"])
    assert snoozed["status"] == "snoozed"
    assert abs(until - (datetime.now(UTC) + timedelta(days=3))) < timedelta(minutes=5)
    assert cli.run("suggestions", "snooze", disk["id"], "--for", "soon").returncode == 2
    dismissed = cli.json("suggestions", "dismiss", disk["id"], "--reason", "watched elsewhere")
    assert (dismissed["status"], dismissed["dismissed_reason"]) == ("dismissed", "watched elsewhere")
    assert cli.json("suggestions", "patterns") == api.get("/api/proactive/patterns").json()


def test_secrets_are_read_from_stdin_only(cli: Cli, api: httpx.Client) -> None:
    value = "sk-test-0123456789"
    made = cli.run("secrets", "set", "MODEL_KEY", "-o", "json", stdin=value + "\n")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["name"] == "MODEL_KEY"
    assert value not in made.stdout + made.stderr
    assert cli.run("secrets", "set", "OTHER", value).returncode == 2  # never from the command line
    assert cli.run("secrets", "set", "EMPTY", stdin="").returncode == 2

    config = {"provider": "openai", "model": "gpt-4o-mini", "api_key_secret": "MODEL_KEY"}
    cli.ok("agents", "create", "--name", "keyed", "--runtime", "llm", "--config", json.dumps(config))
    listed = cli.json("secrets", "list")
    assert listed == api.get("/api/secrets").json()
    assert [(s["name"], [u["kind"] for u in s["used_by"]]) for s in listed["items"]] == [
        ("MODEL_KEY", ["agent"])
    ]
    assert value not in json.dumps(listed)
    assert cli.run("secrets", "delete", "MODEL_KEY", "--yes").returncode == 5
    cli.ok("secrets", "delete", "MODEL_KEY", "--force", "--yes")
    assert cli.json("secrets", "list")["items"] == []
