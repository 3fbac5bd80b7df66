"""What every command is run with: where the API is and as whom (`config.resolve`), how to
print (`output.Output`), and the API itself through the SDK, its failures turned into the
documented exit codes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from proactive.cli.config import Config, ConfigError, Target, resolve
from proactive.cli.exits import FAILED, NOT_ALLOWED, NOT_FOUND, REFUSED, USAGE
from proactive.cli.output import Column, Output

if TYPE_CHECKING:
    from proactive.sdk.client import ProactiveError


class CommandFailed(Exception):
    """Ends the command with `code`, after saying `message` on stderr."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def exit_code(error: ProactiveError) -> int:
    """The exit code for an API failure: 3 not authenticated or not allowed, 4 not found, 5
    refused as invalid or conflicting, 1 anything else (unreachable, a server error)."""
    if error.status in (401, 403):
        return NOT_ALLOWED
    if error.status == 404:
        return NOT_FOUND
    if error.status in (400, 409, 413, 422):
        return REFUSED
    return FAILED


def describe(error: ProactiveError) -> str:
    if error.status == 0:
        return f"the API could not be reached: {error.message}"
    where = f" ({error.field})" if error.field else ""
    lines = [f"{error.status} {error.error}: {error.message}{where}"]
    lines += [
        f"  {d.get('field')}: {d.get('message')}" for d in error.details if d.get("field") != error.field
    ]
    return "\n".join(lines)


@dataclass
class State:
    target: Target
    output: Output
    config: Config

    @classmethod
    def create(
        cls,
        *,
        api_url: str | None,
        token: str | None,
        profile: str | None,
        workspace: str | None,
        output: str | None,
        no_color: bool,
    ) -> State:
        config = Config()
        try:
            target = resolve(
                api_url=api_url,
                token=token,
                profile=profile,
                workspace=workspace,
                output=output,
                config=config,
            )
            shown = Output(target.output, color=not no_color and not os.environ.get("NO_COLOR"))
        except (ConfigError, ValueError) as exc:
            raise CommandFailed(USAGE, str(exc)) from exc
        return cls(target=target, output=shown, config=config)

    def claims(self) -> dict[str, Any]:
        """The token's claims as it states them (not verified here: the API verifies it)."""
        import jwt

        if not self.target.token:
            return {}
        try:
            claims: dict[str, Any] = jwt.decode(self.target.token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return {}
        return claims

    def workspace(self) -> str:
        """The chosen workspace, or the token's only one (usage error, exit 2, when it has several)."""
        if self.target.workspace:
            return self.target.workspace
        from proactive.auth import parse_workspaces

        claim = os.environ.get("WORKSPACES_CLAIM") or "workspaces"
        granted = sorted(parse_workspaces(self.claims().get(claim)))
        if len(granted) == 1:
            return granted[0]
        raise CommandFailed(
            USAGE,
            "which workspace? give --workspace (or PROACTIVE_WORKSPACE, or a profile's workspace)"
            + (f"; the token grants {', '.join(granted)}" if granted else ""),
        )

    def client(self) -> Any:
        """The SDK's client for the target (refused, exit 3, without a token)."""
        from proactive.sdk import Proactive

        if not self.target.token:
            raise CommandFailed(
                NOT_ALLOWED,
                "not signed in: run `proactive login`, or pass --token / set PROACTIVE_TOKEN",
            )
        return Proactive(base_url=self.target.api_url, token=self.target.token)

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        workspace_in: str | None = "params",
    ) -> Any:
        """One API call through the SDK (its retries and errors); the decoded answer. The
        workspace, when one is chosen, goes in the query (`workspace_in="params"`) or the body
        (`"body"`), unless the call already names one."""
        import asyncio

        from proactive.sdk import ProactiveError

        params = dict(params or {})
        if self.target.workspace and workspace_in == "params":
            params.setdefault("workspace_id", self.target.workspace)
        if workspace_in == "body" and isinstance(json, dict):
            json = {"workspace_id": self.workspace(), **json}
        client = self.client()
        try:
            return asyncio.run(
                client.request(method, path, json=json, params=params, idempotency_key=idempotency_key)
            )
        except ProactiveError as error:
            raise CommandFailed(exit_code(error), describe(error)) from error

    def show(self, body: Any, columns: Sequence[Column] = (), *, title: str | None = None) -> None:
        self.output.answer(body, columns, title=title)


def state(ctx: typer.Context) -> State:
    """The command's state (made by the root callback, which runs before every command)."""
    found: State = ctx.find_root().obj
    return found
