"""Powertools idempotency records in the table, each record under a partition of its own.

Powertools' own layer keeps every record of a function under one partition key (its
`static_pk_value`, with the idempotency key as the sort key). A record is written for every
message the worker takes, so that one partition would take all of those writes, and a partition
takes 1,000 a second. Here the idempotency key is in the partition key, and the sort key is a
constant (the table has a composite key).

Work given no key (None: work that guards itself, see `proactive.wiring`) is performed without a
record, as Powertools does, but without its warning that a key is missing: that is meant.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from proactive.store import keys
from proactive.store.table import Table


class IdempotencyRecords(DynamoDBPersistenceLayer):
    def __init__(self, table: Table, function_name: str) -> None:
        super().__init__(
            table_name=table.name,
            key_attr=keys.PK,
            sort_key_attr=keys.SK,
            expiry_attr=keys.TTL_ATTRIBUTE,
            boto3_client=table.client,
        )
        # Powertools keeps a `function_name` of its own (the decorated function's).
        self.records_of = function_name

    def _get_key(self, idempotency_key: str) -> dict[str, Any]:
        key = keys.idempotency_record(self.records_of, idempotency_key)
        return {name: {"S": value} for name, value in key.items()}

    def _get_hashed_idempotency_key(self, data: dict[str, Any]) -> str | None:
        compiled = self.event_key_compiled_jmespath if self.event_key_jmespath else None
        found = compiled.search(data) if compiled is not None else data
        if self.is_missing_idempotency_key(data=found) and not self.raise_on_no_idempotency_key:
            return None
        hashed: str | None = super()._get_hashed_idempotency_key(data)
        return hashed

    def _item_to_data_record(self, item: dict[str, Any]) -> DataRecord:
        record: DataRecord = super()._item_to_data_record(item)
        # Powertools knows a record by the idempotency key alone, as it made it.
        record.idempotency_key = keys.idempotency_key_in(self.records_of, str(record.idempotency_key))
        record.sort_key = None
        return record
