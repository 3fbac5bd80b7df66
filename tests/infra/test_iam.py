"""Each function's IAM policy in template.yaml against the AWS calls its code makes.

The flows below drive every handler on moto, as the integration tests do, while
`tests.awscalls.Recorder` notes each AWS API call and the function whose code made it. Each call
is turned into the IAM requests (action, resource ARN) it amounts to. Then, for every function:

- each request it made, and each one its code makes on a path the flows do not reach
  (`UNREACHED`, with the code that makes it), is allowed by its policy statements;
- each action its statements grant on each resource (DynamoDB, SQS, Step Functions, SSM, SES,
  Bedrock, Lambda) is needed by one of those requests;
- `Resource: "*"` appears only for actions that have no resource in IAM.

The policies must be explicit statements (`- Statement: [...]`), not SAM policy templates or
managed policies, so that they can be read here without the SAM translator. Their intrinsic
functions are resolved in this test's world: stack `proactive`, moto's account and region, the
moto table, queues and state machine, `BedrockModelArns` naming the fake model. IAM policies
attached to a function's role (`<function>Role`) count as its own. Conditions in statements are
not evaluated. Of what SAM adds by itself, the test counts `AWSLambdaSQSQueueExecutionRole` for an
SQS event source (the event source mapping polls with the function's role); logs, X-Ray
(`Tracing: Active`) and event invoke destinations are left to SAM.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from fastapi.testclient import TestClient

from proactive import secret_store
from proactive.auth import issue_local_token
from proactive.clock import iso, utcnow
from proactive.dev import state_machine
from proactive.dev.local import LocalContext, http_api_event, load_handler, sqs_event
from proactive.models.runs import RunRecord, SourceType
from proactive.queue import RunQueue, run_message
from proactive.runs.records import new_run
from proactive.settings import get_settings
from proactive.store import Store
from proactive.store.entities import field_of
from proactive.store.keys import INDEX_KEYS
from tests.awscalls import ACCOUNT, Recorder, serve_as
from tests.fakes import BedrockConverseServer, ToolCall, call_tool, call_tools, say
from tests.infra.test_template import load_template
from tests.integration.conftest import Aws, Handlers
from tests.mockaws import mocked_aws
from tests.quotes import running_quote

pytestmark = pytest.mark.infra

REGION = "us-east-1"
STACK = "proactive"  # so that `${AWS::StackName}-goal-loop` is the moto state machine's name
QUEUE = "proactive-runs"
MODEL = "house-model-1"
# Parameters a policy names, as a deployment of this world gives them (not their defaults).
PARAMETERS: dict[str, Any] = {
    "BedrockModelArns": [f"arn:aws:bedrock:{REGION}::foundation-model/{MODEL}"],
}
# Services whose grants must each be needed (logs, X-Ray and KMS are left to the reader).
CHECKED = ("dynamodb", "sqs", "states", "ssm", "ses", "bedrock", "lambda")
# Actions IAM authorizes on no resource: Resource "*" is the only way to grant them.
NO_RESOURCE = frozenset({"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"})
# DynamoDB actions that can name an index (the others only act on the table's items).
ON_INDEXES = frozenset({"dynamodb:Query", "dynamodb:Scan"})
# API operations that are no IAM action: IAM authorizes a transaction's items one by one.
NOT_ACTIONS = {
    "dynamodb:transactwriteitems": "authorized as its items' PutItem, UpdateItem, DeleteItem and "
    "ConditionCheckItem",
    "dynamodb:transactgetitems": "authorized as its items' GetItem",
    "sqs:sendmessagebatch": "authorized as sqs:SendMessage",
    "bedrock:converse": "authorized as bedrock:InvokeModel",
    "bedrock:conversestream": "authorized as bedrock:InvokeModelWithResponseStream",
}

# What each function's code can ask for on paths the flows below do not reach, with the code
# that asks. Resources are named as `World.arn` knows them.
UNREACHED: dict[str, list[tuple[str, str, str]]] = {
    "api": [
        # A workspace's secrets set and deleted through /api/secrets (the flows set theirs beforehand).
        ("ssm:PutParameter", "secret", "proactive/workspace_secrets.py put_secret -> secret_store.put"),
        (
            "ssm:DeleteParameter",
            "secret",
            "proactive/workspace_secrets.py delete_secret -> secret_store.delete",
        ),
        # A test email through SMTP reads the platform's password; a shared key granted to every
        # workspace is read from the platform's path.
        ("ssm:GetParameter", "platform-secret", "proactive/notifications/send.py smtp -> resolve_platform"),
    ],
    "stream": [
        # An agent's secrets: an llm agent's API key (OpenAI, Anthropic; the flows use Bedrock),
        # an http agent's header secrets: agents/runtimes/llm.py, http.py -> secret_store.resolve.
        ("ssm:GetParameter", "secret", "proactive/agents/runtimes/llm.py, http.py -> secret_store.resolve"),
        # A key the operator grants every workspace (SHARED_SECRETS) is read from the platform's path.
        (
            "ssm:GetParameter",
            "platform-secret",
            "proactive/secret_store.py resolve -> resolve_platform (SHARED_SECRETS)",
        ),
    ],
    "ingest": [],
    "dispatcher": [],
    "worker": [
        # The SQS event source mapping receives and deletes with the function's role.
        ("sqs:ReceiveMessage", "run-queue", "template.yaml WorkerFunction Events.Runs"),
        ("sqs:DeleteMessage", "run-queue", "template.yaml WorkerFunction Events.Runs"),
        ("sqs:GetQueueAttributes", "run-queue", "template.yaml WorkerFunction Events.Runs"),
        # A goal action's run that failed for good ends the execution's wait with a failure.
        (
            "states:SendTaskFailure",
            "*",
            "proactive/loop/action_execution.py _run_done -> loop/machine.py fail",
        ),
        # Email through SMTP reads the platform's password; SHARED_SECRETS grants read that path too.
        ("ssm:GetParameter", "platform-secret", "proactive/notifications/send.py smtp -> resolve_platform"),
    ],
    "goalloop": [
        # An http action's header secrets.
        ("ssm:GetParameter", "secret", "proactive/loop/action_execution.py call -> agents/runtimes/http.py"),
        # A key the operator grants every workspace (SHARED_SECRETS) is read from the platform's path.
        (
            "ssm:GetParameter",
            "platform-secret",
            "proactive/secret_store.py resolve -> resolve_platform (SHARED_SECRETS)",
        ),
        # A retried execute step finds its run finished already, or the queue refuses the run.
        ("states:SendTaskSuccess", "*", "proactive/loop/action_execution.py start_run -> _run_done"),
        ("states:SendTaskFailure", "*", "proactive/loop/action_execution.py start_run -> _run_done"),
        # An approval or a run waited for in vain (timed out, rejected): its token is dropped.
        (
            "dynamodb:DeleteItem",
            "table",
            "proactive/loop/acting.py -> store/goal_actions.py TaskTokens.discard",
        ),
        # The queue refuses an action's run: the run fails at once, which fires event triggers.
        ("dynamodb:Query", "index/GSI2", "proactive/runs/records.py enqueue_new -> finish -> triggers.chain"),
    ],
    "deadletters": [
        # The SQS event source mapping receives and deletes with the function's role.
        ("sqs:ReceiveMessage", "dlq", "template.yaml DeadLetterFunction Events.DeadLetters"),
        ("sqs:DeleteMessage", "dlq", "template.yaml DeadLetterFunction Events.DeadLetters"),
        ("sqs:GetQueueAttributes", "dlq", "template.yaml DeadLetterFunction Events.DeadLetters"),
    ],
}


# The template's policies, resolved in this test's world ------------------------------------------


@dataclass(frozen=True)
class World:
    """The names the template's references resolve to here."""

    table: str
    queue_url: str
    dlq_url: str
    secrets_prefix: str
    email_from: str

    @staticmethod
    def queue_arn(url: str) -> str:
        """A queue's ARN from its URL (the URL's last part is the queue's name)."""
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rstrip('/').rsplit('/', 1)[-1]}"

    @property
    def table_arn(self) -> str:
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.table}"

    @property
    def state_machine_arn(self) -> str:
        return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{state_machine.STATE_MACHINE_NAME}"

    def arn(self, name: str) -> str:
        """The ARN `UNREACHED` names as `table`, `index/<name>`, `run-queue`, `dlq`, `secret`,
        `platform-secret`, `identity`, `model`, or `*`."""
        if name.startswith("index/"):
            return f"{self.table_arn}/{name}"
        named = {
            "table": self.table_arn,
            "run-queue": self.queue_arn(self.queue_url),
            "dlq": self.queue_arn(self.dlq_url),
            "secret": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
            + secret_store.workspace_path(self.secrets_prefix, "ws-1", "some-secret"),
            "platform-secret": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
            + f"{self.secrets_prefix}platform/some-secret",
            "identity": f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{self.email_from}",
            "model": f"arn:aws:bedrock:{REGION}::foundation-model/{MODEL}",
            "*": "*",
        }
        return named[name]


class Resolver:
    """CloudFormation's intrinsic functions over the template, as far as policies use them."""

    def __init__(self, template: dict[str, Any], world: World | None) -> None:
        self.template = template
        self.world = world

    def parameter(self, name: str) -> Any:
        """A pseudo parameter's or a template parameter's value; None for any other name."""
        pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": STACK,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        declared = self.template.get("Parameters", {}).get(name)
        if declared is None:
            return None
        if name in PARAMETERS:
            return PARAMETERS[name]
        value = declared.get("Default", f"<{name}>")
        if "List" in str(declared.get("Type", "")):
            return [v.strip() for v in str(value).split(",")]
        return value

    def ref(self, name: str) -> Any:
        """`!Ref name`: a parameter's value, or the resource's name, URL or ARN as CloudFormation gives it."""
        found = self.parameter(name)
        if found is not None:
            return found
        return self.attribute(name, None)

    def attribute(self, logical: str, attribute: str | None) -> Any:
        """`!GetAtt logical.attribute` (`!Ref logical` with None) of the resources policies name."""
        world = self.world
        if world is None:
            return f"<{logical}.{attribute or 'Ref'}>"
        resource = self.template["Resources"].get(logical, {})
        queues = {"RunQueue": world.queue_url, "RunDeadLetterQueue": world.dlq_url}
        if logical == "Table":
            return {None: world.table, "Arn": world.table_arn}[attribute]
        if logical in queues:
            url = queues[logical]
            return {None: url, "Arn": world.queue_arn(url), "QueueName": url.rsplit("/", 1)[-1]}[attribute]
        if logical == "GoalLoopStateMachine":
            return {None: world.state_machine_arn, "Arn": world.state_machine_arn}.get(
                attribute, state_machine.STATE_MACHINE_NAME
            )
        if resource.get("Type") == "AWS::Serverless::Function":
            name = self.value(resource["Properties"].get("FunctionName") or f"{STACK}-{logical}")
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            return {None: name, "Arn": arn}[attribute]
        return f"<{logical}.{attribute or 'Ref'}>"

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        """`!Sub`: `${Name}`, `${Name.Attribute}` and `${!Literal}` replaced."""

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.value(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                logical, attribute = name.split(".", 1)
                return str(self.attribute(logical, attribute))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def value(self, node: Any) -> Any:
        """`node` with its intrinsic functions (short or long form) worked out."""
        if isinstance(node, list):
            return [self.value(n) for n in node]
        if not isinstance(node, dict) or len(node) != 1:
            return node
        ((name, argument),) = node.items()
        name = name.removeprefix("Fn::")
        if name == "Ref":
            return self.ref(argument)
        if name == "GetAtt":
            logical, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self.attribute(logical, attribute)
        if name == "Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return self.sub(text, variables)
        if name == "Join":
            separator, items = argument
            return separator.join(str(i) for i in self.value(items))
        return node


@dataclass(frozen=True)
class Statement:
    """One policy statement, its intrinsic functions resolved."""

    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    implicit: bool = False  # added by SAM, not written in the template


class NotExplicit(Exception):
    """A policy the test cannot read: a SAM policy template, or a managed policy by name."""


def _strings(value: Any) -> tuple[str, ...]:
    """An Action or Resource value (a string, a list, lists from list parameters) as strings."""
    if isinstance(value, list):
        return tuple(s for v in value for s in _strings(v))
    return (str(value),)


def function_dirs(template: dict[str, Any]) -> dict[str, str]:
    """functions/<dir> -> the logical id of the function built from it."""
    out = {}
    for logical, resource in template["Resources"].items():
        if resource.get("Type") == "AWS::Serverless::Function":
            out[str(resource["Properties"]["CodeUri"]).strip("/").rsplit("/", 1)[-1]] = logical
    return out


def _attached(template: dict[str, Any], logical: str) -> list[Any]:
    """Policy documents of IAM policy resources attached to the role SAM makes for the function
    (`<logical id>Role`), such as a grant kept apart to avoid a circular reference."""
    role = {"Ref": f"{logical}Role"}
    return [
        resource["Properties"]["PolicyDocument"]
        for resource in template["Resources"].values()
        if resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        and role in (resource["Properties"].get("Roles") or [])
    ]


# What AWSLambdaSQSQueueExecutionRole grants; SAM attaches it to a function with an SQS event.
SQS_EVENT_SOURCE = Statement(
    "Allow", ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"), ("*",), implicit=True
)


def statements(template: dict[str, Any], logical: str, resolver: Resolver) -> list[Statement]:
    """The function's policy statements, resolved: its `Policies`, the IAM policies attached to its
    role, and what SAM attaches for its events. NotExplicit for any other kind of policy."""
    properties = template["Resources"][logical]["Properties"]
    events = (properties.get("Events") or {}).values()
    implicit = [SQS_EVENT_SOURCE] if any(e.get("Type") == "SQS" for e in events) else []
    policies = properties.get("Policies") or []
    if not isinstance(policies, list):
        policies = [policies]
    out = list(implicit)
    for policy in [*policies, *_attached(template, logical)]:
        if not (
            isinstance(policy, dict) and "Statement" in policy and set(policy) <= {"Statement", "Version"}
        ):
            raise NotExplicit(f"{logical} has a policy that is not explicit statements: {policy!r}")
        found = policy["Statement"]
        for statement in found if isinstance(found, list) else [found]:
            if "NotAction" in statement or "NotResource" in statement:
                raise NotExplicit(f"{logical}: NotAction and NotResource are not read here: {statement!r}")
            out.append(
                Statement(
                    effect=statement["Effect"],
                    actions=_strings(statement["Action"]),
                    resources=_strings(resolver.value(statement["Resource"])),
                )
            )
    return out


def _pattern(text: str, *, case: bool) -> re.Pattern[str]:
    """An IAM pattern as a regular expression."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(f"^{body}$", 0 if case else re.IGNORECASE)


def matches(pattern: str, value: str, *, case: bool = True) -> bool:
    """IAM's wildcards: `*` any run of characters, `?` any one (actions ignore case)."""
    return bool(_pattern(pattern, case=case).match(value))


def allowed(found: list[Statement], action: str, arn: str) -> bool:
    """IAM's evaluation, without conditions: some Allow matches and no Deny does."""

    def hits(statement: Statement) -> bool:
        return any(matches(a, action, case=False) for a in statement.actions) and any(
            matches(r, arn) for r in statement.resources
        )

    return any(s.effect == "Allow" and hits(s) for s in found) and not any(
        s.effect == "Deny" and hits(s) for s in found
    )


# The flows -----------------------------------------------------------------------------------------


def _token(*workspaces: str) -> str:
    """A bearer token for the workspaces (AUTH_MODE=local, as in the integration tests)."""
    return issue_local_token(workspaces, secret=os.environ["LOCAL_JWT_SECRET"], subject="tester")


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    """The response's JSON body, once its status is the one expected."""
    assert response.status_code == status, response.text
    return dict(response.json()) if response.content else {}


def _wait(check: Callable[[], Any], timeout: float = 30) -> Any:
    """What `check` returns once it returns something (the state machine runs in other threads)."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


def _goal_action(aws: Aws, goal_action_id: str, status: str, purpose: str) -> None:
    """A goal action waiting (for `purpose`) on a task token no execution holds: Step Functions
    answers that the token is invalid, which the code takes as the wait being over."""
    now = utcnow()
    aws.store.goal_actions.create(
        {
            "id": goal_action_id,
            "workspace_id": "ws-1",
            "goal_id": "goal_iam",
            "analysis_id": "analysis_iam",
            "action_id": "action_iam",
            "action_name": "scale out",
            "action_kind": "agent",
            "status": status,
            "plan": {"strategy": "IMMEDIATE", "reason": "set up by the test"},
            "created_at": iso(now),
            "timeline": [],
        }
    )
    aws.store.task_tokens.put(goal_action_id, purpose, f"token-{goal_action_id}", now + timedelta(hours=1))


def _goal_run(aws: Aws, agent_id: str, goal_action_id: str) -> RunRecord:
    """A goal action's run (stored, not queued), its execution waiting for it to finish."""
    _goal_action(aws, goal_action_id, "executing", "execution")
    run = new_run(
        workspace_id="ws-1",
        agent_id=agent_id,
        task="Add capacity",
        source_type=SourceType.GOAL,
        source_id="goal_iam",
        now=utcnow(),
        goal_action_id=goal_action_id,
    )
    aws.store.runs.create(run)
    return run


@dataclass
class Made:
    """What the flows set up through the API and use later."""

    reporter: str
    analyst: str
    email: str
    conversation: str


def _set_up(client: TestClient, bedrock: Any, world: World) -> Made:
    """A workspace told of everything by email (SES), a builtin agent, an llm agent on Bedrock (the
    fake) with tools, runs chained to conversation turns and to failed goal runs, and secrets."""
    boto3.client("ses").verify_email_identity(EmailAddress=world.email_from)
    ssm = boto3.client("ssm")
    for name in ("api-quote-key", "worker-quote-key"):
        path = secret_store.workspace_path(world.secrets_prefix, "ws-1", name)
        ssm.put_parameter(Name=path, Value="k-123", Type="SecureString")
    channel = {"workspace_id": "ws-1", "name": "ops", "type": "email", "config": {"to": ["ops@example.com"]}}
    email = _ok(client.post("/api/notifications/channels", json=channel), 201)["id"]
    _ok(client.put("/api/workspace/settings", json={"workspace_id": "ws-1", "default_channels": [email]}))
    reporter = _ok(client.post("/api/agents", json={"workspace_id": "ws-1", "name": "reporter"}), 201)["id"]
    config = {
        "provider": "bedrock",
        "model": MODEL,
        "endpoint_url": bedrock.base_url,
        "tools": ["recent_runs", "notify"],
    }
    analyst = _ok(
        client.post(
            "/api/agents",
            json={"workspace_id": "ws-1", "name": "analyst", "runtime": "llm", "config": config},
        ),
        201,
    )["id"]
    for event, source in (("run.succeeded", "conversation"), ("run.failed", "goal")):
        trigger = {
            "name": f"after {source}",
            "workspace_id": "ws-1",
            "trigger_type": "event",
            "config": {"event": event, "source_type": source},
            "agent_id": reporter,
            "task_template": "Follow up on run {run_id}",
        }
        _ok(client.post("/api/proactive/triggers", json=trigger), 201)
    made = {"workspace_id": "ws-1", "agent_id": analyst}
    conversation = _ok(client.post("/conversations", json=made), 201)["id"]
    return Made(reporter=reporter, analyst=analyst, email=email, conversation=conversation)


def _monitor(client: TestClient, agent_id: str, url: str, secret: str) -> dict[str, Any]:
    """A monitor whose source needs a secret (Parameter Store)."""
    source = {
        "type": "http",
        "url": url,
        "select": "data.price",
        "headers": {"Authorization": {"secret": secret, "prefix": "Bearer "}},
    }
    body = {
        "name": f"quote {secret}",
        "agent_id": agent_id,
        "workspace_id": "ws-1",
        "source": source,
        "condition": "value > 100",
        "action": "Price {value}",
        "check_interval": 60,
    }
    return _ok(client.post("/api/proactive/monitors", json=body), 201)


def _api(client: TestClient, handlers: Handlers, aws: Aws, bedrock: Any, made: Made, quote_url: str) -> None:
    """The API's main flows, and the worker taking what they queue."""
    _ok(client.post("/api/notifications/test", json={"channel_id": made.email}))  # SES, from the API
    spare = _ok(client.post("/api/agents", json={"workspace_id": "ws-1", "name": "spare"}), 201)
    _ok(client.delete(f"/api/agents/{spare['id']}"), 204)
    body = {"workspace_id": "ws-1", "agent_id": made.reporter, "task": "go"}
    run = _ok(client.post("/api/runs", json=body), 202)
    _ok(client.get("/api/runs"))
    _ok(client.get("/api/runs", params={"source_type": "manual", "source_id": run["source_id"]}))
    # One request through the function's own handler (Mangum), as API Gateway sends it.
    headers = {"authorization": f"Bearer {_token('ws-1')}"}
    event = http_api_event("GET", f"/api/runs/{run['id']}", headers, b"")
    assert handlers.api.handler(event, LocalContext("ApiFunction"))["statusCode"] == 200
    # A conversation's turn answered whole, and one streamed (the HTTP API buffers it whole).
    for stream in (False, True):
        sent = client.post(
            f"/conversations/{made.conversation}/messages", json={"message": "hi", "stream": stream}
        )
        assert sent.status_code == 200, sent.text
    # A deep research conversation, whose turns the worker takes: the model reads the recent runs.
    research = {"workspace_id": "ws-1", "agent_id": made.analyst, "pattern_type": "deep_research"}
    deep = _ok(client.post("/conversations", json=research), 201)
    bedrock.script(call_tool("recent_runs", {"limit": 3}), say("Found them."))
    _ok(client.post(f"/conversations/{deep['id']}/messages", json={"message": "dig"}), 202)
    # "Check now" reads the monitor's source with its secret.
    checked = _monitor(client, made.reporter, quote_url, "api-quote-key")
    assert _ok(client.post(f"/api/proactive/monitors/{checked['id']}/check"))["fired"]
    # An approval decided: rejected (a token no execution holds).
    _goal_action(aws, "goalaction_iam_reject", "awaiting_approval", "approval")
    _ok(client.post("/api/autonomous/approvals/goalaction_iam_reject/reject"))
    handlers.drain()


def _stream(stream: TestClient, bedrock: Any, made: Made) -> None:
    """The stream function's app: a streamed turn whose model calls both tools, then answers."""
    calls = call_tools(
        ToolCall("recent_runs", {"limit": 3}),
        ToolCall("notify", {"channel_id": made.email, "message": "Look"}),
    )
    bedrock.script(calls, say("Done."))
    sent = stream.post(
        f"/conversations/{made.conversation}/messages", json={"message": "more", "stream": True}
    )
    assert sent.status_code == 200, sent.text
    assert "event: message" in sent.text, sent.text


def _ingest(client: TestClient, handlers: Handlers, made: Made) -> None:
    """A signed delivery accepted, an unsigned one logged, and one the queue refuses forgotten."""
    trigger = _ok(
        client.post(
            "/api/proactive/triggers",
            json={
                "name": "pushes",
                "workspace_id": "ws-1",
                "trigger_type": "github",
                "config": {"repository": "owner/repo", "event": "push"},
                "agent_id": made.reporter,
                "task_template": "Look at {repository}",
            },
        ),
        201,
    )
    webhook = {
        "workspace_id": "ws-1",
        "name": "github",
        "trigger_id": trigger["id"],
        "signature_scheme": "github",
    }
    hook = _ok(client.post("/api/proactive/webhooks", json=webhook), 201)
    body = json.dumps({"repository": {"full_name": "owner/repo"}, "ref": "refs/heads/main"}).encode()

    def headers(delivery: str) -> dict[str, str]:
        digest = hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
        return {
            "X-Hub-Signature-256": f"sha256={digest}",
            "X-GitHub-Delivery": delivery,
            "X-GitHub-Event": "push",
            "Content-Type": "application/json",
        }

    assert handlers.post_hook(hook["url_path"], body, headers("d-1"))[0] == 202
    assert handlers.post_hook(hook["url_path"], body, {"Content-Type": "application/json"})[0] == 401
    with Stubber(handlers.ingest.queue._sqs) as refused:  # SQS refuses the next send once
        refused.add_client_error("send_message_batch", "ServiceUnavailable", http_status_code=503)
        assert handlers.post_hook(hook["url_path"], body, headers("d-2"))[0] == 503
    handlers.drain()


def _goal_loop(client: TestClient, handlers: Handlers, made: Made) -> None:
    """An analysis by the state machine plans an action needing approval; the API approves it;
    the action's run goes through the worker, which ends the execution's wait."""
    now = utcnow()
    # An hour of CPU climbing from 60% to 79%: the forecast crosses 80 soon, so the goal loop
    # plans an action at once (as tests/integration/test_loop_execution.py sets it up).
    points = [
        {
            "metric_name": "cpu_usage",
            "value": round(60 + 19 * i / 60 + (0.3 if i % 2 else -0.3), 2),
            "timestamp": iso(now - timedelta(minutes=60 - i)),
        }
        for i in range(61)
    ]
    _ok(client.post("/api/autonomous/metrics", json={"metrics": points}))
    _ok(client.put("/api/autonomous/settings", json={"rules": ["cpu_usage <= 80 horizon_hours=2"]}))
    action = {
        "name": "scale out",
        "goal_types": ["BOTTLENECK_PREVENTION"],
        "kind": "agent",
        "requires_approval": True,
        "agent_id": made.reporter,
        "task_template": "Add capacity for {resource}",
    }
    _ok(client.post("/api/autonomous/actions", json=action), 201)
    _ok(client.post("/api/autonomous/analysis/trigger"), 202)
    pending = _wait(lambda: client.get("/api/autonomous/approvals").json()["items"])[0]
    _ok(client.post(f"/api/autonomous/approvals/{pending['id']}/approve"))

    def acted() -> dict[str, Any]:
        return dict(client.get(f"/api/autonomous/goals/{pending['goal_id']}").json()["actions"][0])

    _wait(lambda: acted().get("run_id"))
    handlers.drain()
    _wait(lambda: acted()["status"] == "executed")


def _dispatcher(
    handlers: Handlers, aws: Aws, client: TestClient, world: World, made: Made, quote_url: str
) -> None:
    """A tick that finds due a schedule's occurrence, a monitor's check, autonomous mode's run and
    the goal loop's analysis; the same tick again (a retry); then a tick fanned out to one
    invocation of the function per shard."""
    now = utcnow()
    schedule = {
        "name": "hourly",
        "workspace_id": "ws-1",
        "agent_id": made.reporter,
        "task_description": "Report",
        "cron_expression": "0 * * * *",
    }
    schedule_id = _ok(client.post("/api/proactive/schedules", json=schedule), 201)["id"]
    monitor_id = _monitor(client, made.reporter, quote_url, "worker-quote-key")["id"]
    autonomous = {"enabled": True, "frequency": "1hour", "agent_id": made.reporter}
    _ok(client.put("/api/autonomous/config", json=autonomous))
    _ok(client.put("/api/autonomous/settings", json={"agent": {"autonomous_mode": True}}))
    # Due a few seconds ago, so that what the tick queues is visible at once.
    due = now - timedelta(seconds=5)
    due_items = (
        (aws.store.schedules, schedule_id),
        (aws.store.monitors, monitor_id),
        (aws.store.autonomy, "ws-1"),
    )

    def make_due() -> None:
        for entities, item_id in due_items:
            current = field_of(entities.get(item_id), "next_fire_at")
            if isinstance(current, datetime):  # a record's time, stored as its text
                current = iso(current)
            entities.reschedule(item_id, {"next_fire_at": iso(due)}, due_at=due, expect_next_fire_at=current)

    make_due()
    assert not handlers.tick(now)["errors"]
    make_due()  # as if the tick had stopped before moving them on: the retry finds its work done
    assert not handlers.tick(now)["errors"]
    handlers.drain()

    name = Resolver(load_template(), world).ref("DispatcherFunction")
    os.environ.update(DISPATCH_FANOUT="lambda", DUE_SHARDS="2")
    get_settings.cache_clear()
    try:
        fanned = load_handler("dispatcher", instance="_iam_fanout")
    finally:
        os.environ.pop("DISPATCH_FANOUT")
        os.environ.pop("DUE_SHARDS")
        get_settings.cache_clear()
    context = LocalContext(name)
    # moto's Lambda answers the invocations with the handler, as for the goal loop's function.
    state_machine.install(lambda event: fanned.handler(event, context), name=name)
    assert fanned.handler({"time": iso(now + timedelta(minutes=1))}, context)["fanned_out"] == 2


def _worker(handlers: Handlers, aws: Aws, made: Made) -> None:
    """A goal action's run done by the worker (ending the execution's wait), and a message no
    worker knows, whose retry the worker brings forward (the back-off)."""
    run = _goal_run(aws, made.reporter, "goalaction_iam_done")
    aws.queue.send([run_message(run.id)])
    handlers.drain()
    aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody=json.dumps({"nothing_id": "x"}))
    [message] = [m for m in aws.receive() if "nothing_id" in m["Body"]]
    assert handlers.deliver([message])["batchItemFailures"]


def _dead_letters(aws: Aws, world: World, made: Made) -> None:
    """A goal action's run whose message was set aside after every receive failed: the run
    fails, the default channel is told, a trigger chains a run, the execution's wait ends."""
    deadletters = load_handler("deadletters", instance="_iam")
    run = _goal_run(aws, made.reporter, "goalaction_iam_dead")
    aws.sqs.send_message(QueueUrl=world.dlq_url, MessageBody=run_message(run.id).body())
    messages = aws.sqs.receive_message(QueueUrl=world.dlq_url, MaxNumberOfMessages=10)["Messages"]
    event = sqs_event(messages, World.queue_arn(world.dlq_url))
    assert deadletters.handler(event, LocalContext("DeadLetterFunction")) == {"batchItemFailures": []}


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[Recorder, World]]:
    """Every flow, once, on one moto world; the calls each function made."""
    from aws_lambda_powertools.utilities import parameters

    from proactive.api import create_stream_app
    from tests.apps import api_app

    template = load_template()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    bare = Resolver(template, None)
    env = {
        "SECRETS_BACKEND": "ssm",
        "SECRETS_PREFIX": str(bare.value(variables["SECRETS_PREFIX"])),
        "EMAIL_FROM": str(bare.value(variables["EMAIL_FROM"])),
        "PUBLIC_BASE_URL": "https://proactive.example",
    }
    with mocked_aws(QUEUE, goal_loop=True, **env) as resources:
        parameters.clear_caches()  # Powertools keeps what it read for the process
        world = World(
            table=os.environ["TABLE_NAME"],
            queue_url=resources["queue_url"],
            dlq_url=resources["dlq_url"],
            secrets_prefix=env["SECRETS_PREFIX"],
            email_from=env["EMAIL_FROM"],
        )
        aws = Aws(
            store=Store(),
            queue=RunQueue(),
            sqs=boto3.client("sqs"),
            queue_url=resources["queue_url"],
            queue_arn=resources["queue_arn"],
            dlq_url=resources["dlq_url"],
        )
        handlers = Handlers(
            api=load_handler("api", instance="_iam"),
            dispatcher=load_handler("dispatcher", instance="_iam"),
            worker=load_handler("worker", instance="_iam"),
            ingest=load_handler("ingest", instance="_iam"),
            aws=aws,
        )
        stream_app = create_stream_app()
        serve_as(stream_app, "stream")
        with (
            BedrockConverseServer(models=[MODEL]) as bedrock,
            running_quote(140.0) as quote,
            Recorder() as recorder,
            TestClient(api_app(), raise_server_exceptions=False) as client,
            TestClient(stream_app, raise_server_exceptions=False) as stream,
        ):
            client.headers["Authorization"] = stream.headers["Authorization"] = f"Bearer {_token('ws-1')}"
            made = _set_up(client, bedrock, world)
            _api(client, handlers, aws, bedrock, made, quote.url)
            _stream(stream, bedrock, made)
            _ingest(client, handlers, made)
            _goal_loop(client, handlers, made)
            _dispatcher(handlers, aws, client, world, made, quote.url)
            _worker(handlers, aws, made)
            _dead_letters(aws, world, made)
        yield recorder, world


# The checks ----------------------------------------------------------------------------------------

FUNCTIONS = ("api", "stream", "ingest", "dispatcher", "worker", "goalloop", "deadletters")


def expected(recorder: Recorder, world: World, function: str) -> dict[tuple[str, str], str]:
    """What the function asks IAM for: (action, ARN) -> where it was seen (or the code that asks)."""
    out = {request: "recorded" for request in recorder.by_function().get(function, set())}
    for action, name, where in UNREACHED[function]:
        out.setdefault((action, world.arn(name)), f"unreached: {where}")
    return out


def _policy(function: str, world: World) -> tuple[str, list[Statement]]:
    """The function's logical id and its statements; the test fails on a policy it cannot read."""
    template = load_template()
    logical = function_dirs(template)[function]
    try:
        return logical, statements(template, logical, Resolver(template, world))
    except NotExplicit as exc:
        pytest.fail(f"{exc}; write the function's Policies as explicit statements")


def test_the_flows_reach_every_function(recorded: tuple[Recorder, World]) -> None:
    """Every function made calls: a flow that stopped reaching one would make its checks vacuous."""
    recorder, _ = recorded
    reached = recorder.by_function()
    assert set(FUNCTIONS) <= set(reached), f"no calls recorded for {set(FUNCTIONS) - set(reached)}"


def test_what_is_listed_as_unreached_is_not_reached(recorded: tuple[Recorder, World]) -> None:
    """An entry of `UNREACHED` that the flows do reach now is recorded: it belongs out of the list."""
    recorder, world = recorded
    reached = recorder.by_function()
    stale = [
        (function, action, name)
        for function, entries in UNREACHED.items()
        for action, name, _ in entries
        if (action, world.arn(name)) in reached.get(function, set())
    ]
    assert not stale, f"reached by the flows now, so drop them from UNREACHED: {stale}"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_call_is_allowed(recorded: tuple[Recorder, World], function: str) -> None:
    """Each request the function's code makes (recorded or listed as unreached) is allowed."""
    recorder, world = recorded
    logical, found = _policy(function, world)
    denied = sorted(
        f"{action} on {arn} ({where})"
        for (action, arn), where in expected(recorder, world, function).items()
        if not allowed(found, action, arn)
    )
    assert not denied, f"{logical} is not allowed:\n  " + "\n  ".join(denied)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_nothing_more_is_granted(recorded: tuple[Recorder, World], function: str) -> None:
    """Each action granted on each resource is one some request of the function's code needs."""
    recorder, world = recorded
    logical, found = _policy(function, world)
    needed = expected(recorder, world, function)
    indexes = [f"{world.table_arn}/index/{name}" for name in INDEX_KEYS if name]
    excess = []
    for statement in found:
        if statement.effect != "Allow" or statement.implicit:
            continue
        for action in statement.actions:
            if action.split(":", 1)[0].lower() not in CHECKED:
                continue
            if "*" in action or "?" in action:
                excess.append(f"{action}: grant actions by name")
                continue
            if action.lower() in NOT_ACTIONS:
                excess.append(f"{action} is no IAM action: the call is {NOT_ACTIONS[action.lower()]}")
                continue
            for resource in statement.resources:
                if resource == "*" and action not in NO_RESOURCE:
                    excess.append(f"{action} on *: name its resources")
                    continue
                on_index_only = not matches(resource, world.table_arn) and any(
                    matches(resource, i) for i in indexes
                )
                if action.startswith("dynamodb:") and action not in ON_INDEXES and on_index_only:
                    continue  # an item action on an index grants nothing: harmless, not excess
                if not any(a.lower() == action.lower() and matches(resource, arn) for a, arn in needed):
                    excess.append(f"{action} on {resource}")
    assert not excess, f"{logical} is granted what none of its calls needs:\n  " + "\n  ".join(sorted(excess))
