"""The goal loop's decisions taken apart from the table: the goal action a plan records, the Map
item it becomes, where a goal's action runs, re-planning, and the approval asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from proactive.clock import iso
from proactive.loop import acting, approvals, steps
from proactive.loop.action_execution import EXECUTE_TIMEOUT_SECONDS
from proactive.loop.analysis import Context
from proactive.loop.goals import Evidence, Goal
from proactive.loop.planner import Plan, Strategy, slot
from proactive.loop.rules import GoalType, Target

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
# The plans below wait an hour.
LATER = iso(NOW + HOUR)
CONTEXT = Context("ws_1", "an_1", NOW)
SETTINGS = {"approval_timeout_minutes": 30, "impact_window_minutes": 15}
ACTION = {"id": "act_1", "name": "Scale out", "kind": "http", "requires_approval": True}


def goal(goal_id: str = "goal_1", *, resource: str = "cpu_usage") -> Goal:
    at = NOW.timestamp()
    return Goal(
        id=goal_id,
        type=GoalType.BOTTLENECK_PREVENTION,
        metric="cpu_usage",
        rule="threshold cpu_usage <= 80",
        resource=resource,
        target=Target("cpu_usage", "<=", 80.0),
        severity="medium",
        priority=50.0,
        priority_label="medium",
        title="Prevent cpu_usage bottleneck",
        description="",
        evidence=Evidence("predicted_breach", ""),
        due_at=None,
        created_at=at,
        updated_at=at,
        expires_at=at + 48 * 3600,
    )


def made(action_id: str | None = "act_1") -> Plan:
    return Plan(
        goal_id="goal_1",
        action_id=action_id,
        strategy=Strategy.SCHEDULED,
        wait_until=(NOW + HOUR).timestamp(),
        after=None,
        sample=0.7,
        requires_approval=True,
        planned_value=72.5,
        reason="SCHEDULED: waits for the quiet hour",
    )


def test_a_plan_with_an_action_is_recorded_as_planned_with_its_timing() -> None:
    # When the plan for a goal an action serves is recorded
    record = steps.planned_goal_action(CONTEXT, made(), ACTION, NOW)

    # Then it is planned, names the action, and keeps when and why
    assert record["status"] == "planned"
    assert (record["action_id"], record["action_name"], record["action_kind"]) == (
        "act_1",
        "Scale out",
        "http",
    )
    assert record["plan"] == {
        "strategy": "SCHEDULED",
        "reason": "SCHEDULED: waits for the quiet hour",
        "wait_until": LATER,
        "after": None,
        "sample": 0.7,
        "planned_value": 72.5,
    }
    assert record["timeline"] == [{"at": record["created_at"], "event": "planned", "detail": made().reason}]
    # And the same analysis and goal always make the same goal action
    assert record["id"] == steps.planned_goal_action(CONTEXT, made(), ACTION, NOW)["id"]
    assert record["id"] != steps.planned_goal_action(Context("ws_1", "an_2", NOW), made(), ACTION, NOW)["id"]


def test_a_plan_no_action_serves_is_recorded_as_no_action() -> None:
    record = steps.planned_goal_action(CONTEXT, made(None), None, NOW)

    assert record["status"] == "no_action"
    assert (record["action_id"], record["action_name"], record["action_kind"]) == (None, None, None)


def test_a_map_item_carries_the_timeouts_the_action_or_the_settings_give() -> None:
    planned = steps.planned_goal_action(CONTEXT, made(), ACTION, NOW)

    # When the action sets no approval timeout of its own, the workspace's applies
    item = steps.plan_item(planned, ACTION, SETTINGS)
    assert item == {
        "goal_action_id": planned["id"],
        "goal_id": "goal_1",
        "action_kind": "http",
        "requires_approval": True,
        "wait_until": LATER,
        "approval_timeout_seconds": 30 * 60,
        "impact_seconds": 15 * 60,
        "execute_timeout_seconds": EXECUTE_TIMEOUT_SECONDS,
        "poll_seconds": acting.POLL_SECONDS,
    }
    # And the action's own wins when it has one
    own = steps.plan_item(planned, {**ACTION, "approval_timeout_minutes": 5}, SETTINGS)
    assert own["approval_timeout_seconds"] == 5 * 60


def test_a_goal_gets_a_lane_of_its_own_while_lanes_are_free() -> None:
    assert slot(goal(), [["goal_a"]], {"memory": 0}, 2) == (None, None, "")


def test_a_goal_on_a_resource_being_worked_on_runs_after_the_last_goal_on_it() -> None:
    lane, after, note = slot(goal(), [["goal_a"], ["goal_b", "goal_c"]], {"memory": 0, "cpu_usage": 1}, 5)

    assert (lane, after) == (1, "goal_c")
    assert note == "; runs after goal goal_c, which works on cpu_usage too"


def test_a_goal_waits_in_the_shortest_lane_when_every_lane_is_taken() -> None:
    lanes = [["goal_a", "goal_b"], ["goal_c"], ["goal_d"]]

    lane, after, note = slot(goal(), lanes, {"memory": 0, "disk": 1, "net": 2}, 3)

    # The first of the shortest lanes
    assert (lane, after) == (1, "goal_c")
    assert note == "; max_concurrent_goals=3 are taken, so it runs after goal goal_c"


def test_the_plan_as_made_is_read_back_from_the_goal_action() -> None:
    ga = {
        "action_id": "act_1",
        "plan": {"strategy": "ADAPTIVE", "after": "goal_0", "planned_value": 61.0, "reason": "why"},
    }

    plan = acting.as_planned(ga, goal(), {"requires_approval": 1})

    assert plan == Plan("goal_1", "act_1", Strategy.ADAPTIVE, 0.0, "goal_0", None, True, 61.0, "why")


def test_a_replanned_item_carries_the_new_action_and_its_approval() -> None:
    item = {"goal_action_id": "ga_1", "action_kind": "http", "requires_approval": False, "poll_seconds": 60}

    # When the action drawn again asks for approval with its own timeout
    chosen = {"kind": "agent", "requires_approval": True, "approval_timeout_minutes": 10}
    assert acting.replanned_item(item, chosen) == {
        "goal_action_id": "ga_1",
        "action_kind": "agent",
        "requires_approval": True,
        "poll_seconds": 60,
        "approval_timeout_seconds": 600,
    }
    # And an hour when it sets none
    assert acting.replanned_item(item, {"kind": "notify"})["approval_timeout_seconds"] == 3600


def test_the_timeline_says_whom_an_approval_asks_or_how_to_decide_without_a_channel() -> None:

    assert approvals.asked_detail("ga_1", ["ch_1", "ch_2"], NOW + HOUR) == (
        f"asks 2 channel(s); waits until {LATER}"
    )
    assert approvals.asked_detail("ga_1", [], NOW + HOUR) == (
        "no default channel to ask: decide through POST /api/autonomous/approvals/ga_1/approve "
        f"(or /reject); waits until {LATER}"
    )


def test_the_approval_notice_offers_the_links_when_there_are_some() -> None:
    goal_action = {"id": "ga_1", "action_name": "Scale out", "plan": {"reason": "the plan"}}
    about = {
        "title": "Prevent cpu_usage bottleneck",
        "priority_label": "high",
        "priority": 70.0,
        "evidence": {"summary": "cpu_usage will cross 80"},
        "description": "More detail",
    }
    found = {"approve": "https://x/approvals/a", "reject": "https://x/approvals/r"}

    notice = approvals.approval_notice(goal_action, about, found, NOW + HOUR, NOW)

    assert notice.title == "Approval needed: Scale out for Prevent cpu_usage bottleneck"
    assert notice.outcome == "warning"
    assert f"until {LATER}" in notice.summary
    assert dict(notice.fields) == {
        "Goal": "Prevent cpu_usage bottleneck",
        "Priority": "high (70)",
        "Why": "cpu_usage will cross 80",
        "Plan": "the plan",
        "Or through the API": "POST /api/autonomous/approvals/ga_1/approve (or /reject)",
    }
    assert (notice.ref, notice.body) == ("ga_1", "More detail")
    assert notice.actions == (("Approve", "https://x/approvals/a"), ("Reject", "https://x/approvals/r"))
    # Without a public address there are no links to offer
    assert approvals.approval_notice(goal_action, about, None, NOW + HOUR, NOW).actions == ()
