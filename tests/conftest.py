"""Shared test set-up: a safe environment before any product module is imported."""

from __future__ import annotations

import os

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
    "SECRETS_BACKEND": "env",
    # Retries come after a second or two, not after ten.
    "RETRY_BASE_SECONDS": "1",
}
for _key, _value in _ENV.items():
    os.environ[_key] = _value
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)
