"""The `proactive` command against the local stack: signing in and profiles, where it talks to (a
flag beats the environment, which beats the profile), the exit codes scripts rely on, a bulk
cancel that asks for --yes, Ctrl-C, a chat in a terminal whose answer shows while the model is
still writing it, and shell completion.

Command lines run through the command's own entry point in this process (`InProcess`); what a
script sees of the installed executable (its exit codes and output), Ctrl-C and the terminal run
the executable in a process of its own (`Cli`, `Terminal`)."""

from __future__ import annotations

import json
import select
import signal
import stat
import subprocess
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.terminal import Cli, InProcess, Terminal
from tests.e2e.waiting import eventually
from tests.fakes import Accepted, AgentService, OpenAIChatServer, say
from tests.fakes.agent_service import bad_request
from tests.localstack import Stack

pytestmark = pytest.mark.e2e
UNREACHABLE = "http://127.0.0.1:1"
ANSWER = "The numbers look healthy this week: every run finished, and none of them failed."
MORE = "Here is more: the slowest run took four minutes, and it was the nightly backup."


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


def test_login_keeps_the_token_apart_and_profiles_choose_where_to_talk(
    stack: Stack, ws: str, tmp_path: Path
) -> None:
    cli = InProcess(stack.base_url, tmp_path / "config")
    assert cli.run("agents", "list").returncode == 3
    signed = cli.run("login", "--for", ws)
    assert signed.returncode == 0, signed.stderr
    assert "signed in" in signed.stderr
    folder = tmp_path / "config" / "proactive"
    assert stat.S_IMODE((folder / "credentials.toml").stat().st_mode) == 0o600
    settings = tomllib.loads((folder / "config.toml").read_text())
    assert settings["profiles"]["default"] == {"api_url": stack.base_url}
    assert "token" not in (folder / "config.toml").read_text()
    assert tomllib.loads((folder / "credentials.toml").read_text())["profiles"]["default"]["token"]

    me = cli.json("whoami")
    assert (me["workspaces"], me["api_url"], me["profile"]) == ([ws], stack.base_url, "default")
    assert cli.json("agents", "create", "--name", "signed-in")["workspace_id"] == ws

    # Another profile, somewhere else and without a token: commands follow the current profile.
    cli.ok("profile", "set", "elsewhere", "--url", UNREACHABLE)
    cli.ok("profile", "use", "elsewhere")
    assert cli.json("profile", "show") == {
        "name": "elsewhere",
        "api_url": UNREACHABLE,
        "workspace": None,
        "output": None,
        "signed_in": False,
    }
    listed = {p["name"]: p for p in cli.json("profile", "list")["items"]}
    assert (listed["elsewhere"]["current"], listed["default"]["current"]) == (True, False)
    assert listed["default"]["signed_in"] is True
    assert cli.run("agents", "list").returncode == 3
    assert cli.run("--profile", "default", "agents", "list").returncode == 0
    assert cli.run("agents", "list", PROACTIVE_PROFILE="default").returncode == 0
    assert cli.run("profile", "use", "nowhere").returncode == 2

    cli.ok("profile", "use", "default")
    assert "signed out" in cli.ok("logout").stderr
    assert "token" not in tomllib.loads((folder / "credentials.toml").read_text())["profiles"]["default"]
    assert cli.run("whoami").returncode == 3


def test_a_flag_beats_the_environment_which_beats_the_profile(stack: Stack, ws: str, tmp_path: Path) -> None:
    cli = InProcess(stack.base_url, tmp_path / "config")
    cli.ok("login", "--for", ws)
    good = stack.base_url
    assert cli.run("agents", "list", PROACTIVE_API_URL=None).returncode == 0

    # The profile says the stack; the environment says nowhere: the environment wins.
    away = cli.run("agents", "list", PROACTIVE_API_URL=UNREACHABLE)
    assert away.returncode == 1
    assert "could not be reached" in away.stderr
    # A flag beats the environment, either way round.
    assert cli.run("agents", "list", "--api-url", good, PROACTIVE_API_URL=UNREACHABLE).returncode == 0
    assert cli.run("--api-url", UNREACHABLE, "agents", "list", PROACTIVE_API_URL=good).returncode == 1
    # And the same for the token.
    assert cli.run("agents", "list", PROACTIVE_TOKEN="not-a-token").returncode == 3
    right = stack.token(ws)
    assert cli.run("agents", "list", "--token", right, PROACTIVE_TOKEN="not-a-token").returncode == 0


def test_exit_codes_say_what_went_wrong(cli: Cli, api: httpx.Client, ws: str) -> None:
    agent = cli.json("agents", "create", "--name", "codes")
    assert cli.run("schedules", "create", "--name", "no-cron").returncode == 2
    assert cli.run("no-such-command").returncode == 2
    assert cli.run("agents", "list", PROACTIVE_TOKEN=None).returncode == 3
    other = cli.run("agents", "list", "--workspace", "ws-someone-else")
    assert other.returncode == 3
    assert "403" in other.stderr
    missing = cli.run("schedules", "show", "sched-not-there")
    assert (missing.returncode, missing.stdout) == (4, "")
    assert "404" in missing.stderr
    bad = cli.run(
        "schedules", "create", "--name", "bad", "--agent", agent["id"], "--cron", "61 * * * *", "--task", "x"
    )
    assert bad.returncode == 5
    assert "cron_expression" in bad.stderr
    cli.ok(
        "schedules", "create", "--name", "daily", "--agent", agent["id"], "--cron", "@daily", "--task", "x"
    )
    in_use = cli.run("agents", "delete", agent["id"], "--yes")
    assert in_use.returncode == 5
    assert "409" in in_use.stderr
    assert api.get(f"/api/agents/{agent['id']}").status_code == 200


@pytest.fixture
def failing() -> Iterator[AgentService]:
    """An agent service that turns every task down (400: not worth retrying)."""
    with AgentService(default=bad_request("no such task")) as service:
        yield service


@pytest.fixture
def slow() -> Iterator[AgentService]:
    """An agent service that takes every task and answers later, by callback (never, here)."""
    with AgentService(default=Accepted()) as service:
        yield service


def http_agent(cli: Cli, url: str, **config: str) -> str:
    made = cli.json(
        "agents",
        "create",
        "--name",
        "service",
        "--runtime",
        "http",
        "--config",
        json.dumps({"url": url, **config}),
    )
    return str(made["id"])


def test_waiting_runs_exit_as_they_end_and_ctrl_c_stops_following_one(
    cli: Cli, api: httpx.Client, failing: AgentService, slow: AgentService
) -> None:
    turned_down = cli.run(
        "agents", "run", http_agent(cli, failing.url), "--task", "Check", "--wait", "-o", "json"
    )
    assert turned_down.returncode == 1, turned_down.stderr
    assert json.loads(turned_down.stdout)["status"] == "failed"

    waiting = http_agent(cli, slow.url, mode="callback")
    timed_out = cli.run(
        "agents", "run", waiting, "--task", "Research", "--wait", "--timeout", "1", "-o", "json"
    )
    assert timed_out.returncode == 124, timed_out.stderr
    first = json.loads(timed_out.stdout)
    assert first["status"] in ("queued", "running")
    assert "after 1 s" in timed_out.stderr

    # Following its log: the first step shows, then Ctrl-C.
    follow = cli.popen(
        "runs", "logs", first["id"], "--follow", stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert follow.stdout is not None
        ready, _, _ = select.select([follow.stdout], [], [], 60)
        assert ready, "runs logs --follow printed nothing"
        assert "attempt_started" in follow.stdout.readline()
        follow.send_signal(signal.SIGINT)
        assert follow.wait(30) == 130
    finally:
        if follow.poll() is None:
            follow.kill()
        follow.communicate()


def test_a_bulk_cancel_refuses_without_yes_and_acts_with_it(
    cli: Cli, api: httpx.Client, ws: str, slow: AgentService
) -> None:
    waiting = http_agent(cli, slow.url, mode="callback")
    started = [
        api.post("/api/runs", json={"workspace_id": ws, "agent_id": waiting, "task": f"Job {i}"}).json()["id"]
        for i in range(2)
    ]

    def running() -> bool:
        return all(api.get(f"/api/runs/{r}").json().get("waiting_for") == "callback" for r in started)

    eventually(running, "both runs to wait for their callback")
    asked = cli.run("runs", "cancel", "--status", "running", "--agent", waiting)
    assert asked.returncode == 2
    assert "2 runs match: add --yes" in asked.stderr
    assert running()

    done = cli.json("runs", "cancel", "--status", "running", "--agent", waiting, "--yes")
    assert sorted(r["id"] for r in done["items"]) == sorted(started)

    def cancelled() -> bool:
        return all(api.get(f"/api/runs/{r}").json()["status"] == "cancelled" for r in started)

    eventually(cancelled, "both runs to be cancelled")


@pytest.fixture
def model() -> Iterator[OpenAIChatServer]:
    with OpenAIChatServer() as server:
        yield server


def test_a_chat_prints_the_answer_while_the_model_is_still_writing_it(
    cli: Cli, model: OpenAIChatServer
) -> None:
    config = {"provider": "openai", "model": "gpt-4o-mini", "base_url": model.api_base}
    agent = cli.json(
        "agents", "create", "--name", "numbers-bot", "--runtime", "llm", "--config", json.dumps(config)
    )
    conversation = cli.json("conversations", "create", "--agent", agent["id"], "--title", "Numbers")

    model.script(say(ANSWER, chunk_delay=0.01), say(MORE, chunk_delay=0.01))
    release = model.hold_streams()
    terminal = Terminal(cli, "conversations", "chat", conversation["id"])
    try:
        seen = terminal.expect("you> ")
        terminal.type("How are the numbers?\r")
        seen = terminal.expect("The numbers look healthy", after=seen)
        # The model has not finished (it waits for the test), yet its words are on the screen.
        assert model.stream_held.wait(30)
        assert not release.is_set()
        model.release_streams()
        seen = terminal.expect("none of them failed\\.\\s*you> ", after=seen)
        stored = cli.json("conversations", "messages", conversation["id"])["items"]
        assert [(m["role"], m["content"]) for m in stored] == [
            ("user", "How are the numbers?"),
            ("assistant", ANSWER),
        ]

        # Ctrl-C stops an answer being written; the session goes on, and Ctrl-D ends it.
        model.hold_streams()
        terminal.type("Tell me more\r")
        seen = terminal.expect("Here is more", after=seen)
        assert model.stream_held.wait(30)
        seen = terminal.interrupt("stopped", after=seen)
        seen = terminal.expect("you> ", after=seen)
        terminal.type("\x04")  # Ctrl-D: the end of input
        assert terminal.exit_code() == 0
    finally:
        model.release_streams()
        terminal.close()

    # Ctrl-C at the prompt ends the session: 130.
    terminal = Terminal(cli, "conversations", "chat", conversation["id"])
    try:
        terminal.expect("you> ")
        assert terminal.interrupt() == 130
    finally:
        terminal.close()


@pytest.mark.parametrize(
    ("shell", "marker"), [("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete ")]
)
def test_completion_prints_a_script_and_help_answers(cli: Cli, shell: str, marker: str) -> None:
    cli = Cli(cli.base_url, cli.home, token=cli.token)  # a shell runs the executable itself
    script = cli.ok("completion", shell).stdout
    assert marker in script
    assert "_PROACTIVE_COMPLETE" in script
    if shell == "bash":  # what the script asks for, at a TAB after `proactive schedules ne`
        asked = {
            "_PROACTIVE_COMPLETE": "complete_bash",
            "COMP_WORDS": "proactive schedules ne",
            "COMP_CWORD": "2",
        }
        assert cli.ok(**asked).stdout.split() == ["next"]
    help_text = cli.ok("--help").stdout
    for group in (
        "schedules",
        "webhooks",
        "monitors",
        "channels",
        "conversations",
        "tasks",
        "loop",
        "secrets",
    ):
        assert group in help_text


def test_the_installed_command_exits_with_the_documented_codes(stack: Stack, ws: str, tmp_path: Path) -> None:
    cli = Cli(stack.base_url, tmp_path / "config", token=stack.token(ws))
    listed = cli.run("agents", "list", "-o", "json")
    assert (listed.returncode, json.loads(listed.stdout)["items"]) == (0, [])
    assert cli.run("agents", "show", "agent-not-there").returncode == 4
    assert cli.run("agents", "list", PROACTIVE_TOKEN=None).returncode == 3
    assert cli.run("agents", "create", "--name", "x", "--runtime", "nope").returncode == 5
    assert cli.run("agents", "lisst").returncode == 2
