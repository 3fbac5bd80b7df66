"""`proactive`: the local stack and local tokens."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="proactive", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    token = commands.add_parser("token", help="print a bearer token valid for the local stack")
    token.add_argument(
        "--workspace", action="append", required=True, help="a workspace the token grants (repeatable)"
    )
    token.add_argument("--subject", default="local-user", help="the token's subject (who is calling)")
    token.add_argument("--ttl-hours", type=float, default=12.0, help="how long the token is valid")

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

        print(
            issue_local_token(
                args.workspace,
                secret=local_secret(),
                subject=args.subject,
                ttl=timedelta(hours=args.ttl_hours),
            )
        )
        return 0
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


if __name__ == "__main__":
    sys.exit(main())
