"""`proactive --help`: how long the command line takes to answer, from the shell's point of view.

The installed `proactive` executable is started `STARTS` times (after one start that is not
counted, so the bytecode of what it imports is written), each in a fresh process with its output
thrown away, and the wall time from start to exit is measured; the figure is the median and range,
against the goal of half a second. Beside it, the processor time each start took (user and
system), which a machine busy with other work changes less than the wall time.

To answer, the command line imports Typer and its own modules only (`proactive.cli`), and builds
a command group's commands only when the line names it; this is what a person waits for at every
`--help` and every completion.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.common import quiet, spread

PROACTIVE = str(Path(sys.executable).parent / "proactive")
STARTS = int(os.environ.get("BENCH_CLI_STARTS", "10"))
GOAL_SECONDS = 0.5


def _once() -> tuple[float, float]:
    """The wall time of one start, and the processor time it took (user and system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([PROACTIVE, "--help"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    quiet()
    _once()
    starts = [_once() for _ in range(STARTS)]
    times = [wall for wall, _ in starts]
    verdict = "within" if statistics.median(times) <= GOAL_SECONDS else "over"
    print(
        f"[cli] `proactive --help`, wall time of a fresh process: {spread(times, ' ms', 1000)}; "
        f"{verdict} the {GOAL_SECONDS * 1000:.0f} ms goal (processor time "
        f"{spread([cpu for _, cpu in starts], ' ms', 1000)})"
    )


if __name__ == "__main__":
    main()
