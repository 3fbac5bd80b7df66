"""AWS clients, made on first use by whoever needs one.

Making a client reads botocore's service models (tens of milliseconds), so a function pays for
it only once it talks to that service. botocore's default session is not thread-safe, and the
worker makes clients from several threads, so they are made one at a time.
"""

from __future__ import annotations

import threading
from typing import Any

_making = threading.Lock()


def client(service: str) -> Any:
    """A new client for `service` (callers keep it: clients are thread-safe once made)."""
    import boto3

    with _making:
        return boto3.client(service)  # type: ignore[call-overload]
