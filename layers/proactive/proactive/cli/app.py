"""The command line's root: global options, the command groups, and exit codes for failures.

Global options (`--api-url`, `--token`, `--profile`, `--workspace`, `-o/--output`, `--no-color`)
are accepted anywhere on the line (`proactive agents list -o json` as well as
`proactive -o json agents list`): they are moved in front of the command before parsing.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from proactive.cli.exits import INTERRUPTED
from proactive.cli.output import FORMATS

# name -> whether it takes a value
GLOBAL_OPTIONS = {
    "--api-url": True,
    "--token": True,
    "--profile": True,
    "--workspace": True,
    "-o": True,
    "--output": True,
    "--no-color": False,
}

# The command groups of `proactive.cli.commands.COMMANDS` by name (their Typer app and help),
# made into Click commands only when a command line names one (`RootGroup`).
_GROUPS: dict[str, tuple[typer.Typer, str]] = {}


class _Listed:
    """A command group as the root's list of commands shows it, before it is built."""

    hidden = False

    def __init__(self, help_text: str) -> None:
        self.help = help_text

    def get_short_help_str(self, limit: int = 45) -> str:
        from typer._click.utils import make_default_short_help

        return make_default_short_help(self.help, limit)


class RootGroup(typer.core.TyperGroup):
    """The root command. Its command groups are built (Typer's functions made into Click
    commands, which is most of what a start takes) only when the command line names one; the
    list `proactive --help` prints shows each group's help as COMMANDS gives it."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        plain = [name for name in names if not isinstance(self.commands[name], typer.core.TyperGroup)]
        others = [name for name in names if name not in plain and name not in _GROUPS]
        return [*plain, *_GROUPS, *others]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in _GROUPS and cmd_name not in self.commands:
            if self._listing:
                return _Listed(_GROUPS[cmd_name][1])
            self.commands[cmd_name] = _group(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    cls=RootGroup,
    name="proactive",
    help="Proactive from the terminal: agents, runs, schedules, triggers, webhooks, monitors, "
    "notifications, conversations, tasks, the goal loop, suggestions and secrets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help: Rich's help formatting doubles the time `proactive --help` takes.
    rich_markup_mode=None,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    api_url: Annotated[
        str | None,
        typer.Option("--api-url", help="The API's address (env PROACTIVE_API_URL).", show_default=False),
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="A bearer token (env PROACTIVE_TOKEN).", show_default=False)
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="A profile of config.toml (env PROACTIVE_PROFILE).")
    ] = None,
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace", help="The workspace, when the token grants several (env PROACTIVE_WORKSPACE)."
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", help=f"Output: {'|'.join(FORMATS)} (json: exactly the API's answer)."),
    ] = None,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colour (also NO_COLOR, or not a terminal).")
    ] = False,
) -> None:
    from proactive.cli.state import State

    ctx.obj = State.create(
        api_url=api_url, token=token, profile=profile, workspace=workspace, output=output, no_color=no_color
    )


def _register() -> None:
    if _GROUPS:
        return
    from proactive.cli.commands import COMMANDS

    for name, module, help_text in COMMANDS:
        _GROUPS[name] = (module.app, help_text)
    from proactive.cli.commands.account import register as account_commands

    account_commands(app)


def _group(name: str) -> Any:
    """The Click group of the command group `name`, as `app.add_typer` would have made it."""
    from typer.models import TyperInfo

    sub, help_text = _GROUPS[name]
    return typer.main.get_group_from_info(
        TyperInfo(sub, name=name, help=help_text),
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
        suggest_commands=app.suggest_commands,
    )


_built: list[Any] = []


def _command() -> Any:
    """The command line as Click runs it, built from the Typer app once."""
    if not _built:
        _register()
        _built.append(typer.main.get_command(app))
    return _built[0]


def _own_options(argv: list[str]) -> set[str]:
    """The options the command `argv` names declares itself (`proactive token --workspace` is
    the token's own, not the global one)."""
    command = _command()
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            skip = GLOBAL_OPTIONS.get(word, False)
            continue
        find = getattr(command, "get_command", None)
        found = find(None, word) if find is not None else None
        if found is None:
            break
        command = found
    return {name for param in command.params for name in param.opts}


def hoisted(argv: list[str]) -> list[str]:
    """`argv` with the global options moved in front of the command (up to a `--`), except
    those the command declares itself."""
    own = _own_options(argv)
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "--":
            rest.extend(argv[index:])
            break
        name = word.split("=", 1)[0]
        if name in GLOBAL_OPTIONS and name not in own:
            takes_value = GLOBAL_OPTIONS[name] and "=" not in word
            front.append(word)
            if takes_value and index + 1 < len(argv):
                front.append(argv[index + 1])
                index += 1
        else:
            rest.append(word)
        index += 1
    return front + rest


def run(argv: list[str] | None = None) -> int:
    """Parse and run a command line; the exit code (see proactive.cli)."""
    from proactive.cli.state import CommandFailed

    if os.environ.get("_PROACTIVE_COMPLETE"):
        # A shell asking for completions (the script `proactive completion <shell>` prints).
        from typer._completion_classes import completion_init

        completion_init()
    args = hoisted(list(sys.argv[1:] if argv is None else argv))
    try:
        # Typer answers Ctrl-C (130) and `typer.Exit` inside a command with the exit code.
        code = _command().main(args=args, prog_name="proactive", standalone_mode=False)
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.Abort:
        return INTERRUPTED
    except typer.TyperException as exc:  # Click's errors: usage (2) and the like
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            print(f"proactive: {exc.format_message()}", file=sys.stderr)
        return int(exc.exit_code)
    except CommandFailed as failed:
        if failed.message:
            print(f"proactive: {failed.message}", file=sys.stderr)
        return failed.code
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        return 0
    return code if isinstance(code, int) and not isinstance(code, bool) else 0
