"""The goal loop: its settings and mode, forecasts, analyses, goals and report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from proactive.models.common import Page
from proactive.models.goals import AnalysisRun, Goal, GoalDetail, GoalStatus, Report
from proactive.models.loop import LoopSettings, LoopStatus, MetricPrediction, Predictions
from proactive.sdk.calls import Mode, call, each, paged, streamed
from proactive.sdk.client import segment
from proactive.sdk.resources.base import DEFAULT_LIMIT, Resource

PREFIX = "/api/autonomous"


class GoalLoop(Resource[Goal, Mode]):
    """The goal loop (`/api/autonomous/settings`, `/mode`, `/status`, `/predictions`,
    `/analysis/trigger`, `/analyses`, `/goals`, `/report`): it forecasts the metrics its rules
    read, scores anomalies, finds recurring patterns, sets goals and acts on them with the
    workspace's actions. Its inputs are `Metrics` and `Events`; what it may do, `Actions`; what
    waits for a person, `Approvals`."""

    path, model = f"{PREFIX}/goals", Goal

    @call
    async def settings(self, *, workspace_id: str | None = None) -> LoopSettings:
        """Its settings: the defaults until they are first changed (`version` 0)."""
        return await self._answer(
            LoopSettings, "GET", f"{PREFIX}/settings", params={"workspace_id": workspace_id}
        )

    @call
    async def update_settings(self, /, **fields: Any) -> LoopSettings:
        """Change the settings: fields left out keep their value, at any depth (`forecasting`,
        `executor`, `agent`, ...); `rules`, when given, replaces the list (`["cpu_usage <= 80
        horizon_hours=2 severity=high"]`). 422 names the field at fault (`rules[1]`)."""
        return await self._answer(LoopSettings, "PUT", f"{PREFIX}/settings", json=fields)

    @call
    async def set_mode(self, autonomous: bool, *, workspace_id: str | None = None) -> LoopStatus:
        """Turn autonomous mode on (the loop analyses on its own, the first analysis at once) or
        off, and give back the loop's status."""
        body = {"autonomous": autonomous, "workspace_id": workspace_id}
        return await self._answer(LoopStatus, "POST", f"{PREFIX}/mode", json=body)

    @call
    async def status(self, *, workspace_id: str | None = None) -> LoopStatus:
        """Whether it runs on its own, how many metrics it has, when it analysed and analyses next."""
        return await self._answer(
            LoopStatus, "GET", f"{PREFIX}/status", params={"workspace_id": workspace_id}
        )

    @call
    async def predictions(
        self,
        *,
        horizon_hours: int | None = None,
        metric_name: str | None = None,
        workspace_id: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Predictions:
        """Each metric's forecast (`limit` metrics a page; `next_cursor` for the next ones): points
        with their interval, the method or ensemble and how it did on the recent history. A
        metric with too few points has none, and a `reason`."""
        params = {
            "horizon_hours": horizon_hours,
            "metric_name": metric_name,
            "workspace_id": workspace_id,
            "limit": limit,
            "cursor": cursor,
        }
        return await self._answer(Predictions, "GET", f"{PREFIX}/predictions", params=params)

    @streamed
    async def iterate_predictions(
        self, *, horizon_hours: int | None = None, workspace_id: str | None = None, limit: int = 20
    ) -> AsyncIterator[MetricPrediction]:
        """Every metric's forecast, page after page."""
        cursor: str | None = None
        while True:
            params = {
                "horizon_hours": horizon_hours,
                "workspace_id": workspace_id,
                "limit": limit,
                "cursor": cursor,
            }
            page = await self._answer(Predictions, "GET", f"{PREFIX}/predictions", params=params)
            for prediction in page.predictions:
                yield prediction
            cursor = page.next_cursor
            if not cursor:
                return

    @call
    async def analyze(self, *, workspace_id: str | None = None) -> AnalysisRun:
        """Analyse now: forecast, detect, find patterns, set goals, then plan and act. Gives back
        the analysis at once (`status` running); `analysis(id)` shows each step as it finishes."""
        body = {"workspace_id": workspace_id}
        return await self._answer(AnalysisRun, "POST", f"{PREFIX}/analysis/trigger", json=body)

    @paged
    async def analyses(
        self, *, workspace_id: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> Page[AnalysisRun]:
        """A page of the analyses, newest first."""
        return await self._page(
            AnalysisRun, f"{PREFIX}/analyses", {"workspace_id": workspace_id}, limit, cursor
        )

    iterate_analyses = each(analyses)

    @call
    async def analysis(self, analysis_id: str) -> AnalysisRun:
        """One analysis, with what each finished step did."""
        return await self._answer(AnalysisRun, "GET", f"{PREFIX}/analyses/{segment(analysis_id)}")

    @paged
    async def goals(
        self,
        *,
        status: GoalStatus | None = None,
        workspace_id: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[Goal]:
        """A page of the goals the loop has set, newest first, each with why (`evidence`)."""
        return await self._page(
            Goal, self.path, {"status": status, "workspace_id": workspace_id}, limit, cursor
        )

    iterate_goals = each(goals)

    @call
    async def goal(self, goal_id: str) -> GoalDetail:
        """A goal, why it was set, and what the loop did for it (`actions`: plans, approvals,
        executions, impacts), oldest first."""
        return await self._answer(GoalDetail, "GET", self._url(goal_id))

    @call
    async def report(self, *, workspace_id: str | None = None) -> Report:
        """Everything the loop has done: its mode and analyses, the rules it watches, its goals by
        status and type (the active ones in full), and how its actions have done."""
        return await self._answer(Report, "GET", f"{PREFIX}/report", params={"workspace_id": workspace_id})
