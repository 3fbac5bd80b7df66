"""Task templates and trigger evaluation: what a trigger does with an event's payload."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proactive.errors import InvalidInput
from proactive.lib.templates import TemplateError, render
from proactive.triggers import evaluate, validate_config

PR = {
    "action": "opened",
    "number": 42,
    "pull_request": {
        "number": 42,
        "title": "Add retries",
        "user": {"login": "octocat"},
        "labels": [{"name": "bug"}],
    },
    "repository": {"full_name": "Owner/Repo"},
}


def trigger(**overrides: Any) -> dict[str, Any]:
    base = {
        "id": "trig-1",
        "trigger_type": "github",
        "is_active": True,
        "filter": None,
        "config": {"repository": "owner/repo", "event": ["pull_request"]},
        "task_template": "Review PR #{pr_number}: {pr_title}",
    }
    return {**base, **overrides}


def test_documented_example_renders() -> None:
    assert render("Review PR #{pr_number}: {pr_title}", PR) == "Review PR #42: Add retries"


def test_dotted_paths_lists_and_literal_braces() -> None:
    text = render("{pull_request.user.login} {pull_request.labels.0.name} {{json}} {pull_request.labels}", PR)
    assert text == 'octocat bug {json} [{"name": "bug"}]'


def test_missing_field_names_it() -> None:
    with pytest.raises(TemplateError, match=r"no field 'pull_request' for placeholder \{pr_number\}") as err:
        render("PR {pr_number}", {"event": "push"})
    assert err.value.field == "pr_number"


@pytest.mark.parametrize("template", ["{x.__class__}", "{0}", "{x!r}", "{x:>10}", "{x[0]}", "{"])
def test_python_format_features_never_run(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, {"x": "y"})


@settings(max_examples=300, deadline=None)
@given(
    template=st.text(max_size=60),
    payload=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=10,
    ),
)
def test_rendering_only_ever_fails_with_template_error(template: str, payload: Any) -> None:
    try:
        out = render(template, payload)
    except TemplateError:
        return
    assert isinstance(out, str)


def test_github_trigger_matches_repository_event_and_action() -> None:
    assert evaluate(trigger(), PR, "pull_request").task == "Review PR #42: Add retries"
    assert (
        evaluate(trigger(), {**PR, "repository": {"full_name": "other/repo"}}, "pull_request").status
        == "filtered"
    )
    assert evaluate(trigger(), PR, "push").reason == "event 'push' is not one of ['pull_request']"
    closed = evaluate(
        trigger(config={**trigger()["config"], "actions": ["opened"]}), {**PR, "action": "closed"}, None
    )
    assert (closed.status, closed.reason) == ("filtered", "action 'closed' is not one of ['opened']")


def test_filter_and_rejection() -> None:
    hook = trigger(trigger_type="webhook", config={}, filter="pull_request.number > `40`")
    assert evaluate(hook, PR, None).status == "accepted"
    assert (
        evaluate(hook, {**PR, "pull_request": {**PR["pull_request"], "number": 7}}, None).status == "filtered"
    )
    rejected = evaluate(trigger(trigger_type="webhook", config={}), {"event": "deploy"}, None)
    assert (rejected.status, rejected.field) == ("rejected", "payload.pr_number")
    assert evaluate(trigger(is_active=False), PR, None).reason == "trigger trig-1 is paused"


@pytest.mark.parametrize(
    ("trigger_type", "config", "field"),
    [
        ("github", {"repository": "no-slash", "event": "push"}, "config.repository"),
        ("github", {"repository": "o/r"}, "config.event"),
        ("github", {"repository": "o/r", "event": "push", "actions": []}, "config.actions"),
        ("webhook", {"url": "x"}, "config"),
        ("event", {"event": "run.exploded"}, "config.event"),
    ],
)
def test_bad_configs_name_the_key(trigger_type: str, config: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_config(trigger_type, config)
    assert err.value.field == field
