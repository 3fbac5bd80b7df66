"""Shared test set-up: a safe environment before any product module is imported."""

from __future__ import annotations

import os
import signal
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

# The tests' Ctrl-C reaches the processes they start (the CLI, the local stack) as a terminal's
# does. A run started as a shell's background job has SIGINT ignored, which every process it
# starts would inherit; here it is the default again, for them.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# What every function registers where it starts (runtimes, context sources, the mining work), as
# a function would have done before the product code a test calls directly. The event bus is no
# registration: each test hands the code it calls a bus (`proactive.wiring.bus()`, or its own).
from proactive.wiring import agents as agent_wiring  # noqa: E402
from proactive.wiring import mining as mining_wiring  # noqa: E402

agent_wiring.install()
mining_wiring.install()


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


def _file_rank(items: list[pytest.Item]) -> tuple[int, int]:
    """Where a test file goes in the run. Under `-n --dist loadfile --no-loadscope-reorder` files
    are handed to the workers in this order, each taking the next as it runs out:
    0. those with a test that takes a minute or more (they mostly wait): the waits start at once;
    1. the end-to-end files on the shared local stack, then 2. those also in the shared browser:
       one after the other, a worker keeps its stack and its browser from one file to the next
       (`tests/e2e/conftest.py`) rather than starting them again between other files;
    3. the other end-to-end and infra files (their own stacks, `sam build`);
    4. the rest, most tests first, filling in around them."""
    if any(item.get_closest_marker("long") for item in items):
        return (0, -len(items))
    folder = items[0].path.parent.name
    uses = {name for item in items for name in getattr(item, "fixturenames", ())}
    if folder == "e2e" and "browser" in uses:
        return (2, -len(items))
    if folder == "e2e" and "stack" in uses:
        return (1, -len(items))
    if folder in ("e2e", "infra"):
        return (3, -len(items))
    return (4, -len(items))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    by_file: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    order = sorted(by_file, key=lambda path: _file_rank(by_file[path]))
    items[:] = [item for path in order for item in by_file[path]]
