"""Each function's init on this machine, beside a bare `import boto3`.

A function's init is the import of its handler module (what Lambda does before the first event:
the module builds what it holds, such as the API's app); for the stream function it is what
functions/stream/run.sh has uvicorn do before it listens: load uvicorn, then call the app factory
it names. Each is timed inside a fresh interpreter, as Lambda would start it:

- with the function's environment: template.yaml's Globals and the function's own variables
  (resources, and parameters without a default, stand in as fake names in a fake account),
  Lambda's reserved variables and fake credentials;
- with only what the function has on its path there: the packages its layers ship (each layer's
  requirements.lock, else the closure of its requirements.in, else of the package's own
  dependencies), none of the tools installed here for development and tests; the package without
  dev/ and sdk/, which the layers leave out; and the runtime's boto3 where the layers leave it to
  the runtime;
- with no network: an audit hook refuses any address but loopback, so an init that would call
  AWS fails the benchmark.

The subjects take turns, round after round, so a machine busy with other work slows all of them
alike; each figure is the median and range over the rounds, and the ratio to `import boto3` (with
the API function's layers) is taken within each round. Two conditions:

- from source: Python compiles the layers' modules at every cold start, because the layers ship
  them without bytecode and Lambda's file system is read-only. Only the standard library and the
  runtime's own packages (boto3 and what it needs, where the layers leave them to the runtime)
  load from bytecode, as the runtime is taken to ship them.
- bytecode: every module loads from bytecode, as it would from layers that ship it.

The API function builds each path prefix's routes on the prefix's first request, so beside its
init: the init and a first request, for a few prefixes (each answered without AWS: refused for
want of the authorizer's claims, or /health).

Then, from one `python -X importtime` run of each, the packages that take most of its init, each
by its own time (the packages it imports excluded).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import tomllib
from collections import Counter
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.bench.common import quiet, spread

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
ROUNDS = max(7, RUNS)
REGION = "us-east-1"
ACCOUNT = "000000000000"
STACK = "proactive-bench"
# Functions whose Handler is handler.handler, by folder, with their resource in template.yaml.
HANDLERS = {
    "api": "ApiFunction",
    "ingest": "IngestFunction",
    "dispatcher": "DispatcherFunction",
    "worker": "WorkerFunction",
    "goalloop": "GoalLoopFunction",
    "deadletters": "DeadLetterFunction",
}
STREAM = "StreamFunction"
# The API builds each path prefix's routes on its first request: the cold start to the first answer
# of a few, each refused for want of the authorizer's claims (401) or answered without AWS (200).
FIRST_REQUESTS = (
    ("/health", 200),
    ("/api/agents", 401),
    ("/conversations", 401),
    ("/api/autonomous/status", 401),
)
FIRST_REQUEST = """
import handler


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"
    aws_request_id = "bench"


answer = handler.handler({event!r}, Context())
assert answer["statusCode"] == {status}, answer
"""
# What resources and parameters without a default stand for, in the fake account.
FAKES = {
    "Table": STACK,
    "RunQueue": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{STACK}-runs",
    "JwtIssuer": "https://issuer.invalid",
    "JwtAudience": "bench-audience",
}
# Left out of both layers by their builds (layers/layer.mk).
LEFT_OUT = ("dev", "sdk")
TOP_PACKAGES = 5

# Runs in each fresh interpreter: argv[1] is the task root to put first on the path, argv[2] the
# statement timed. Prints the seconds it took.
CHILD = """
import sys, time

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _loopback_only(event, args):
    if event == "socket.connect" and isinstance(args[1], tuple) and args[1][0] not in _LOOPBACK:
        raise RuntimeError(f"init connects to {args[1]!r}")
    if event == "socket.getaddrinfo" and args[0] not in _LOOPBACK:
        raise RuntimeError(f"init looks up {args[0]!r}")


sys.addaudithook(_loopback_only)
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
exec(sys.argv[2])
print(time.perf_counter() - started)
"""


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, !If...) as {name: value}."""


_CfnLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: {
        suffix: loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node, deep=True)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node, deep=True)
    },
)


def _template() -> dict[str, Any]:
    text = (REPO_ROOT / "template.yaml").read_text()
    return dict(yaml.load(text, Loader=_CfnLoader))  # noqa: S506 - a SafeLoader subclass


def _resolver(template: Mapping[str, Any]) -> Callable[[Any], str]:
    """Turns a template value into the string the function would see, with fake names."""
    parameters = template.get("Parameters", {})
    pseudo = {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
        "AWS::StackName": STACK,
        "AWS::URLSuffix": "amazonaws.com",
    }

    def ref(name: str) -> str:
        if name in pseudo:
            return pseudo[name]
        if name in FAKES:
            return FAKES[name]
        if "Default" in parameters.get(name, {}):
            return str(parameters[name]["Default"])
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:{STACK}-{name}"

    def resolve(value: Any) -> str:
        if not isinstance(value, dict):
            return "" if value is None else str(value)
        (kind, arg), *_ = value.items()
        if kind == "Ref":
            return ref(arg)
        if kind == "Sub":
            return re.sub(r"\$\{([^}!]+)\}", lambda m: ref(m[1].split(".")[0]), arg)
        if kind == "If":
            return resolve(arg[2])  # the parameters' defaults leave every condition false
        if kind == "Join":
            separator, items = arg
            return str(separator).join(resolve(item) for item in items)
        return f"{STACK}-{kind}"

    return resolve


def _environment(template: Mapping[str, Any], resource: str, layer: Path, task_root: Path) -> dict[str, str]:
    """The environment Lambda gives the function: its variables over the Globals', then Lambda's own."""
    resolve = _resolver(template)
    defaults = template["Globals"]["Function"]
    props = template["Resources"][resource]["Properties"]
    variables = {
        **defaults.get("Environment", {}).get("Variables", {}),
        **props.get("Environment", {}).get("Variables", {}),
    }
    env = {name: resolve(value) for name, value in variables.items()}
    env.update(
        {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(layer),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_SESSION_TOKEN": "bench",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{props.get('Runtime', defaults['Runtime'])}",
            "AWS_LAMBDA_FUNCTION_NAME": f"{STACK}-{resource}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", defaults["MemorySize"])),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{STACK}-{resource}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "_AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1",
            "_AWS_XRAY_DAEMON_PORT": "2000",
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "_HANDLER": str(props.get("Handler", "")),
            "_X_AMZN_TRACE_ID": "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
        }
    )
    return env


def _closure(roots: list[Requirement]) -> dict[str, metadata.Distribution]:
    """The installed distributions the requirements need, with their extras, transitively."""
    found: dict[str, metadata.Distribution] = {}
    wanted: set[tuple[str, str]] = set()
    todo = list(roots)
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        extras = sorted(requirement.extras) or [""]
        if all((name, extra) in wanted for extra in extras):
            continue
        wanted.update((name, extra) for extra in extras)
        try:
            dist = found.setdefault(name, metadata.distribution(requirement.name))
        except metadata.PackageNotFoundError:
            continue  # not for this platform or Python: the requirement's marker says so
        for line in dist.requires or []:
            needed = Requirement(line)
            marker = needed.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras):
                todo.append(needed)
    return found


def _shipped(template: Mapping[str, Any], resource: str) -> dict[str, metadata.Distribution]:
    """The distributions the function's layers ship: each layer's requirements.lock (or the
    closure of its requirements.in or .txt), else the package's own dependencies (pyproject.toml)."""
    resources = template["Resources"]
    layers = [
        *template["Globals"]["Function"].get("Layers", []),
        *resources[resource]["Properties"].get("Layers", []),
    ]
    found: dict[str, metadata.Distribution] = {}
    for layer in layers:
        name = layer.get("Ref") if isinstance(layer, dict) else None
        if name not in resources:
            continue  # a published layer (the web adapter), not ours
        folder = REPO_ROOT / resources[name]["Properties"]["ContentUri"]
        lock = folder / "requirements.lock"
        if lock.exists():
            for pinned in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", lock.read_text(), re.MULTILINE):
                try:
                    found[canonicalize_name(pinned)] = metadata.distribution(pinned)
                except metadata.PackageNotFoundError:
                    continue  # for the runtime's platform only
            continue
        listed = [folder / "requirements.in", folder / "requirements.txt"]
        lines = next((f.read_text().splitlines() for f in listed if f.exists()), None)
        if lines is None:
            with (REPO_ROOT / "pyproject.toml").open("rb") as handle:
                lines = tomllib.load(handle)["project"]["dependencies"]
        roots = [Requirement(text) for text in (line.split("#")[0].strip() for line in lines) if text]
        found.update(_closure(roots))
    return found


def _top_level(dist: metadata.Distribution) -> set[str]:
    """The names a distribution installs at the top of site-packages."""
    tops = {file.parts[0] for file in dist.files or []}
    return {top for top in tops if top not in ("..", "__pycache__") and not top.endswith(".pth")}


def _layer(target: Path, shipped: Mapping[str, metadata.Distribution]) -> tuple[Path, set[Path]]:
    """/opt/python as Lambda would have it, in links: the layer's packages, the runtime's for what
    the layer leaves to it, and the package. With them, where the runtime's own packages are."""
    target.mkdir(parents=True)
    runtime = {name: dist for name, dist in _closure([Requirement("boto3")]).items() if name not in shipped}
    for dist in [*shipped.values(), *runtime.values()]:
        for top in _top_level(dist):
            link = target / top
            if not link.exists():
                link.symlink_to(Path(str(dist.locate_file(top))))
    package = REPO_ROOT / "layers" / "proactive" / "proactive"
    (target / "proactive").mkdir()
    for source in package.iterdir():
        if source.name not in (*LEFT_OUT, "__pycache__"):
            (target / "proactive" / source.name).symlink_to(source)
    return target, {target / top for dist in runtime.values() for top in _top_level(dist)}


class _Subject:
    """One thing timed: a statement, in a fresh interpreter, with an environment and a task root."""

    def __init__(
        self, name: str, statement: str, env: dict[str, str], task_root: Path, *, init: bool = True
    ) -> None:
        self.name = name
        self.init = init  # the init alone, not the init and a first request
        self.statement = statement
        self.env = env
        self.task_root = task_root
        self.seconds: dict[str, list[float]] = {}

    def run(self, pycache: Path, *flags: str, writes: bool = False) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "PYTHONPYCACHEPREFIX": str(pycache)}
        if writes:
            del env["PYTHONDONTWRITEBYTECODE"]
        # -S: no site-packages on the path, only the layer (PYTHONPATH) and the task root.
        done = subprocess.run(
            [sys.executable, "-S", *flags, "-c", CHILD, str(self.task_root), self.statement],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.task_root,
            timeout=120,
        )
        if done.returncode:
            raise RuntimeError(f"{self.name}: init failed:\n{done.stderr[-3000:]}")
        return done

    def time(self, condition: str, pycache: Path) -> float:
        seconds = float(self.run(pycache).stdout.split()[-1])
        self.seconds.setdefault(condition, []).append(seconds)
        return seconds


def _subjects(scratch: Path) -> tuple[list[_Subject], set[Path]]:
    """`import boto3` (with the API function's environment and layers), each handler, the stream
    app; and where, in their layers, the runtime's own packages are."""
    template = _template()
    functions = REPO_ROOT / "functions"
    layers: dict[frozenset[str], tuple[Path, set[Path]]] = {}
    runtime: set[Path] = set()

    def subject(name: str, statement: str, resource: str, task_root: Path, *, init: bool = True) -> _Subject:
        shipped = _shipped(template, resource)
        key = frozenset(shipped)
        if key not in layers:
            layers[key] = _layer(scratch / f"layer{len(layers)}" / "python", shipped)
            runtime.update(layers[key][1])
        env = _environment(template, resource, layers[key][0], task_root)
        return _Subject(name, statement, env, task_root, init=init)

    subjects = [subject("import boto3", "import boto3", "ApiFunction", functions / "api")]
    for folder, resource in HANDLERS.items():
        subjects.append(subject(folder, "import handler", resource, functions / folder))
    run_sh = (functions / "stream" / "run.sh").read_text()
    factory = re.search(r"--factory\s+(\S+)", run_sh)
    if factory is None:
        raise RuntimeError("functions/stream/run.sh names no --factory")
    statement = f"import uvicorn\nuvicorn.Config({factory[1]!r}, factory=True, access_log=False).load()"
    subjects.append(subject("stream", statement, STREAM, functions / "stream"))
    print(f"[coldstart] stream: {factory[1]} under uvicorn (functions/stream/run.sh)")
    for path, status in FIRST_REQUESTS:
        statement = FIRST_REQUEST.format(event=_http_api_event(path), status=status)
        name = f"api + GET {path}"
        subjects.append(subject(name, statement, "ApiFunction", functions / "api", init=False))
    return subjects, runtime


def _http_api_event(path: str) -> dict[str, Any]:
    """An HTTP API (payload 2.0) GET without the authorizer's claims."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": f"bench.execute-api.{REGION}.amazonaws.com", "user-agent": "bench"},
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "bench",
            "domainName": f"bench.execute-api.{REGION}.amazonaws.com",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": "bench",
            "routeKey": "$default",
            "stage": "$default",
            "time": "07/Dec/2026:00:00:00 +0000",
            "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }


def _keep_runtime_bytecode(pycache: Path, runtime: set[Path]) -> None:
    """Leave in the cache only what the runtime brings compiled: the standard library and the
    runtime's own packages that the layers leave to it."""
    stdlib = {Path(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib")}

    def compiled_in_runtime(source: Path) -> bool:
        if any(root == source or root in source.parents for root in runtime):
            return True
        in_stdlib = any(root == source or root in source.parents for root in stdlib)
        return in_stdlib and "site-packages" not in source.parts

    for pyc in pycache.rglob("*.pyc"):
        if not compiled_in_runtime(Path("/") / pyc.parent.relative_to(pycache)):
            pyc.unlink()


def _top_packages(subject: _Subject, pycache: Path) -> str:
    """The packages that take most of the init in one `-X importtime` run, each by its own time."""
    report = subject.run(pycache, "-X", "importtime").stderr
    own: Counter[str] = Counter()
    for line in report.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            own[match[2].split(".")[0]] += int(match[1])
    return ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in own.most_common(TOP_PACKAGES))


def main() -> None:
    quiet()
    with tempfile.TemporaryDirectory(prefix="coldstart-") as scratch:
        subjects, runtime = _subjects(Path(scratch))
        boto3, functions = subjects[0], subjects[1:]
        caches = {"from source": Path(scratch) / "source", "bytecode": Path(scratch) / "bytecode"}
        for subject in subjects:  # untimed: fills the caches
            for cache in caches.values():
                subject.run(cache, writes=True)
        _keep_runtime_bytecode(caches["from source"], runtime)
        for _ in range(ROUNDS):
            for condition, cache in caches.items():
                for subject in subjects:
                    subject.time(condition, cache)
        for condition in caches:
            print(
                f"[coldstart] init, {condition}: median and range of {ROUNDS} fresh interpreters; "
                "the ratio to import boto3 is taken in each round; `api + GET path`: the init and "
                "the first request"
            )
            base = boto3.seconds[condition]
            print(f"[coldstart]   {boto3.name:<34} {spread(base, ' ms', 1000)}")
            for subject in functions:
                ours = subject.seconds[condition]
                ratios = [s / b for s, b in zip(ours, base, strict=True)]
                print(
                    f"[coldstart]   {subject.name:<34} {spread(ours, ' ms', 1000)}; "
                    f"{statistics.median(ratios):.1f}x import boto3 "
                    f"(range {min(ratios):.1f}-{max(ratios):.1f}x)"
                )
        print("[coldstart] most of each init, from source (-X importtime, each package by its own time):")
        for subject in functions:
            if subject.init:
                print(f"[coldstart]   {subject.name:<12} {_top_packages(subject, caches['from source'])}")


if __name__ == "__main__":
    main()
