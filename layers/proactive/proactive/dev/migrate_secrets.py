"""Give each workspace its own copy of the secrets its resources named when every secret was read
from one namespace shared by all workspaces, so that what worked for a workspace keeps working.

For each resource (agent, monitor, channel, goal-loop action) of workspace W that names secret N
(`workspace_secrets.references`), when W has no secret N yet and the old namespace holds N, N's
value is copied to W's secrets and W's list of secrets. Left alone: names of platform secrets
(the SMTP password's, SMTP_PASSWORD_SECRET, and any given with --platform or --exclude), which a
workspace may never read, and names SHARED_SECRETS grants every workspace. What is done, and why
anything is not, is printed by name and workspace, never with a value.

Locally the old namespace is the environment (PROACTIVE_SECRET_<NAME>): the local stack runs
`from_environment` at each start. In AWS it is Parameter Store under the old prefix:

    python -m proactive.dev.migrate_secrets --table T --stage S [--from /proactive/S/secrets/]
        [--prefix /proactive/S/] [--platform smtp-password] [--exclude NAME] [--dry-run]

`--platform NAME` also copies `<from>NAME` to the platform's own path, `<prefix>platform/NAME`
(unless something is there already). It runs with the operator's credentials: it reads the table
(Scan, GetItem), writes secrets' items (PutItem, UpdateItem), and reads and writes Parameter Store.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from proactive.store.secrets import Secrets
from proactive.store.table import Table
from proactive.store.values import plain
from proactive.workspace_secrets import KINDS, references

Reader = Callable[[str], str | None]
Writer = Callable[[str, str, str], None]


@dataclass
class Outcome:
    """What became of one secret name one workspace's resources named."""

    workspace_id: str
    name: str
    users: list[str] = field(default_factory=list)  # "<kind> <id> (<name>)"
    status: str = ""  # copied, would copy, set already, not found, platform secret, shared
    others: int = 0  # how many other workspaces name it too

    def line(self) -> str:
        also = f"; also named in {self.others} other workspace(s)" if self.others else ""
        used = ", ".join(self.users[:5]) + (" ..." if len(self.users) > 5 else "")
        return f"{self.status:<16} {self.name} for workspace {self.workspace_id} (used by {used}{also})"


def named_secrets(table: Table) -> dict[tuple[str, str], list[str]]:
    """(workspace, secret name) -> who names it, for every resource in the table."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    values = {f":k{i}": {"S": kind} for i, kind in enumerate(KINDS)}
    found: dict[tuple[str, str], list[str]] = {}
    for page in table.client.get_paginator("scan").paginate(
        TableName=table.name,
        FilterExpression=f"#kind IN ({', '.join(values)})",
        ExpressionAttributeNames={"#kind": "kind"},
        ExpressionAttributeValues=values,
    ):
        for raw in page.get("Items", []):
            item: dict[str, Any] = {k: plain(deserializer.deserialize(v)) for k, v in raw.items()}
            for name, _ in references(str(item["kind"]), item):
                user = f"{item['kind']} {item.get('id')} ({item.get('name') or ''})"
                found.setdefault((str(item.get("workspace_id") or ""), name), []).append(user)
    return found


def migrate(
    table: Table,
    read_old: Reader,
    write: Writer,
    now: datetime,
    *,
    left_alone: Collection[str] = (),
    shared: Collection[str] = (),
    dry_run: bool = False,
) -> list[Outcome]:
    """Copy each named secret a workspace lacks from the old namespace (`read_old(name)`) with
    `write(workspace, name, value)`, recording it in the workspace's list of secrets first (so
    that a value is never there unlisted). Names in `left_alone` (platform secrets) and `shared`
    (granted by SHARED_SECRETS) are not copied. Returns what became of each (workspace, name)."""
    from proactive.clock import iso

    secrets = Secrets(table)
    named = named_secrets(table)
    workspaces_naming: dict[str, int] = {}
    for _, name in named:
        workspaces_naming[name] = workspaces_naming.get(name, 0) + 1
    outcomes = []
    for (workspace, name), users in sorted(named.items()):
        outcome = Outcome(workspace, name, users, others=workspaces_naming[name] - 1)
        outcomes.append(outcome)
        if name in left_alone:
            outcome.status = "platform secret"
        elif name in shared:
            outcome.status = "shared"
        elif secrets.get(workspace, name) is not None:
            outcome.status = "set already"
        else:
            value = read_old(name)
            if value is None:
                outcome.status = "not found"
            elif dry_run:
                outcome.status = "would copy"
            else:
                secrets.record(workspace, name, iso(now))
                write(workspace, name, value)
                outcome.status = "copied"
    return outcomes


def from_environment(table: Table, now: datetime) -> list[Outcome]:
    """The local stack's migration: PROACTIVE_SECRET_<NAME> -> the workspaces that name NAME (in
    the secrets file), leaving the SMTP password and SHARED_SECRETS' names alone."""
    from proactive import secret_store
    from proactive.settings import get_settings, shared_secret_pairs

    settings = get_settings()
    platform = {os.environ["SMTP_PASSWORD_SECRET"]} if os.environ.get("SMTP_PASSWORD_SECRET") else set()
    return migrate(
        table,
        lambda name: os.environ.get(secret_store.env_name(name)),
        secret_store.put,
        now,
        left_alone=platform,
        shared=set(shared_secret_pairs(settings.shared_secrets)),
    )


def _ssm_reader(client: Any, prefix: str) -> Reader:
    def read(name: str) -> str | None:
        try:
            return str(
                client.get_parameter(Name=f"{prefix}{name}", WithDecryption=True)["Parameter"]["Value"]
            )
        except client.exceptions.ParameterNotFound:
            return None

    return read


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m proactive.dev.migrate_secrets",
        description="Copy the secrets each workspace's resources name from the old shared Parameter Store "
        "path to the workspace's own path.",
    )
    parser.add_argument("--table", required=True, help="The stack's table name.")
    parser.add_argument(
        "--stage", required=True, help="The stack's stage (its paths are /proactive/<stage>/...)."
    )
    parser.add_argument("--from", dest="source", help="The old prefix (default /proactive/<stage>/secrets/).")
    parser.add_argument("--prefix", help="SECRETS_PREFIX of the stack now (default /proactive/<stage>/).")
    parser.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="NAME",
        help="A platform secret (the SMTP password's name): copied to <prefix>platform/NAME, never to a "
        "workspace. Repeat for each.",
    )
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="NAME", help="A name never to copy to workspaces."
    )
    parser.add_argument(
        "--shared", action="append", default=[], metavar="ALIAS", help="A SHARED_SECRETS alias."
    )
    parser.add_argument("--region", help="The stack's region (default: the AWS configuration's).")
    parser.add_argument("--dry-run", action="store_true", help="Print what would be copied; copy nothing.")
    args = parser.parse_args(argv)

    import boto3

    from proactive import secret_store
    from proactive.clock import utcnow

    source = args.source or f"/proactive/{args.stage}/secrets/"
    prefix = args.prefix or f"/proactive/{args.stage}/"
    for given, what in ((source, "--from"), (prefix, "--prefix")):
        if not (given.startswith("/") and given.endswith("/")):
            parser.error(f"{what} must start and end with '/'")
    session = boto3.Session(region_name=args.region)
    ssm = session.client("ssm")
    read_old = _ssm_reader(ssm, source)
    platform = set(args.platform)
    copies = 0
    for name in sorted(platform):
        target = secret_store.platform_path(prefix, name)
        if _ssm_reader(ssm, "")(target) is not None:
            print(f"{'set already':<16} platform secret {name} ({target})")
            continue
        value = read_old(name)
        if value is None:
            print(f"{'not found':<16} platform secret {name} ({source}{name})")
        elif args.dry_run:
            print(f"{'would copy':<16} platform secret {name} to {target}")
        else:
            secret_store.put_parameter(ssm, target, value, name)
            copies += 1
            print(f"{'copied':<16} platform secret {name} to {target}")

    def write(workspace: str, name: str, value: str) -> None:
        secret_store.put_parameter(ssm, secret_store.workspace_path(prefix, workspace, name), value, name)

    table = Table(args.table, session.client("dynamodb"))
    outcomes = migrate(
        table,
        read_old,
        write,
        utcnow(),
        left_alone=platform | set(args.exclude),
        shared=set(args.shared),
        dry_run=args.dry_run,
    )
    for outcome in outcomes:
        print(outcome.line())
    copies += sum(o.status == "copied" for o in outcomes)
    print(
        f"{copies} secret(s) copied{' (dry run: none)' if args.dry_run else ''}; each one named in several "
        "workspaces was one secret shared by all of them: check that each of them should have it.",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
