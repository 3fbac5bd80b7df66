"""Secrets that configuration refers to by name (e.g. a monitor's API key header).

In AWS they live in SSM Parameter Store under a prefix (read through Powertools parameters,
decrypted, cached for five minutes); locally, in environment variables PROACTIVE_SECRET_<NAME>.
"""

from __future__ import annotations

import os
import re

from proactive.settings import get_settings

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


class SecretMissing(LookupError):
    """No secret by that name (the message names it, never its value)."""


def env_name(name: str) -> str:
    return "PROACTIVE_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def resolve(name: str) -> str:
    if not NAME.match(name):
        raise SecretMissing(f"{name!r} is not a valid secret name")
    settings = get_settings()
    if settings.secrets_backend == "env":
        value = os.environ.get(env_name(name))
        if value is None:
            raise SecretMissing(f"secret {name!r} is not set (environment variable {env_name(name)})")
        return value
    from aws_lambda_powertools.utilities import parameters

    try:
        return str(parameters.get_parameter(f"{settings.secrets_prefix}{name}", decrypt=True, max_age=300))
    except parameters.exceptions.GetParameterError as exc:
        raise SecretMissing(
            f"secret {name!r} could not be read from {settings.secrets_prefix}{name}"
        ) from exc
