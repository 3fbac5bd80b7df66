"""The fuzz targets in `make test`: each seed replayed in-process (the seeds must still reach what
they were written for, or the fuzzer would start from nothing), then a short fuzzing run of each
target through the same runner as `make fuzz`, which must find no crash.

atheris has wheels for Linux x86_64 CPython 3.11-3.13 only (pyproject installs it there); where it
is missing, the runs are skipped, except in CI, where that fails.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator

import pytest

from tests.fuzz.runner import SEEDS, TARGETS, run_target

SECONDS = int(os.environ.get("FUZZ_SHORT_SECONDS", "2"))
# What each target's seeds must reach between them.
REACHED = {
    "webhook_signatures": {"accepted/body", "refused/body", "refused/bad-body"},
    "webhook_ingest": {"202", "200", "400", "401", "404", "409", "413"},
    "expressions": {"True", "False", "error", "refused"},
    "cron": {"fires", "fires-later", "refused"},
}


def _labels(target: str) -> Iterator[tuple[str, str]]:
    module = importlib.import_module(f"tests.fuzz.{target}")
    with module.target() as run:
        for seed in sorted((SEEDS / target).iterdir()):
            yield seed.name, run(seed.read_bytes())


@pytest.mark.parametrize("target", TARGETS)
def test_seeds_keep_to_the_contract_and_reach_each_outcome(target: str) -> None:
    labels = dict(_labels(target))
    assert len(labels) >= 5
    assert REACHED[target] <= set(labels.values()), labels


@pytest.fixture(scope="module")
def _atheris() -> None:
    try:
        import atheris  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("atheris is not installed; CI must run the fuzz targets")
        pytest.skip("atheris has no wheel for this platform (Linux x86_64, CPython 3.11-3.13 only)")


@pytest.mark.usefixtures("_atheris")
@pytest.mark.parametrize("target", TARGETS)
def test_short_fuzzing_run_finds_no_crash(target: str) -> None:
    result = run_target(target, SECONDS)
    report = "\n".join([result.summary(), *(c.describe() for c in result.crashes)])
    assert result.ok, report
    assert result.executions > 0, report
