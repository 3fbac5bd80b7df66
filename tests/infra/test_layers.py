"""The Lambda layers against the package: what each one's requirements name, that the locks pin it,
and that the light layer holds everything its functions load (tests/infra/test_template.py builds
both layers with sam)."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from proactive.dev.local import REPO_ROOT
from tests.infra.test_template import load_template

pytestmark = pytest.mark.infra

LAYERS = REPO_ROOT / "layers"
PACKAGE_ROOT = LAYERS / "proactive"
LIGHT_FUNCTIONS = ("ingest", "dispatcher", "deadletters")
# What the light layer never holds: the API's web stack and the LLM SDKs (import names).
NOT_LIGHT = ("fastapi", "starlette", "mangum", "uvicorn", "pydantic_ai", "openai", "anthropic")
NOT_LIGHT_DISTRIBUTIONS = {
    "fastapi",
    "fastapi-offline",
    "starlette",
    "mangum",
    "uvicorn",
    "pydantic-ai-slim",
    "openai",
    "anthropic",
}
# The Lambda runtime's own packages (boto3 and what it requires), which the light layer leaves to it.
RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}


def _requirement_lines(path: Path) -> Iterator[str]:
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            yield line


def layer_requirements(layer: str) -> dict[str, Requirement]:
    reqs = [Requirement(line) for line in _requirement_lines(LAYERS / layer / "requirements.in")]
    return {canonicalize_name(r.name): r for r in reqs}


def pyproject_requirements(*extras: str) -> dict[str, Requirement]:
    """The runtime dependencies, and those of `extras` (with the extras they name of the project)."""
    project: dict[str, Any] = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    optional: dict[str, list[str]] = project["optional-dependencies"]
    lines: list[str] = list(project["dependencies"])
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for line in optional[extra]:
            req = Requirement(line)
            if canonicalize_name(req.name) == project["name"]:
                todo.extend(req.extras)
            else:
                lines.append(line)
    found: dict[str, Requirement] = {}
    for line in lines:
        req = Requirement(line)
        found.setdefault(canonicalize_name(req.name), req)
    return found


def pins(lock: Path) -> dict[str, list[tuple[Version, list[str]]]]:
    """name -> each pinned version with its hashes (a universal lock may pin one per Python)."""
    found: dict[str, list[tuple[Version, list[str]]]] = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", lock.read_text()):
        match = re.match(r"([A-Za-z0-9._-]+)==(\S+)", entry)
        if match:
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", entry)
            found.setdefault(canonicalize_name(match[1]), []).append((Version(match[2]), hashes))
    return found


def _same(a: Requirement, b: Requirement) -> bool:
    return (a.extras, a.specifier, a.marker) == (b.extras, b.specifier, b.marker)


def test_the_full_layer_requires_the_packages_runtime_dependencies() -> None:
    full = layer_requirements("full")
    runtime = pyproject_requirements()
    assert sorted(full) == sorted(runtime)
    for name, req in full.items():
        assert _same(req, runtime[name]), (
            f"{req} in layers/full/requirements.in, {runtime[name]} in pyproject"
        )


def test_the_light_layer_requires_a_subset_without_the_web_stack_or_llm_sdks() -> None:
    light = layer_requirements("light")
    runtime = pyproject_requirements()
    assert set(light) < set(runtime)
    for name, req in light.items():
        assert _same(req, runtime[name]), (
            f"{req} in layers/light/requirements.in, {runtime[name]} in pyproject"
        )
    assert not set(light) & (NOT_LIGHT_DISTRIBUTIONS | {"boto3"})


LOCKS = {
    "requirements-dev.lock": lambda: pyproject_requirements("dev"),
    "requirements-bench.lock": lambda: pyproject_requirements("dev", "bench"),
    "layers/full/requirements.lock": lambda: layer_requirements("full"),
    "layers/light/requirements.lock": lambda: layer_requirements("light"),
}


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_each_lock_pins_what_its_inputs_require_with_hashes(lock: str) -> None:
    pinned = pins(REPO_ROOT / lock)
    for name, req in LOCKS[lock]().items():
        assert name in pinned, f"{lock} pins no {name}: run `make lock`"
        versions = [version for version, _ in pinned[name]]
        assert any(req.specifier.contains(v, prereleases=True) for v in versions), (
            f"{lock} pins {name} at {versions}, outside {req.specifier}: run `make lock`"
        )
    for name, entries in pinned.items():
        assert all(hashes for _, hashes in entries), f"{lock} pins {name} without a hash"


def test_the_layer_locks_ship_boto3_in_the_full_layer_only() -> None:
    full = pins(LAYERS / "full" / "requirements.lock")
    light = pins(LAYERS / "light" / "requirements.lock")
    # pydantic-ai's Bedrock provider needs a more recent boto3 than the runtime may have: the full
    # layer brings its own; the light one takes the runtime's.
    assert {"boto3", "botocore", "s3transfer"} <= set(full)
    assert not set(light) & {"boto3", "botocore", "s3transfer", "urllib3"}
    assert not set(light) & NOT_LIGHT_DISTRIBUTIONS


# -- the light layer holds what its functions load -----------------------------------------------------

# Run in a fresh interpreter: only the light layer's distributions (and the runtime's) can be
# imported, as in Lambda; the handler loads, then what it loads on first use (the event
# subscribers, when a run finishes or an occurrence is missed; the tracer).
PROBE = """
import importlib.util, json, re, sys
from importlib.metadata import packages_distributions
allowed, refused, function = json.loads(sys.argv[1])
provided = {top for top, dists in packages_distributions().items()
            if any(re.sub(r"[-_.]+", "-", d).lower() in allowed for d in dists)}

class Refuse:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in refused or not (top in provided or top in sys.stdlib_module_names
                                  or top in ("proactive", "handler") or top.startswith("_sysconfigdata")):
            raise ModuleNotFoundError(f"No module named {name!r} (not in the light layer)", name=name)
        return None

sys.meta_path.insert(0, Refuse())
spec = importlib.util.spec_from_file_location("handler", f"functions/{function}/handler.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
at_import = sorted({m.partition(".")[0] for m in sys.modules})
from proactive import wiring
from proactive.observability import tracer
wiring.bus()
tracer()
print(json.dumps({"at_import": at_import, "later": sorted({m.partition(".")[0] for m in sys.modules})}))
"""


def light_layer_distributions() -> set[str]:
    return set(pins(LAYERS / "light" / "requirements.lock")) | RUNTIME


@pytest.mark.parametrize("function", LIGHT_FUNCTIONS)
def test_light_functions_load_with_the_light_layer_alone(function: str) -> None:
    allowed = sorted(light_layer_distributions())
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([allowed, NOT_LIGHT, function])],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.splitlines()[-1])
    # The cold start loads no numpy either; the goal loop's modules bring it when an event comes.
    assert "numpy" not in loaded["at_import"]
    assert not set(loaded["later"]) & set(NOT_LIGHT)


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(path: Path, module: str) -> Iterator[str]:
    """Every module named by an import in `path` (in functions too, not under TYPE_CHECKING)."""
    todo: list[ast.AST] = [ast.parse(path.read_text())]
    while todo:
        node = todo.pop()
        if _type_checking_only(node):
            continue
        todo.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: len(module.split(".")) - node.level]
                if path.name == "__init__.py":
                    package = module.split(".")[: len(package) + 1]
                base = ".".join([*package, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def third_party_reached(handler: Path) -> dict[str, str]:
    """The third-party top-level modules that any module `handler` can reach imports anywhere
    (every import statement, run or not), each with one module that imports it."""
    files = {}
    for path in (PACKAGE_ROOT / "proactive").rglob("*.py"):
        parts = path.relative_to(PACKAGE_ROOT).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    found: dict[str, str] = {}
    todo, seen = [("handler", handler)], set()
    while todo:
        module, path = todo.pop()
        for name in _imports(path, module):
            top = name.partition(".")[0]
            if top == "proactive":
                parts = name.split(".")
                for i in range(1, len(parts) + 1):
                    reached = ".".join(parts[:i])
                    if reached in files and reached not in seen:
                        seen.add(reached)
                        todo.append((reached, files[reached]))
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.setdefault(top, module)
    return found


@pytest.mark.parametrize("function", LIGHT_FUNCTIONS)
def test_every_import_a_light_function_can_reach_is_in_the_light_layer(function: str) -> None:
    allowed = light_layer_distributions()
    distributions = packages_distributions()
    reached = third_party_reached(REPO_ROOT / "functions" / function / "handler.py")
    missing = {
        top: module
        for top, module in reached.items()
        if not {canonicalize_name(d) for d in distributions.get(top, [])} & allowed
    }
    assert not missing, f"imported by the {function} function's modules but not in the light layer: {missing}"


def test_each_function_has_the_layer_its_code_needs() -> None:
    for name, resource in load_template()["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        code = Path(resource["Properties"]["CodeUri"]).name
        layers = [layer for layer in resource["Properties"].get("Layers", []) if isinstance(layer, dict)]
        wanted = "LightLayer" if code in LIGHT_FUNCTIONS else "FullLayer"
        assert {"Ref": wanted} in layers, f"{name} runs with {wanted}"
        assert [layer for layer in layers if "Ref" in layer] == [{"Ref": wanted}], f"{name}: only {wanted}"
