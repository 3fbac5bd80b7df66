"""What every benchmark shares: a quiet, safe environment; figures over several runs; call counts."""

from __future__ import annotations

import io
import logging
import os
import statistics
import sys
import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO


class _Figures(io.TextIOBase):
    """stdout without the metric lines (CloudWatch embedded metric format) that Powertools
    prints whenever 100 values pile up between flushes, as they do in a benchmark's loop."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._line = ""

    def write(self, text: str) -> int:
        self._line += text
        *lines, self._line = self._line.split("\n")
        for line in lines:
            if not line.startswith('{"_aws"'):
                self._out.write(line + "\n")
        self._out.flush()
        return len(text)


def quiet() -> None:
    """Benchmarks print their figures and nothing else: no handler logs, no metric lines."""
    if not isinstance(sys.stdout, _Figures):
        sys.stdout = _Figures(sys.stdout)
    os.environ["POWERTOOLS_LOG_LEVEL"] = "CRITICAL"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    logging.disable(logging.CRITICAL)
    warnings.filterwarnings("ignore")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def spread(values: Sequence[float], unit: str = "", scale: float = 1.0, digits: int = 0) -> str:
    """`median (min-max over N runs)` of one figure measured several times."""
    shown = [v * scale for v in values]
    return (
        f"{statistics.median(shown):.{digits}f}{unit} "
        f"(range {min(shown):.{digits}f}-{max(shown):.{digits}f}{unit} over {len(shown)} runs)"
    )


class CallCounter:
    """AWS API calls a client makes, by operation, from the client's own events."""

    def __init__(self, *clients: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.items_read = 0
        for client in clients:
            client.meta.events.register("after-call.*", self._count)

    def _count(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        if model.name in ("Query", "Scan"):
            self.items_read += int(parsed.get("ScannedCount", 0))
        elif model.name == "BatchGetItem":
            self.items_read += sum(len(v) for v in parsed.get("Responses", {}).values())
        elif model.name == "GetItem" and "Item" in parsed:
            self.items_read += 1

    def reset(self) -> None:
        self.calls.clear()
        self.items_read = 0

    @property
    def total(self) -> int:
        return sum(self.calls.values())
