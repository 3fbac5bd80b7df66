"""DynamoDB access for the single table, one module per entity.

`keys` is the only module that builds a key or names an index; `table` holds the shared
mechanics (what can be stored, conditional writes, transactions, pages, cursors). `Store` gathers
one accessor per entity for the rest of the package: `store.runs.get(run_id)`.
"""

from __future__ import annotations

from typing import Any

from proactive.settings import get_settings
from proactive.store import keys
from proactive.store.actions import Actions
from proactive.store.agents import Agents
from proactive.store.autonomy import Autonomy
from proactive.store.conversations import Conversations, Messages, Tasks
from proactive.store.due import DueIndex
from proactive.store.goals import Goals
from proactive.store.keys import idempotency_partition
from proactive.store.loop import LoopSettings
from proactive.store.loop_runs import Analyses, AnalysisParts, GoalActions, PlatformKeys, TaskTokens
from proactive.store.monitors import Checks, MetricValues, Monitors
from proactive.store.notifications import Channels, Notifications
from proactive.store.requests import Requests
from proactive.store.runs import Runs
from proactive.store.schedules import Schedules
from proactive.store.series import EventLog, MetricPoints, MetricStates
from proactive.store.table import ConditionFailed, Table, UnstorableValue, WriteConflict
from proactive.store.triggers import Triggers
from proactive.store.webhooks import Deliveries, Webhooks
from proactive.store.workspaces import Workspaces

__all__ = ["ConditionFailed", "Store", "UnstorableValue", "WriteConflict"]


class Store:
    """The table, with one accessor per entity."""

    def __init__(self, table_name: str | None = None, *, client: Any = None) -> None:
        settings = get_settings()
        self.table = Table(table_name or settings.table_name, client)
        self.due = DueIndex(self.table, settings.due_shards)
        self.agents = Agents(self.table)
        self.schedules = Schedules(self.table, self.due)
        self.runs = Runs(self.table, settings.run_retention_days)
        self.triggers = Triggers(self.table)
        self.webhooks = Webhooks(self.table)
        self.deliveries = Deliveries(self.table, settings.delivery_retention_days)
        self.monitors = Monitors(self.table, self.due)
        self.checks = Checks(self.table, settings.check_retention_days)
        self.metric_values = MetricValues(self.table, settings.metric_retention_days)
        self.requests = Requests(self.table)
        self.channels = Channels(self.table)
        self.notifications = Notifications(self.table, settings.notification_retention_days)
        self.workspaces = Workspaces(self.table)
        self.autonomy = Autonomy(self.table, self.due)
        self.metrics = MetricPoints(self.table, settings.series_retention_days)
        self.metric_states = MetricStates(self.table, settings.series_retention_days)
        self.events_log = EventLog(self.table, settings.series_retention_days)
        self.conversations = Conversations(self.table)
        self.messages = Messages(self.table)
        self.tasks = Tasks(self.table)
        self.goals = Goals(self.table)
        self.loop_settings = LoopSettings(self.table, self.due)
        self.actions = Actions(self.table)
        self.analyses = Analyses(self.table)
        self.analysis_parts = AnalysisParts(self.table)
        self.goal_actions = GoalActions(self.table)
        self.task_tokens = TaskTokens(self.table)
        self.platform_keys = PlatformKeys(self.table)

    def idempotency_layer(self, function_name: str) -> Any:
        """Powertools idempotency records, kept in this table under their own partition."""
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        from proactive.store.keys import TTL_ATTRIBUTE

        return DynamoDBPersistenceLayer(
            table_name=self.table.name,
            key_attr=keys.PK,
            sort_key_attr=keys.SK,
            static_pk_value=idempotency_partition(function_name),
            expiry_attr=TTL_ATTRIBUTE,
            boto3_client=self.table.client,
        )
