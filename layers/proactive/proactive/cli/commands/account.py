"""Signing in and choosing where to talk to (`login`, `logout`, `whoami`, `profile`), shell
completion, and the local stack's own commands (`dev`, `token`, `login-link`)."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

import typer

from proactive.cli.config import ConfigError
from proactive.cli.exits import NOT_ALLOWED, USAGE
from proactive.cli.state import CommandFailed, state

profile_app = typer.Typer(no_args_is_help=True, help="Profiles: list, use, show.")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _is_local(api_url: str) -> bool:
    return (urlsplit(api_url).hostname or "") in _LOOPBACK


def login(
    ctx: typer.Context,
    workspace: Annotated[
        list[str] | None,
        typer.Option("--for", help="Local stack: a workspace the token grants (repeatable)."),
    ] = None,
    token_stdin: Annotated[bool, typer.Option("--token-stdin", help="Read the token from stdin.")] = False,
) -> None:
    """Store a token for the profile: for the local stack one is made (its own secret); for
    another API, paste one (or pipe it with --token-stdin). It is checked with the API first."""
    st = state(ctx)
    target = st.target
    if token_stdin:
        token = sys.stdin.readline().strip()
    elif ctx.find_root().params.get("token"):
        token = str(ctx.find_root().params["token"])
    elif _is_local(target.api_url):
        from datetime import timedelta

        from proactive.auth import issue_local_token, local_secret

        token = issue_local_token(workspace or ["ws-456"], secret=local_secret(), ttl=timedelta(days=30))
    else:
        token = typer.prompt(f"Token for {target.api_url}", hide_input=True, err=True).strip()
    if not token:
        raise CommandFailed(USAGE, "no token given")
    checked = type(st)(
        target=type(target)(**{**target.__dict__, "token": token}), output=st.output, config=st.config
    )
    checked.call("GET", "/api/agents", params={"limit": 1})
    st.config.save(target.profile, token=token, api_url=target.api_url)
    st.output.note(f"signed in: profile {target.profile!r} at {target.api_url}")


def logout(ctx: typer.Context) -> None:
    """Forget the profile's token."""
    st = state(ctx)
    if st.config.forget_token(st.target.profile):
        st.output.note(f"signed out of profile {st.target.profile!r}")
    else:
        st.output.note(f"profile {st.target.profile!r} held no token")


def whoami(ctx: typer.Context) -> None:
    """Who the token says you are, its workspaces and expiry, and where you talk to."""
    st = state(ctx)
    if not st.target.token:
        raise CommandFailed(NOT_ALLOWED, "not signed in: run `proactive login`")
    st.call("GET", "/api/agents", params={"limit": 1})  # the API accepts it
    from proactive.auth import parse_workspaces

    claims = st.claims()
    expires = claims.get("exp")
    st.show(
        {
            "subject": claims.get("sub"),
            "workspaces": sorted(
                parse_workspaces(claims.get(os.environ.get("WORKSPACES_CLAIM") or "workspaces"))
            ),
            "expires_at": datetime.fromtimestamp(int(expires), UTC).isoformat() if expires else None,
            "api_url": st.target.api_url,
            "profile": st.target.profile,
        }
    )


@profile_app.command("list")
def profile_list(ctx: typer.Context) -> None:
    """Profiles, the current one marked."""
    st = state(ctx)
    current = st.config.current()
    rows = []
    for name in st.config.names():
        found = st.config.profile(name)
        rows.append(
            {
                "name": name,
                "current": name == current,
                "api_url": found.api_url,
                "workspace": found.workspace,
                "signed_in": bool(found.token),
            }
        )
    st.show({"items": rows, "next_cursor": None})


@profile_app.command("use")
def profile_use(ctx: typer.Context, name: str) -> None:
    """Make a profile the current one."""
    st = state(ctx)
    try:
        st.config.use(name)
    except ConfigError as exc:
        raise CommandFailed(USAGE, str(exc)) from exc
    st.output.note(f"now using profile {name!r}")


@profile_app.command("show")
def profile_show(ctx: typer.Context, name: Annotated[str | None, typer.Argument()] = None) -> None:
    """A profile's settings (its token is never printed)."""
    st = state(ctx)
    found = st.config.profile(name)
    st.show(
        {
            "name": found.name,
            "api_url": found.api_url,
            "workspace": found.workspace,
            "output": found.output,
            "signed_in": bool(found.token),
        }
    )


@profile_app.command("set")
def profile_set(
    ctx: typer.Context,
    name: str,
    api_url: Annotated[str | None, typer.Option("--url", help="The API's address.")] = None,
    workspace: Annotated[str | None, typer.Option("--default-workspace", help="Its workspace.")] = None,
    output: Annotated[
        str | None, typer.Option("--default-output", help="table, json, jsonl or yaml.")
    ] = None,
) -> None:
    """Create or change a profile."""
    st = state(ctx)
    st.config.save(name, api_url=api_url, workspace=workspace, output=output)
    st.output.note(f"profile {name!r} saved")


def completion(ctx: typer.Context, shell: Annotated[str, typer.Argument(help="bash, zsh or fish.")]) -> None:
    """Print the shell's completion script (`source <(proactive completion bash)`)."""
    # Typer's own Click, with Typer's completion classes registered in it.
    from typer._click.shell_completion import get_completion_class
    from typer._completion_classes import completion_init

    completion_init()
    found = get_completion_class(shell)
    if found is None:
        raise CommandFailed(USAGE, f"no completion for {shell!r}: bash, zsh or fish")
    sys.stdout.write(found(ctx.find_root().command, {}, "proactive", "_PROACTIVE_COMPLETE").source())


def token(
    workspace: Annotated[
        list[str], typer.Option("--workspace", help="A workspace the token grants (repeatable).")
    ],
    subject: Annotated[str, typer.Option(help="Who is calling.")] = "local-user",
    ttl_hours: Annotated[str, typer.Option("--ttl-hours", help="How long it is valid (hours).")] = "12",
) -> None:
    """Print a bearer token for the local stack."""
    from proactive.dev.cli import main as local_main

    code = local_main(
        [
            "token",
            *_each("--workspace", workspace),
            "--subject",
            subject,
            "--ttl-hours",
            ttl_hours,
        ]
    )
    if code:
        raise CommandFailed(code)


def login_link(
    ctx: typer.Context,
    workspace: Annotated[
        list[str] | None, typer.Option("--for", help="Local stack: a workspace (repeatable).")
    ] = None,
) -> None:
    """Print a one-time link that signs in to the console (as the token's person, or, on the
    local stack, as a local user of --for workspaces)."""
    st = state(ctx)
    if not st.target.token and _is_local(st.target.api_url):
        from proactive.dev.cli import main as local_main

        code = local_main(
            [
                "login-link",
                *_each("--workspace", workspace or ["ws-456"]),
                "--api-url",
                st.target.api_url,
            ]
        )
        if code:
            raise CommandFailed(code)
        return
    answer = st.call("POST", "/api/workspace/login-links", workspace_in=None)
    if st.output.format == "table":
        st.output.text(answer["url"])
    else:
        st.show(answer)


def dev(
    host: Annotated[str, typer.Option(help="Where to listen.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port.")] = int(os.environ.get("PORT", "8000")),
    workers: Annotated[int, typer.Option(help="Worker invocations at once.")] = 32,
    data_dir: Annotated[
        str | None, typer.Option("--data-dir", help="Where the table is kept across restarts.")
    ] = None,
    no_data: Annotated[bool, typer.Option("--no-data", help="Keep nothing across restarts.")] = False,
    reset: Annotated[bool, typer.Option(help="Start with an empty table.")] = False,
) -> None:
    """Run the whole platform locally on loopback."""
    from proactive.dev.cli import main as local_main

    args = ["dev", "--host", host, "--port", str(port), "--workers", str(workers)]
    args += ["--data-dir", data_dir] if data_dir else []
    args += ["--no-data"] if no_data else []
    args += ["--reset"] if reset else []
    code = local_main(args)
    if code:
        raise CommandFailed(code)


def _each(flag: str, values: list[str]) -> list[str]:
    return [word for value in values for word in (flag, value)]


def register(app: typer.Typer) -> None:
    app.command()(login)
    app.command()(logout)
    app.command()(whoami)
    app.add_typer(profile_app, name="profile")
    app.command()(completion)
    app.command(help="Print a bearer token for the local stack.")(token)
    app.command("login-link")(login_link)
    app.command()(dev)
