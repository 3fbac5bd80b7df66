"""`make validate`'s dependency-cycle check: what CloudFormation refuses at create time, found before."""

from __future__ import annotations

from pathlib import Path

import pytest

from proactive.dev.local import REPO_ROOT
from tests.infra.conftest import template_check

pytestmark = pytest.mark.infra
TEMPLATE = REPO_ROOT / "template.yaml"


def test_the_template_has_no_dependency_cycle() -> None:
    result = template_check(TEMPLATE)
    assert result.returncode == 0, result.stderr
    assert "no dependency cycle" in result.stdout


def test_a_reference_that_closes_a_loop_through_the_expanded_template_is_refused(tmp_path: Path) -> None:
    # Given the API function naming the state machine in its environment: the loop runs through
    # resources only the SAM translator creates (the function's role, the HTTP API's integrations).
    text = TEMPLATE.read_text()
    anchor = "      Environment:\n        Variables:\n"
    api = text.index("  ApiFunction:\n")
    at = text.index(anchor, api) + len(anchor)
    assert at < text.index("    Type: AWS::Serverless::Function", api + 20), (
        "ApiFunction has its own variables"
    )
    broken = text[:at] + "          MACHINE: !GetAtt GoalLoopStateMachine.Name\n" + text[at:]
    path = tmp_path / "template.yaml"
    path.write_text(broken)
    # When the check runs
    result = template_check(path)
    # Then it fails and spells the loop out, with the reference that closes each step.
    assert result.returncode == 1, result.stdout
    assert "circular dependency:" in result.stderr
    loop = result.stderr.split("circular dependency:", 1)[1].splitlines()[0]
    for name in ("ApiFunction", "GoalLoopStateMachine", "GoalLoopFunction", "HttpApi"):
        assert name in loop, result.stderr
    assert "ApiFunction -> GoalLoopStateMachine (Properties.Environment.Variables.MACHINE" in result.stderr


def test_depends_on_and_sub_references_count(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  First:\n"
        "    Type: AWS::SQS::Queue\n"
        "    DependsOn: Second\n"
        "  Second:\n"
        "    Type: AWS::SNS::Topic\n"
        "    Properties:\n"
        "      DisplayName: !Sub '${Third.QueueName}'\n"
        "  Third:\n"
        "    Type: AWS::SQS::Queue\n"
        "    Properties:\n"
        "      QueueName: !Sub ['${Name}', {Name: !Ref First}]\n"
        "  Unrelated:\n"
        "    Type: AWS::SQS::Queue\n"
        "    Properties:\n"
        "      QueueName: !Sub '${!Literal}-${AWS::StackName}'\n"
    )
    result = template_check(path)
    assert result.returncode == 1, result.stdout
    assert "First -> Second (DependsOn)" in result.stderr
    assert "Second -> Third (Properties.DisplayName.Fn::Sub)" in result.stderr
    assert "Third -> First (Properties.QueueName.Fn::Sub[1].Name.Ref)" in result.stderr
    assert "Unrelated" not in result.stderr
