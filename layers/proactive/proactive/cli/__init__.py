"""The `proactive` command: the API from a terminal or a script, built on the SDK.

    proactive login                       # store a token for the local stack (or paste one)
    proactive agents list -o json         # exactly what the API answered
    proactive agents run AGENT --input @task.json --wait

Where it talks to: `--api-url` / PROACTIVE_API_URL, `--token` / PROACTIVE_TOKEN, `--profile` /
PROACTIVE_PROFILE; a flag beats the environment, which beats the profile (`config.py`).

Exit codes (scripts can rely on them): 0 ok; 1 the run failed or was cancelled (with `--wait`), or
the API could not be reached; 2 usage; 3 not authenticated or not allowed; 4 not found; 5 refused
as invalid or conflicting; 124 `--wait` timed out; 130 interrupted.

Everything but the command line itself (the SDK, httpx, the models) is imported when a command
runs, so `proactive --help` answers at once.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        from proactive.cli.app import run
    except ModuleNotFoundError as exc:  # installed without the command line's extra
        print(f"proactive: {exc.name} is missing: pip install 'proactive[cli]'", file=sys.stderr)
        return 1
    return run(argv)
