"""The API against its own OpenAPI document: generated requests, authenticated, against the app
on moto. No answer is a server error, every status is one the document lists for the operation,
and every body matches the document's schema for it.

`make contract` runs the same with many more examples per operation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from proactive.api import create_app
from tests.integration.conftest import token
from tests.mockaws import mocked_aws

EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "6"))
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", create_app())
OPERATIONS = [(op.path, op.method.upper()) for op in (r.ok() for r in SCHEMA.get_all_operations())]


@pytest.fixture(scope="module", autouse=True)
def _aws() -> Iterator[None]:
    with mocked_aws("contract", goal_loop=True):
        yield


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_operation_keeps_to_its_contract(path: str, method: str) -> None:
    operation = SCHEMA[path][method]
    auth = {"Authorization": f"Bearer {token('ws-1', 'ws-2')}"}

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def keeps_to_contract(case: Any) -> None:
        # Every check but "schema-valid data is accepted": a valid shape can still name an agent
        # that does not exist or a cron that never fires, and that is a 422 the contract lists.
        case.call_and_validate(headers=auth, excluded_checks=[schemathesis.checks.positive_data_acceptance])

    keeps_to_contract()
