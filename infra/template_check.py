"""Expand template.yaml with the SAM translator and check what CloudFormation will check at create time.

    python infra/template_check.py [--template template.yaml] [--expanded build/template.expanded.json]

Runs in the virtualenv that holds aws-sam-cli (its translator, YAML reader and networkx come with it);
needs no AWS account or network. It writes the expanded template (the input of checkov) and fails,
naming every resource of the loop and the reference that closes each step, when the resources'
dependency graph holds a cycle: CloudFormation refuses such a stack ("Circular dependency between
resources") whatever the linter release says. Edges are the references CloudFormation orders
resources by: Ref, Fn::GetAtt, the `${...}` names of Fn::Sub, and DependsOn.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

# Parameters that have no default need a value to translate; their values never change the graph.
PLACEHOLDERS = {"JwtIssuer": "https://issuer.example", "JwtAudience": "audience"}
# `${!Literal}` is not a reference; `${Name}` and `${Name.Attribute}` are.
SUB_NAME = re.compile(r"\$\{(?!!)([A-Za-z0-9_:]+)(?:\.[A-Za-z0-9_.]+)?\}")


class _Policies:
    """Names AWS managed policies by their ARN without asking IAM (the translator's only lookup)."""

    def load(self) -> dict[str, str]:
        return {}


# Local code folders become the S3 locations `sam package` would upload them to.
PACKAGED = {"CodeUri", "ContentUri", "DefinitionUri"}


def packaged(template: dict[str, Any]) -> dict[str, Any]:
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        for name in PACKAGED & properties.keys():
            if isinstance(properties[name], str) and not properties[name].startswith("s3://"):
                properties[name] = f"s3://packaged/{properties[name].strip('/')}"
    return template


def expand(template: dict[str, Any]) -> dict[str, Any]:
    """The template as CloudFormation receives it after `sam package` and the Serverless transform."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = packaged(template)
    return transform(template, dict(PLACEHOLDERS), _Policies(), passthrough_metadata=True)  # type: ignore[arg-type]


def references(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(name, where) for every logical name `node` refers to through Ref, Fn::GetAtt or Fn::Sub."""
    if isinstance(node, list):
        for i, child in enumerate(node):
            yield from references(child, f"{path}[{i}]")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        here = f"{path}.{key}" if path else key
        if key == "Ref" and isinstance(value, str):
            yield value, here
        elif key == "Fn::GetAtt":
            name = value[0] if isinstance(value, list) else str(value).split(".", 1)[0]
            yield name, here
        elif key == "Fn::Sub":
            text, variables = (value[0], value[1]) if isinstance(value, list) else (value, {})
            for name in SUB_NAME.findall(text if isinstance(text, str) else ""):
                if name not in variables:
                    yield name, here
            yield from references(variables, f"{here}[1]")
        else:
            yield from references(value, here)


def dependency_graph(template: dict[str, Any]) -> nx.DiGraph:
    """An edge A -> B for each resource A that CloudFormation must create after B."""
    resources: dict[str, Any] = template.get("Resources", {})
    graph = nx.DiGraph()
    graph.add_nodes_from(resources)
    for name, resource in resources.items():
        depends = resource.get("DependsOn", [])
        for target in [depends] if isinstance(depends, str) else depends:
            graph.add_edge(name, target, via="DependsOn")
        # Metadata is never resolved by CloudFormation, so it orders nothing.
        for target, where in references(resource.get("Properties", {}), "Properties"):
            if target in resources and not graph.has_edge(name, target):
                graph.add_edge(name, target, via=where)
    return graph


def cycles(graph: nx.DiGraph) -> list[list[str]]:
    """One loop for every strongly connected group of resources (a self-reference included)."""
    found = []
    for group in nx.strongly_connected_components(graph):
        if len(group) > 1 or any(graph.has_edge(n, n) for n in group):
            found.append(nx.find_cycle(graph.subgraph(group)))
    return [[a for a, _ in loop] for loop in found]


def describe(graph: nx.DiGraph, loop: list[str]) -> str:
    steps = [
        f"{a} -> {b} ({graph.edges[a, b]['via']})" for a, b in zip(loop, loop[1:] + loop[:1], strict=True)
    ]
    return "circular dependency: " + " -> ".join([*loop, loop[0]]) + "\n  " + "\n  ".join(steps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", default="template.yaml", type=Path)
    parser.add_argument("--expanded", type=Path, help="where to write the expanded template (JSON)")
    args = parser.parse_args(argv)
    expanded = expand(yaml_parse(args.template.read_text()))
    if args.expanded:
        args.expanded.parent.mkdir(parents=True, exist_ok=True)
        args.expanded.write_text(json.dumps(expanded, indent=1, sort_keys=True))
    graph = dependency_graph(expanded)
    loops = cycles(graph)
    for loop in loops:
        print(describe(graph, loop), file=sys.stderr)
    if loops:
        print(
            f"{args.template}: {len(loops)} dependency cycle(s); CloudFormation would refuse it",
            file=sys.stderr,
        )
        return 1
    print(f"{args.template}: {graph.number_of_nodes()} resources, no dependency cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
