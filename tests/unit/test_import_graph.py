"""The package's shape: no import circle (imports inside functions count too), and no module
imports from a layer above its own. Read from the source, so a change that breaks either fails
here with the modules named."""

from __future__ import annotations

import ast
import functools
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "proactive" / "proactive"

# Lowest first. A module may import from its own layer and those below it, never above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("basics", ("proactive.lib", "proactive.clock", "proactive.ids", "proactive.errors")),
    (
        "foundation",
        (
            "proactive.settings",
            "proactive.observability",
            "proactive.aws",
            "proactive.outbound",
            "proactive.sealing",
            "proactive.secret_store",
        ),
    ),
    ("analytics", ("proactive.analytics",)),
    ("models", ("proactive.models",)),
    ("store and queue", ("proactive.store", "proactive.queue")),
    ("events and context", ("proactive.events", "proactive.context")),
    ("capabilities", ()),  # everything not named elsewhere
    ("wiring", ("proactive.wiring", "proactive.dispatcher")),
    ("surfaces", ("proactive.api", "proactive.dev", "proactive.sdk")),
    # The console renders the API's answers; the command line is built on the SDK.
    ("pages and commands", ("proactive.console", "proactive.cli")),
]
CAPABILITIES = next(i for i, (name, _) in enumerate(LAYERS) if name == "capabilities")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _target(name: str) -> str | None:
    """The package module `name` is (or is in), or None outside the package."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node, those under `if TYPE_CHECKING:` left out (never run, so never a circle)."""
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        found.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return found


def _imports(module: str, path: Path) -> set[str]:
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in _nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            # `from package import module` names the module; `from module import name` the module.
            names = [f"{source}.{alias.name}" for alias in node.names] + [source]
            names = [n for n in names if n in MODULES][:1] or [source]
        else:
            continue
        for name in names:
            target = _target(name) if name.startswith("proactive") else None
            if target is not None and target != module:
                found.add(target)
    return found


@functools.cache
def graph() -> dict[str, set[str]]:
    """What each module imports (read when a test first asks: every worker collects this file)."""
    return {module: _imports(module, path) for module, path in MODULES.items()}


def layer_of(module: str) -> int:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    return CAPABILITIES


def test_the_graph_is_read_from_every_module() -> None:
    assert "proactive.monitors.checks" in graph()
    assert "proactive.events" in graph()["proactive.wiring"]
    # An import inside a function counts: the wiring imports the checks only when first used.
    assert "proactive.monitors.checks" in graph()["proactive.wiring"]


def test_no_module_imports_one_that_imports_it_back() -> None:
    try:
        tuple(TopologicalSorter(graph()).static_order())
    except CycleError as error:
        raise AssertionError("import circle: " + " -> ".join(error.args[1])) from None


def test_nothing_imports_from_a_layer_above_its_own() -> None:
    upward = sorted(
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in graph().items()
        for target in targets
        if layer_of(target) > layer_of(module)
    )
    assert upward == []


def test_events_know_no_subscriber() -> None:
    assert {t for t in graph()["proactive.events"] if layer_of(t) >= CAPABILITIES} == set()
