"""`proactive`: the local stack and local tokens."""

from __future__ import annotations

import argparse
import math
import os
import sys
from datetime import timedelta
from pathlib import Path

# A local token is for trying things out: a year is more than enough, and keeps `exp` a date.
MAX_TTL_HOURS = 24 * 365


def _token_problem(workspaces: list[str], ttl: str) -> str | None:
    """What is wrong with `proactive token`'s arguments, as one line, or None."""
    from proactive.models.common import WORKSPACE_ID, WORKSPACE_ID_RULE

    for workspace in workspaces:
        if not WORKSPACE_ID.fullmatch(workspace):
            return f"--workspace {workspace!r} is not a workspace id ({WORKSPACE_ID_RULE})"
    try:
        hours = float(ttl)
    except ValueError:
        return f"--ttl-hours {ttl!r} is not a number of hours"
    if not math.isfinite(hours) or not 0 < hours <= MAX_TTL_HOURS:
        return f"--ttl-hours must be more than 0 and at most {MAX_TTL_HOURS} (a year), not {ttl}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="proactive", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    token = commands.add_parser("token", help="print a bearer token valid for the local stack")
    token.add_argument(
        "--workspace", action="append", required=True, help="a workspace the token grants (repeatable)"
    )
    token.add_argument("--subject", default="local-user", help="the token's subject (who is calling)")
    # Taken as text and checked after parsing, so that a bad value gets one line, not the usage.
    token.add_argument(
        "--ttl-hours", default="12", help=f"how long the token is valid (at most {MAX_TTL_HOURS})"
    )

    link = commands.add_parser(
        "login-link", help="print a one-time link that signs in to the console of the running local stack"
    )
    link.add_argument(
        "--workspace", action="append", required=True, help="a workspace it grants (repeatable)"
    )
    link.add_argument("--api-url", default=os.environ.get("PROACTIVE_API_URL", "http://127.0.0.1:8000"))

    dev = commands.add_parser("dev", help="run the whole platform locally on loopback")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    dev.add_argument(
        "--workers", type=int, default=32, help="worker invocations at once (batches performed side by side)"
    )
    dev.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("PROACTIVE_DATA_DIR", ".proactive/data")),
        help="where the table is kept across restarts",
    )
    dev.add_argument("--no-data", action="store_true", help="keep nothing across restarts")
    dev.add_argument("--reset", action="store_true", help="start with an empty table")

    args = parser.parse_args(argv)
    if args.command == "token":
        from proactive.auth import issue_local_token, local_secret

        problem = _token_problem(args.workspace, args.ttl_hours)
        if problem:
            print(f"proactive token: {problem}", file=sys.stderr)
            return 2  # a usage error, as argparse's own
        print(
            issue_local_token(
                args.workspace,
                secret=local_secret(),
                subject=args.subject,
                ttl=timedelta(hours=float(args.ttl_hours)),
            )
        )
        return 0
    if args.command == "login-link":
        return _login_link(args.workspace, args.api_url)
    from proactive.dev import stack
    from proactive.settings import SettingsError

    try:
        return stack.main(
            host=args.host,
            port=args.port,
            workers_at_once=args.workers,
            data_dir=None if args.no_data else args.data_dir,
            reset=args.reset,
        )
    except KeyboardInterrupt:
        return 0
    except SettingsError as exc:
        print(f"proactive dev: {exc}", file=sys.stderr)
        return 2


def _login_link(workspaces: list[str], api_url: str) -> int:
    """Ask the running stack for a one-time console link, with a local token for `workspaces`."""
    import httpx

    from proactive.auth import issue_local_token, local_secret

    bearer = issue_local_token(workspaces, secret=local_secret(), ttl=timedelta(minutes=5))
    try:
        answer = httpx.post(
            f"{api_url.rstrip('/')}/api/workspace/login-links",
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=10,
        )
    except httpx.TransportError as exc:
        print(
            f"proactive login-link: the local stack at {api_url} did not answer ({exc}); "
            "start it with make dev",
            file=sys.stderr,
        )
        return 1
    if answer.status_code != 201:
        print(f"proactive login-link: {answer.status_code} {answer.text}", file=sys.stderr)
        return 1
    print(answer.json()["url"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
