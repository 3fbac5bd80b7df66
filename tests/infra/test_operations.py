"""What an operator of a deployed stack relies on: alarms, logs, limits, stages, names and tags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from typing import Any

import pytest

from proactive.dev.local import REPO_ROOT
from tests.infra.test_template import load_template

pytestmark = pytest.mark.infra
TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]
FUNCTIONS = sorted(name for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function")
ALARMS = {name: r["Properties"] for name, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
STAGE_TAG = {"Key": "stage", "Value": {"Ref": "Stage"}}


def props(name: str) -> dict[str, Any]:
    return dict(RESOURCES[name]["Properties"])


def alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """Each metric an alarm reads, as {namespace, name, dimensions}, plain or inside metric math."""
    if "MetricName" in alarm:
        return [
            {
                "namespace": alarm["Namespace"],
                "name": alarm["MetricName"],
                "dims": alarm.get("Dimensions", []),
            }
        ]
    return [
        {"namespace": m["Namespace"], "name": m["MetricName"], "dims": m.get("Dimensions", [])}
        for m in (query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query)
    ]


def alarms_on(namespace: str, metric: str) -> list[dict[str, Any]]:
    return [
        {**alarm, "dims": m["dims"]}
        for alarm in ALARMS.values()
        for m in alarm_metrics(alarm)
        if (m["namespace"], m["name"]) == (namespace, metric)
    ]


def test_every_function_logs_json_to_a_group_of_its_own_kept_for_the_retention_parameter() -> None:
    groups = set()
    for fn in FUNCTIONS:
        logging = props(fn)["LoggingConfig"]
        assert logging["LogFormat"] == "JSON", fn
        group = logging["LogGroup"]["Ref"]
        assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup", fn
        assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, fn
        groups.add(group)
    assert len(groups) == len(FUNCTIONS), "each function writes to a group of its own"
    assert PARAMETERS["LogRetentionDays"]["Default"] == 30


def test_the_http_api_logs_each_request_without_its_path() -> None:
    access = props("HttpApi")["AccessLogSettings"]
    assert access["DestinationArn"] == {"GetAtt": "ApiAccessLogGroup.Arn"}
    fields = json.loads(access["Format"])
    assert {"requestId", "routeKey", "status", "latencyMs"} <= fields.keys()
    # An approval link's path is its credential: the route key names the route, never the path.
    assert "$context.path" not in access["Format"]
    assert RESOURCES["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_the_goal_loop_logs_its_errors_without_execution_data() -> None:
    logging = props("GoalLoopStateMachine")["Logging"]
    assert logging["Level"] == "ERROR"
    assert logging["IncludeExecutionData"] is False
    group = logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    assert group == {"GetAtt": "GoalLoopStateMachineLogGroup.Arn"}


def test_every_function_has_an_errors_and_a_throttles_alarm() -> None:
    for fn in FUNCTIONS:
        for metric in ("Errors", "Throttles"):
            watching = [
                a
                for a in alarms_on("AWS/Lambda", metric)
                if a["dims"] == [{"Name": "FunctionName", "Value": {"Ref": fn}}]
            ]
            assert len(watching) == 1, (fn, metric)
            assert watching[0]["Threshold"] == 1
            assert watching[0]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_every_alarm_notifies_the_topic_an_address_may_subscribe_to() -> None:
    for name, alarm in ALARMS.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert STAGE_TAG in alarm["Tags"], name
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert PARAMETERS["AlarmEmail"]["Default"] == "", "no address is subscribed unless one is given"


def test_a_dispatcher_that_stops_ticking_raises_an_alarm_within_five_minutes() -> None:
    (alarm,) = alarms_on("AWS/Lambda", "Invocations")
    assert alarm["dims"] == [{"Name": "FunctionName", "Value": {"Ref": "DispatcherFunction"}}]
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 300
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    # A dispatcher that is never invoked reports nothing at all: that must alarm, not stay quiet.
    assert alarm["TreatMissingData"] == "breaching"


@pytest.mark.parametrize(
    ("namespace", "metric", "dimension"),
    [
        (
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"Name": "QueueName", "Value": {"GetAtt": "RunQueue.QueueName"}},
        ),
        (
            "AWS/SQS",
            "NumberOfMessagesReceived",
            {"Name": "QueueName", "Value": {"GetAtt": "RunDeadLetterQueue.QueueName"}},
        ),
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"Name": "QueueName", "Value": {"GetAtt": "DispatchFailureQueue.QueueName"}},
        ),
        ("AWS/ApiGateway", "5xx", {"Name": "ApiId", "Value": {"Ref": "HttpApi"}}),
        ("AWS/DynamoDB", "WriteThrottleEvents", {"Name": "TableName", "Value": {"Ref": "Table"}}),
        ("AWS/DynamoDB", "ReadThrottleEvents", {"Name": "TableName", "Value": {"Ref": "Table"}}),
        (
            "AWS/States",
            "ExecutionsFailed",
            {"Name": "StateMachineArn", "Value": {"Ref": "GoalLoopStateMachine"}},
        ),
        (
            "AWS/States",
            "ExecutionsTimedOut",
            {"Name": "StateMachineArn", "Value": {"Ref": "GoalLoopStateMachine"}},
        ),
    ],
)
def test_an_alarm_watches(namespace: str, metric: str, dimension: dict[str, Any]) -> None:
    assert any(dimension in alarm["dims"] for alarm in alarms_on(namespace, metric)), (namespace, metric)


def test_the_missed_occurrences_alarm_reads_the_figure_the_dispatcher_emits() -> None:
    # Given the dimensions a function of the prod stage emits its figures with (Powertools' EMF)
    env = {
        **os.environ,
        "STAGE": "prod",
        "POWERTOOLS_METRICS_DISABLED": "false",
        "POWERTOOLS_METRICS_NAMESPACE": TEMPLATE["Globals"]["Function"]["Environment"]["Variables"][
            "POWERTOOLS_METRICS_NAMESPACE"
        ],
        "POWERTOOLS_SERVICE_NAME": TEMPLATE["Globals"]["Function"]["Environment"]["Variables"][
            "POWERTOOLS_SERVICE_NAME"
        ],
    }
    script = (
        "from proactive.observability import metrics\n"
        "metrics.add_metric(name='OccurrencesMissed', unit='Count', value=1)\n"
        "metrics.flush_metrics()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    ).stdout
    emitted = json.loads(out.strip().splitlines()[-1])
    directive = emitted["_aws"]["CloudWatchMetrics"][0]
    # Then the alarm asks for exactly that namespace, metric and dimension set, with the stage's value.
    (alarm,) = alarms_on(directive["Namespace"], "OccurrencesMissed")
    assert sorted(d["Name"] for d in alarm["dims"]) == sorted(directive["Dimensions"][0])
    for dimension in alarm["dims"]:
        value = "prod" if dimension["Value"] == {"Ref": "Stage"} else dimension["Value"]
        assert emitted[dimension["Name"]] == value
    assert "OccurrencesMissed" in (REPO_ROOT / "layers/proactive/proactive/dispatcher.py").read_text()


def test_limits_keep_a_burst_of_work_from_starving_the_dispatcher() -> None:
    scaling = props("WorkerFunction")["Events"]["Runs"]["Properties"]["ScalingConfig"]
    assert scaling["MaximumConcurrency"] == {"Ref": "WorkerMaxConcurrency"}
    assert PARAMETERS["WorkerMaxConcurrency"]["MinValue"] == 2  # SQS's own lower bound
    reserved = props("DispatcherFunction")["ReservedConcurrentExecutions"]["If"]
    assert reserved[:2] == ["ReservesDispatcherConcurrency", {"Ref": "DispatcherReservedConcurrency"}]
    # A tick and one invocation per shard at once, with the default shards.
    assert PARAMETERS["DispatcherReservedConcurrency"]["Default"] >= PARAMETERS["DueShards"]["Default"] + 1
    throttling = props("HttpApi")["DefaultRouteSettings"]
    assert throttling == {
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
    }


def test_the_dead_letter_queue_stays_hidden_while_its_consumer_settles_a_message() -> None:
    timeout = props("DeadLetterFunction").get("Timeout", TEMPLATE["Globals"]["Function"]["Timeout"])
    assert props("RunDeadLetterQueue")["VisibilityTimeout"] >= 5 * timeout


def test_a_dispatcher_invocation_that_fails_every_retry_is_kept() -> None:
    invoke = props("DispatcherFunction")["EventInvokeConfig"]
    assert invoke["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"GetAtt": "DispatchFailureQueue.Arn"},
    }
    assert props("DispatcherTick")["Target"]["DeadLetterConfig"] == {
        "Arn": {"GetAtt": "DispatchFailureQueue.Arn"}
    }


def test_the_table_is_protected_from_deletion() -> None:
    assert props("Table")["DeletionProtectionEnabled"] is True
    assert RESOURCES["Table"]["DeletionPolicy"] == "Retain"


NAME_PROPERTIES = {
    "FunctionName",
    "Name",
    "TableName",
    "QueueName",
    "TopicName",
    "LogGroupName",
    "DashboardName",
    "RoleName",
    "StateMachineName",
    "AlarmName",
    "LayerName",
}
# Properties called so that name something else, not the resource itself.
NAMES_OF_OTHERS = {
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::Permission",
}


def test_no_resource_takes_a_name_another_stack_could_hold(expanded: dict[str, Any]) -> None:
    for name, resource in expanded["Resources"].items():
        if resource["Type"] in NAMES_OF_OTHERS:
            continue
        for prop in NAME_PROPERTIES & resource.get("Properties", {}).keys():
            value = resource["Properties"][prop]
            assert "${AWS::StackName}" in json.dumps(value), f"{name}.{prop} is fixed: {value}"


# Resource types that take no tags, or that SAM makes without a way to give them tags (the stack's
# own tags, set by samconfig.toml, reach those that can hold them).
UNTAGGED = {
    "AWS::CloudWatch::Dashboard",
    "AWS::IAM::Policy",
    "AWS::KMS::Alias",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::LayerVersion",
    "AWS::Lambda::Permission",
    "AWS::Lambda::Url",
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::Scheduler::Schedule",
}


def test_every_resource_that_takes_tags_names_its_stage(expanded: dict[str, Any]) -> None:
    for name, resource in expanded["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] in UNTAGGED:
            assert "Tags" not in properties, f"{name} is tagged now: take its type out of UNTAGGED"
            continue
        if resource["Type"] == "AWS::ApiGatewayV2::Api":
            tags = {t["name"]: t["x-amazon-apigateway-tag-value"] for t in properties["Body"]["tags"]}
        elif isinstance(properties.get("Tags"), dict):
            tags = properties["Tags"]
        else:
            tags = {t["Key"]: t["Value"] for t in properties.get("Tags", [])}
        assert tags.get("stage") == {"Ref": "Stage"}, (
            f"{name} ({resource['Type']}) is not tagged with its stage"
        )


def test_every_role_takes_the_permissions_boundary_when_one_is_given(expanded: dict[str, Any]) -> None:
    boundary = {"Fn::If": ["HasPermissionsBoundary", {"Ref": "PermissionsBoundary"}, {"Ref": "AWS::NoValue"}]}
    roles = {n: r for n, r in expanded["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert len(roles) >= len(FUNCTIONS) + 2  # the functions', the state machine's, the tick's
    for name, role in roles.items():
        assert role["Properties"].get("PermissionsBoundary") == boundary, name


def _statements(fn: str) -> list[dict[str, Any]]:
    return [
        s for policy in props(fn).get("Policies", []) if "Statement" in policy for s in policy["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_secrets_are_reached_only_under_the_stages_own_paths() -> None:
    prefix = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["SECRETS_PREFIX"]
    assert prefix == {"Sub": "/proactive/${Stage}/"}
    writers = set()
    for fn in FUNCTIONS:
        for statement in _statements(fn):
            actions = [a for a in _actions(statement) if a.startswith("ssm:")]
            if not actions:
                continue
            path = statement["Resource"]["Sub"].split(":parameter", 1)[1]
            assert path in ("/proactive/${Stage}/workspaces/*", "/proactive/${Stage}/platform/*"), fn
            if set(actions) - {"ssm:GetParameter"}:
                # Only a workspace's own path is ever written, and only by the API's /api/secrets.
                assert path.endswith("/workspaces/*"), fn
                writers.add(fn)
    assert writers == {"ApiFunction"}


def test_models_are_invoked_only_from_the_parameters_list() -> None:
    granted = 0
    for fn in FUNCTIONS:
        for statement in _statements(fn):
            if any(a.startswith("bedrock:") for a in _actions(statement)):
                assert statement["Resource"] == {"Ref": "BedrockModelArns"}, fn
                granted += 1
    assert granted, "llm agents run on Bedrock in some function"


def test_samconfig_deploys_dev_and_prod_side_by_side() -> None:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text())
    stacks = {env: config[env]["deploy"]["parameters"] for env in ("dev", "prod")}
    assert stacks["dev"]["stack_name"] != stacks["prod"]["stack_name"]
    for env, deploy in stacks.items():
        assert f"Stage={env}" in deploy["parameter_overrides"].split()
        assert f'stage="{env}"' in deploy["tags"]


def test_every_checkov_finding_the_template_skips_says_why() -> None:
    skipped = 0
    for name, resource in RESOURCES.items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["id"].startswith("CKV_"), name
            assert len(skip.get("comment", "").split()) >= 10, f"{name} skips {skip['id']} without a reason"
            skipped += 1
    assert skipped, "the findings skipped are listed in the template itself"
