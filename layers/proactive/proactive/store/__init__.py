"""DynamoDB access for the single table, one module per entity.

`keys` is the only module that builds a key or names an index; `table` holds the shared
mechanics (conditional writes, transactions, queries, pages) and `values` what can be stored and
how it reads back (conversions, JSON as text, cursors, filters). `Store` gathers
one accessor per entity for the rest of the package: `store.runs.get(run_id)`. Each accessor's
module is imported when it is first used, so a function pays only for the entities it touches
(webhook ingest's cold start reads two).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from proactive.settings import Settings, get_settings
from proactive.store.table import ConditionFailed, Table, WriteConflict
from proactive.store.values import UnstorableValue

if TYPE_CHECKING:
    from proactive.store.actions import Actions
    from proactive.store.agents import Agents
    from proactive.store.analyses import Analyses, AnalysisParts
    from proactive.store.autonomy import Autonomy
    from proactive.store.conversations import Conversations, Messages
    from proactive.store.due import DueIndex
    from proactive.store.goal_actions import GoalActions, TaskTokens
    from proactive.store.goals import Goals
    from proactive.store.login_links import LoginLinks
    from proactive.store.loop import LoopSettings
    from proactive.store.monitors import Checks, MetricValues, Monitors
    from proactive.store.notifications import Channels, Notifications
    from proactive.store.payloads import Payloads
    from proactive.store.platform_keys import PlatformKeys
    from proactive.store.requests import Requests
    from proactive.store.run_stats import RunStats
    from proactive.store.runs import Runs
    from proactive.store.schedules import Schedules
    from proactive.store.secrets import Secrets
    from proactive.store.series import EventLog, MetricPoints, MetricStates
    from proactive.store.suggestions import Minings, Suggestions
    from proactive.store.tasks import Tasks
    from proactive.store.triggers import Triggers
    from proactive.store.webhooks import Deliveries, Webhooks
    from proactive.store.workspaces import Workspaces

__all__ = ["ConditionFailed", "Store", "UnstorableValue", "WriteConflict"]


class Store:
    """The table, with one accessor per entity."""

    def __init__(self, table_name: str | None = None, *, client: Any = None) -> None:
        self.settings: Settings = get_settings()
        self.table = Table(table_name or self.settings.table_name, client)

    @cached_property
    def due(self) -> DueIndex:
        from proactive.store.due import DueIndex

        return DueIndex(self.table, self.settings.due_shards)

    @cached_property
    def agents(self) -> Agents:
        from proactive.store.agents import Agents

        return Agents(self.table)

    @cached_property
    def schedules(self) -> Schedules:
        from proactive.store.schedules import Schedules

        return Schedules(self.table, self.due)

    @cached_property
    def payloads(self) -> Payloads:
        from proactive.store.payloads import Payloads

        return Payloads(self.table)

    @cached_property
    def runs(self) -> Runs:
        from proactive.store.runs import Runs

        return Runs(self.table, self.settings.run_retention_days, self.payloads)

    @cached_property
    def run_stats(self) -> RunStats:
        from proactive.store.run_stats import RunStats

        return RunStats(self.table, self.settings.run_retention_days)

    @cached_property
    def triggers(self) -> Triggers:
        from proactive.store.triggers import Triggers

        return Triggers(self.table)

    @cached_property
    def webhooks(self) -> Webhooks:
        from proactive.store.webhooks import Webhooks

        return Webhooks(self.table)

    @cached_property
    def deliveries(self) -> Deliveries:
        from proactive.store.webhooks import Deliveries

        return Deliveries(
            self.table, self.settings.delivery_retention_days, self.payloads, self.settings.run_retention_days
        )

    @cached_property
    def monitors(self) -> Monitors:
        from proactive.store.monitors import Monitors

        return Monitors(self.table, self.due)

    @cached_property
    def checks(self) -> Checks:
        from proactive.store.monitors import Checks

        return Checks(self.table, self.settings.check_retention_days)

    @cached_property
    def metric_values(self) -> MetricValues:
        from proactive.store.monitors import MetricValues

        return MetricValues(self.table, self.settings.metric_retention_days)

    @cached_property
    def requests(self) -> Requests:
        from proactive.store.requests import Requests

        return Requests(self.table)

    @cached_property
    def channels(self) -> Channels:
        from proactive.store.notifications import Channels

        return Channels(self.table)

    @cached_property
    def notifications(self) -> Notifications:
        from proactive.store.notifications import Notifications

        return Notifications(self.table, self.settings.notification_retention_days)

    @cached_property
    def workspaces(self) -> Workspaces:
        from proactive.store.workspaces import Workspaces

        return Workspaces(self.table)

    @cached_property
    def autonomy(self) -> Autonomy:
        from proactive.store.autonomy import Autonomy

        return Autonomy(self.table, self.due)

    @cached_property
    def metrics(self) -> MetricPoints:
        from proactive.store.series import MetricPoints

        return MetricPoints(self.table, self.settings.series_retention_days)

    @cached_property
    def metric_states(self) -> MetricStates:
        from proactive.store.series import MetricStates

        return MetricStates(self.table, self.settings.series_retention_days)

    @cached_property
    def events_log(self) -> EventLog:
        from proactive.store.series import EventLog

        return EventLog(self.table, self.settings.series_retention_days)

    @cached_property
    def conversations(self) -> Conversations:
        from proactive.store.conversations import Conversations

        return Conversations(self.table)

    @cached_property
    def messages(self) -> Messages:
        from proactive.store.conversations import Messages

        return Messages(self.table)

    @cached_property
    def tasks(self) -> Tasks:
        from proactive.store.tasks import Tasks

        return Tasks(self.table)

    @cached_property
    def goals(self) -> Goals:
        from proactive.store.goals import Goals

        return Goals(self.table)

    @cached_property
    def loop_settings(self) -> LoopSettings:
        from proactive.store.loop import LoopSettings

        return LoopSettings(self.table, self.due)

    @cached_property
    def actions(self) -> Actions:
        from proactive.store.actions import Actions

        return Actions(self.table)

    @cached_property
    def analyses(self) -> Analyses:
        from proactive.store.analyses import Analyses

        return Analyses(self.table)

    @cached_property
    def analysis_parts(self) -> AnalysisParts:
        from proactive.store.analyses import AnalysisParts

        return AnalysisParts(self.table)

    @cached_property
    def goal_actions(self) -> GoalActions:
        from proactive.store.goal_actions import GoalActions

        return GoalActions(self.table)

    @cached_property
    def task_tokens(self) -> TaskTokens:
        from proactive.store.goal_actions import TaskTokens

        return TaskTokens(self.table)

    @cached_property
    def login_links(self) -> LoginLinks:
        from proactive.store.login_links import LoginLinks

        return LoginLinks(self.table)

    @cached_property
    def platform_keys(self) -> PlatformKeys:
        from proactive.store.platform_keys import PlatformKeys

        return PlatformKeys(self.table)

    @cached_property
    def secrets(self) -> Secrets:
        from proactive.store.secrets import Secrets

        return Secrets(self.table)

    def idempotency_layer(self, function_name: str) -> Any:
        """Powertools idempotency records, kept in this table, each under a partition of its own
        (`keys.idempotency_record`): records are written as fast as work arrives, and one
        partition for them all would take every one of those writes."""
        from proactive.store.idempotency import IdempotencyRecords

        return IdempotencyRecords(self.table, function_name)

    @cached_property
    def suggestions(self) -> Suggestions:
        from proactive.store.suggestions import Suggestions

        return Suggestions(self.table)

    @cached_property
    def minings(self) -> Minings:
        from proactive.store.suggestions import Minings

        return Minings(self.table, self.due)
