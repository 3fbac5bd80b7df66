"""Shared test set-up: a safe environment before any product module is imported."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

# Fake credentials and local settings: no test may reach a real AWS account.
_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "TABLE_NAME": "proactive-test",
    "RUN_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/proactive-runs",
    "AUTH_MODE": "local",
    "LOCAL_JWT_SECRET": "test-only-signing-key-0123456789abcdef",
    "POWERTOOLS_SERVICE_NAME": "proactive",
    "POWERTOOLS_METRICS_NAMESPACE": "Proactive",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    # Monitors in the tests read from HTTP servers on loopback, which is otherwise refused.
    "OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8,::1/128",
    # Workspaces' secrets in a file (each test gets its own, below); the platform's in the environment.
    "SECRETS_BACKEND": "file",
    "SECRETS_FILE": os.path.join(tempfile.mkdtemp(prefix="proactive-tests-"), "secrets.json"),
    # Retries come after a second or two, not after ten.
    "RETRY_BASE_SECONDS": "1",
    # Sealed secrets' data keys are wrapped by a key file of this run's own (made on first use).
    "TABLE_KEY_BACKEND": "local",
    "TABLE_KEY_FILE": os.path.join(tempfile.mkdtemp(prefix="proactive-tests-"), "table.key"),
}
for _key, _value in _ENV.items():
    os.environ[_key] = _value
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(autouse=True)
def _own_workspace_secrets(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Each test starts with no workspace secrets: a secrets file of its own, nothing remembered."""
    from proactive import secret_store
    from proactive.settings import get_settings

    monkeypatch.setenv("SECRETS_FILE", str(tmp_path_factory.mktemp("secrets") / "secrets.json"))
    get_settings.cache_clear()
    secret_store.forget()
    yield
    secret_store.forget()
    get_settings.cache_clear()
