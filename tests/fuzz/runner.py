"""Runs fuzz targets, each in a child process under atheris for a bounded time, and collects what
they found.

Per target, under `build/fuzz/` (or `out`):
- `corpus/<target>/`: the inputs the fuzzer found interesting, kept between runs so that a later
  run starts where the last one stopped; the seeds in `tests/fuzz/corpus/<target>/` are read too,
  never written, and `tests/fuzz/dicts/` gives each target the tokens of its input format;
- `crashes/<target>-<sha1 of the input>`: each input that broke the contract, raised an exception
  the code does not document, or ran longer than the per-input timeout;
- `<target>.log`: libFuzzer's output, with the traceback of a crash.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEEDS = Path(__file__).resolve().parent / "corpus"
DICTS = Path(__file__).resolve().parent / "dicts"
OUT = ROOT / "build" / "fuzz"
TARGETS = ("webhook_signatures", "webhook_ingest", "expressions", "cron")
# Seconds one input may take before it counts as a hang. The ingest target talks to moto, whose
# first calls are slow; the others are pure and take milliseconds.
INPUT_TIMEOUT = {"webhook_ingest": 10}
DEFAULT_INPUT_TIMEOUT = 5
# Longest input tried: long enough to pass every length limit the code has (a 500-character
# condition, a 2 KiB body for the ingest target), short enough to keep each input fast.
MAX_LEN = {"webhook_signatures": 4096, "webhook_ingest": 4096, "expressions": 1024, "cron": 256}
# Tokens libFuzzer splices into inputs: the format's keywords and the values that reach limits.
DICT = {
    "webhook_signatures": "webhook.dict",
    "webhook_ingest": "webhook.dict",
    "expressions": "expressions.dict",
    "cron": "cron.dict",
}
# Time a child may take beyond its fuzzing time (imports, set-up, replaying the corpus) before it
# is killed and reported as hung.
GRACE_SECONDS = 120
# libFuzzer's names for its findings (a slow-unit file is a note, not a crash).
FINDINGS = ("crash-", "timeout-", "oom-", "leak-")


@dataclass
class Crash:
    target: str
    kind: str  # crash, timeout, oom or leak
    path: Path
    data: bytes
    traceback: str

    def describe(self) -> str:
        lines = [f"{self.target}: {self.kind}, input saved as {self.path}", f"  input: {self.data!r}"]
        if self.traceback:
            lines.append("  " + self.traceback.replace("\n", "\n  "))
        return "\n".join(lines)


@dataclass
class Result:
    target: str
    seconds: int
    returncode: int | None  # None: killed, hung past its time
    log: Path
    replayed: int = 0  # inputs run once (`replay`), instead of fuzzing
    executions: int = 0
    coverage: int = 0
    crashes: list[Crash] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.crashes

    def summary(self) -> str:
        done = f"{self.target}: {self.executions} inputs in {self.seconds} s, coverage {self.coverage}"
        if self.replayed:
            done = f"{self.target}: replayed {self.replayed} input(s)"
            if self.crashes:
                return f"{done}; CRASH"
        if self.returncode is None:
            return f"{done}; HUNG past its time (killed), see {self.log}"
        if self.crashes:
            return f"{self.target}: CRASH after {self.executions} inputs (of up to {self.seconds} s)"
        if self.returncode != 0:
            return f"{done}; fuzzer exited {self.returncode} without a crash file, see {self.log}"
        return f"{done}; no crash"


def _traceback(log: str) -> str:
    """The Python traceback atheris printed for the crash, if any."""
    match = re.search(r"=== Uncaught Python exception: ===\n(.*?)(?:\n==\d+==|\Z)", log, re.S)
    return match.group(1).strip() if match else ""


def _stat(log: str, name: str) -> int:
    found = re.findall(rf"stat::{name}:\s*(\d+)", log)
    return int(found[-1]) if found else 0


def _coverage(log: str) -> int:
    found = re.findall(r"\bcov: (\d+)", log)
    return int(found[-1]) if found else 0


def run_target(target: str, seconds: int, *, out: Path = OUT, replay: list[Path] | None = None) -> Result:
    """Fuzz `target` for `seconds` (or, with `replay`, run just those inputs once)."""
    if target not in TARGETS:
        raise ValueError(f"unknown fuzz target {target!r}; known: {', '.join(TARGETS)}")
    corpus = out / "corpus" / target
    crashes = out / "crashes"
    for folder in (corpus, crashes):
        folder.mkdir(parents=True, exist_ok=True)
    log_path = out / f"{target}.log"
    with tempfile.TemporaryDirectory(prefix=f"{target}-", dir=out) as artifacts:
        args = [
            sys.executable,
            "-m",
            "tests.fuzz.child",
            target,
            f"-timeout={INPUT_TIMEOUT.get(target, DEFAULT_INPUT_TIMEOUT)}",
            f"-max_len={MAX_LEN[target]}",
            f"-dict={DICTS / DICT[target]}",
            "-rss_limit_mb=2048",
            f"-artifact_prefix={artifacts}/",
            "-print_final_stats=1",
        ]
        if replay:
            args += [str(p) for p in replay]
        else:
            args += [f"-max_total_time={seconds}", str(corpus), str(SEEDS / target)]
        with log_path.open("wb") as log:
            try:
                returncode: int | None = subprocess.run(
                    args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, timeout=seconds + GRACE_SECONDS
                ).returncode
            except subprocess.TimeoutExpired:
                returncode = None
        text = log_path.read_text(errors="replace")
        result = Result(
            target,
            seconds,
            returncode,
            log_path,
            executions=_stat(text, "number_of_executed_units"),
            coverage=_coverage(text),
            replayed=len(replay or []),
        )
        for found in sorted(Path(artifacts).iterdir()):
            kind = next((k.rstrip("-") for k in FINDINGS if found.name.startswith(k)), None)
            if kind is None:
                continue
            data = found.read_bytes()
            saved = crashes / f"{target}-{hashlib.sha1(data).hexdigest()}"  # noqa: S324 (a name, as libFuzzer's)
            shutil.move(found, saved)
            result.crashes.append(Crash(target, kind, saved, data, _traceback(text)))
        if replay and returncode and not result.crashes:
            # libFuzzer writes no crash file for an input it was given as a file: it is that one.
            running = re.findall(r"^Running: (.*)$", text, re.M)
            if running:
                found = Path(running[-1])
                result.crashes.append(Crash(target, "crash", found, found.read_bytes(), _traceback(text)))
    return result
