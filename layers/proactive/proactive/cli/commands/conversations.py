"""`proactive conversations ...`: conversations with an agent (`/conversations`), and `chat`, a
session in the terminal whose answers are printed as the agent writes them."""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Annotated, Any

import typer

from proactive.cli.commands.common import Cursor, Limit, given, item_commands, json_object
from proactive.cli.exits import NOT_ALLOWED, NOT_FOUND
from proactive.cli.state import CommandFailed, State, state

if TYPE_CHECKING:
    from proactive.sdk import Proactive

app = typer.Typer(no_args_is_help=True)
PATH = "/conversations"
PROMPT = "you> "
LEAVE = frozenset({"/exit", "/quit"})

COLUMNS = [
    ("id", "id"),
    ("kind", "pattern_type"),
    ("agent", "agent_id"),
    ("title", "title"),
    ("messages", "message_count"),
    ("last message", "last_message_at"),
    ("created", "created_at"),
]

item_commands(
    app,
    PATH,
    "conversation",
    COLUMNS,
    listed="Conversations, newest first.",
    shown="One conversation.",
    deleted="Delete a conversation and its messages (its runs stay in run history).",
)
MESSAGE_COLUMNS = [
    ("id", "id"),
    ("role", "role"),
    ("created", "created_at"),
    ("status", "status"),
    ("content", "content"),
]
Agent = Annotated[str | None, typer.Option("--agent", help="The agent (default: the workspace's).")]
Kind = Annotated[str, typer.Option("--kind", help="chatbot, sidekick or deep_research.")]
Title = Annotated[str | None, typer.Option(help="Its title.")]


@app.command()
def messages(ctx: typer.Context, conversation_id: str, limit: Limit = 50, cursor: Cursor = None) -> None:
    """Its messages, oldest first."""
    st = state(ctx)
    answer = st.call(
        "GET",
        f"{PATH}/{conversation_id}/messages",
        params={"limit": limit, "cursor": cursor},
        workspace_in=None,
    )
    st.show(answer, MESSAGE_COLUMNS)


def _create(st: State, agent: str | None, kind: str, title: str | None, context: str | None) -> Any:
    body = given(
        pattern_type=kind, agent_id=agent, title=title, context_data=json_object(context, what="--context")
    )
    return st.call("POST", PATH, json=body, workspace_in="body")


@app.command()
def create(
    ctx: typer.Context,
    agent: Agent = None,
    kind: Kind = "chatbot",
    title: Title = None,
    context: Annotated[
        str | None, typer.Option(help="A sidekick's application state: JSON, @file or -.")
    ] = None,
) -> None:
    """Start a conversation with an agent."""
    st = state(ctx)
    st.show(_create(st, agent, kind, title, context))


@app.command()
def send(ctx: typer.Context, conversation_id: str, message: str) -> None:
    """Send one message and print the agent's answer, once it is whole."""
    st = state(ctx)
    body = {"message": message, "stream": False}
    answer = st.call("POST", f"{PATH}/{conversation_id}/messages", json=body, workspace_in=None)
    if st.output.format == "table" and isinstance(answer.get("content"), str):
        st.output.text(answer["content"])
    else:
        st.show(answer)


@app.command()
def chat(
    ctx: typer.Context,
    conversation_id: Annotated[
        str | None, typer.Argument(help="The conversation (default: a new one).")
    ] = None,
    agent: Agent = None,
    title: Title = None,
) -> None:
    """Talk with an agent: each line you type is sent, and the answer printed as it is written
    (tool calls on stderr). Ctrl-D or /exit ends the session; Ctrl-C stops an answer, and at the
    prompt ends the session (exit 130). Streamed answers come from PROACTIVE_STREAM_URL when set."""
    st = state(ctx)
    if conversation_id is None:
        conversation_id = str(_create(st, agent, "chatbot", title, None)["id"])
        st.output.note(f"conversation {conversation_id} (Ctrl-D or /exit to leave)")
    elif agent is not None or title is not None:
        raise CommandFailed(2, "--agent and --title are for a new conversation")
    else:
        st.call("GET", f"{PATH}/{conversation_id}", workspace_in=None)
    client = st.client()
    while True:
        line = _read_line()
        if line is None or line.strip() in LEAVE:
            return
        if line.strip():
            _turn(st, client, conversation_id, line.strip())


def _read_line() -> str | None:
    """The next line typed (the prompt on stderr), or None at the end of input."""
    if sys.stdin.isatty():
        sys.stderr.write(PROMPT)
        sys.stderr.flush()
    try:
        return input()
    except EOFError:
        if sys.stdin.isatty():
            sys.stderr.write("\n")
        return None


def _turn(st: State, client: Proactive, conversation_id: str, text: str) -> None:
    """Send one message and print its answer as it streams; Ctrl-C stops the answer (the agent
    may still finish it: it is kept in the conversation's messages)."""
    import asyncio

    from proactive.cli.state import describe, exit_code
    from proactive.sdk import ProactiveError

    try:
        stopped = asyncio.run(_interruptible(_stream(st, client, conversation_id, text)))
    except KeyboardInterrupt:  # before the answer began
        stopped = True
    except ProactiveError as error:
        sys.stdout.flush()
        if exit_code(error) in (NOT_ALLOWED, NOT_FOUND):
            raise CommandFailed(exit_code(error), describe(error)) from error
        st.output.note(f"proactive: {describe(error)}")
        return
    if stopped:
        st.output.note("(stopped; the agent may still finish the answer: it is kept in the messages)")


async def _interruptible(work: Coroutine[Any, Any, None]) -> bool:
    """Run `work` until it ends or Ctrl-C cancels it (whenever it comes: the signal wakes the
    event loop); whether it was stopped."""
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    try:
        loop.add_signal_handler(signal.SIGINT, task.cancel)
    except (NotImplementedError, RuntimeError):  # no signal handlers here: Ctrl-C as it comes
        await task
        return False
    try:
        await task
    except asyncio.CancelledError:
        return True
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    return False


async def _stream(st: State, client: Proactive, conversation_id: str, text: str) -> None:
    import json

    from proactive.models.conversations import TurnAccepted
    from proactive.sdk import Delta, ToolCall

    wrote = False
    try:
        async for event in client.conversations.stream(conversation_id, text):
            if isinstance(event, Delta):
                sys.stdout.write(event.text)
                sys.stdout.flush()
                wrote = wrote or bool(event.text)
            elif isinstance(event, ToolCall):
                st.output.note(f"[{event.tool} {json.dumps(event.arguments, ensure_ascii=False)}]")
            elif isinstance(event, TurnAccepted):
                st.output.note(f"(run {event.run_id} goes on in the background: {event.detail})")
    finally:
        if wrote:
            sys.stdout.write("\n")
            sys.stdout.flush()
