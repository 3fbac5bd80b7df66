"""`make bench`: figures for the dispatcher's cost and for how close to their time runs start.

Run as `python -m tests.bench [dispatcher|lateness ...]`. Everything runs on this machine:
moto in-process for the dispatcher, the local stack on loopback for lateness.
"""

from __future__ import annotations

import sys

from tests.bench import dispatcher_cost, ingest, lateness, monitor_checks

BENCHES = {
    "dispatcher": dispatcher_cost.main,
    "ingest": ingest.main,
    "lateness": lateness.main,
    "monitors": monitor_checks.main,
}


def main(argv: list[str]) -> int:
    for name in argv or list(BENCHES):
        BENCHES[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
