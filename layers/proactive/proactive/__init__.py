"""Proactive: a serverless platform that makes AI agents proactive.

The Python SDK's names (`proactive.sdk.__all__`) are importable from here (`from proactive import
Scheduler`); they load only when asked for, so the platform's own functions never import them.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Only a capitalised name can be one of the SDK's (all classes): `from proactive import aws`
    # asks here for `aws` before importing the submodule, and that must not load the SDK.
    if name[:1].isupper():
        try:
            sdk = importlib.import_module("proactive.sdk")
        except ModuleNotFoundError as exc:
            if exc.name != "proactive.sdk":
                raise
            sdk = None  # the Lambda layer ships without the SDK
        if sdk is not None and name in sdk.__all__:
            return getattr(sdk, name)
    raise AttributeError(f"module 'proactive' has no attribute {name!r}")
