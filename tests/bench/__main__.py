"""`make bench`: the figures, and only the figures.

Run as `python -m tests.bench [name ...]` (default: all). Everything runs on this machine: moto
in-process for the dispatcher, ingest and monitor costs, the local stack on loopback for lateness.
`BENCH_RUNS` sets how many times each figure is measured (default 3).
"""

from __future__ import annotations

import importlib
import sys

from tests.bench.common import quiet

BENCHES = {
    "agents": "tests.bench.agents",
    "cli": "tests.bench.cli",
    "coldstart": "tests.bench.coldstart",
    "console": "tests.bench.console",
    "conversations": "tests.bench.conversations",
    "cost": "tests.bench.cost",
    "detection": "tests.bench.detection",
    "dispatcher": "tests.bench.dispatcher_cost",
    "forecasting": "tests.bench.forecasting",
    "goal_loop": "tests.bench.goal_loop",
    "ingest": "tests.bench.ingest",
    "lateness": "tests.bench.lateness",
    "monitors": "tests.bench.monitor_checks",
    "notifications": "tests.bench.notifications",
    "patterns": "tests.bench.patterns",
    "series": "tests.bench.series",
    "suggestions": "tests.bench.suggestions",
}


def main(argv: list[str]) -> int:
    quiet()
    unknown = [name for name in argv if name not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    for name in argv or list(BENCHES):
        importlib.import_module(BENCHES[name]).main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
