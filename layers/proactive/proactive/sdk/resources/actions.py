"""The goal loop's actions (`/api/autonomous/actions`), what it learnt from them, and the plans
waiting for a person's approval (`/api/autonomous/approvals`)."""

from __future__ import annotations

from proactive.models.actions import Action, ActionWithSecret, ExecutorInsights, ExecutorStatistics
from proactive.models.goals import GoalAction
from proactive.sdk.calls import Mode, call
from proactive.sdk.resources.base import Deletes, Listed, Managed


class Actions(Managed[Action, ActionWithSecret, Mode], Listed[Action, Mode], Deletes[Action, Mode]):
    """`/api/autonomous/actions`: what the goal loop may do for goals of its `goal_types`: run an
    agent (`agent`), call a URL with a signed request (`http`; its `secret` is in the answer to
    `create` only) or tell channels (`notify`), with or without a person's approval.
    `create(name=..., goal_types=[...], kind="agent", agent_id=..., task_template=...)`."""

    path, model, created = "/api/autonomous/actions", Action, ActionWithSecret

    @call
    async def statistics(self, *, workspace_id: str | None = None) -> ExecutorStatistics:
        """How the actions have done: totals, and per goal type over the actions serving it."""
        params = {"workspace_id": workspace_id}
        return await self._answer(
            ExecutorStatistics, "GET", "/api/autonomous/executor/statistics", params=params
        )

    @call
    async def insights(self, *, workspace_id: str | None = None) -> ExecutorInsights:
        """What the record teaches: each action's success rate, mean impact and posterior, and
        the actions that fail most."""
        params = {"workspace_id": workspace_id}
        return await self._answer(ExecutorInsights, "GET", "/api/autonomous/executor/insights", params=params)


class Approvals(Listed[GoalAction, Mode]):
    """`/api/autonomous/approvals`: the goal loop's planned actions that wait for a decision
    (`list`, newest first), and the decision. The same decisions can be taken through the
    one-click links sent to the workspace's channels."""

    path, model = "/api/autonomous/approvals", GoalAction

    @call
    async def approve(self, goal_action_id: str) -> GoalAction:
        """Approve it: the action runs. 409 as ProactiveError (saying who decided, and when) once
        it is decided or has lapsed."""
        return await self._answer(GoalAction, "POST", self._url(goal_action_id, "approve"))

    @call
    async def reject(self, goal_action_id: str) -> GoalAction:
        """Reject it: the action does not run. 409 once it is decided or has lapsed."""
        return await self._answer(GoalAction, "POST", self._url(goal_action_id, "reject"))
