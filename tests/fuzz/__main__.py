"""`python -m tests.fuzz [target ...] [--seconds N] [--out DIR] [--replay FILE ...]`

Fuzzes each target (all by default) for N seconds in turn, prints each crash's input (repr) and
traceback, and exits 1 if any target crashed, hung or could not run. `--replay` runs saved inputs
(e.g. from build/fuzz/crashes/) once through one target instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.fuzz.runner import OUT, TARGETS, run_target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[1])
    parser.add_argument(
        "targets", nargs="*", metavar="target", help=f"any of {', '.join(TARGETS)} (default all)"
    )
    parser.add_argument("--seconds", type=int, default=60, help="fuzzing time per target (default 60)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"corpus, crashes and logs (default {OUT})")
    parser.add_argument("--replay", type=Path, nargs="+", help="run these inputs once (one target only)")
    args = parser.parse_args(argv)
    targets = args.targets or list(TARGETS)
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    if args.replay and len(targets) != 1:
        parser.error("--replay needs exactly one target")
    failed = False
    for target in targets:
        result = run_target(target, args.seconds, out=args.out, replay=args.replay)
        print(result.summary(), flush=True)
        for crash in result.crashes:
            print(crash.describe(), flush=True)
        failed |= not result.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
