"""Runtime settings, read from the environment and checked once, at start-up.

Each setting is a dataclass field named after its variable (`TICK_SECONDS` -> `tick_seconds`),
with its bounds beside it. Every invalid variable is reported at once, when a handler module is
imported, never halfway through a request. (The standard library is enough here, and it keeps
pydantic off the cold path of the functions that do not need it, such as webhook ingest.)
"""

from __future__ import annotations

import ipaddress
import os
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from functools import cache
from typing import Any, Literal


class SettingsError(ValueError):
    """One or more environment variables are missing or invalid; the message lists each."""


def setting(
    default: Any = MISSING,
    *,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    min_length: int | None = None,
    check: Callable[[Any], object] | None = None,
) -> Any:
    """A field read from the environment, with its bounds. `check` raises ValueError if a value
    (already of the field's type) cannot be used."""
    rules = {"ge": ge, "le": le, "gt": gt, "min_length": min_length, "check": check}
    return field(default=default, metadata={"rules": rules})


def _networks(text: str) -> None:
    for part in text.split(","):
        if part.strip():
            try:
                ipaddress.ip_network(part.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"{part.strip()!r} is not a network in CIDR notation (e.g. 10.0.0.0/8)"
                ) from None


# The rule of a secret's name (proactive.secret_store.NAME; settings import nothing of the package).
_SECRET_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def _secrets_prefix(text: str) -> None:
    if not re.fullmatch(r"/(?:[A-Za-z0-9_.-]+/)*", text):
        raise ValueError("must be a Parameter Store path starting and ending with '/', e.g. /proactive/prod/")


def shared_secret_pairs(text: str) -> dict[str, str]:
    """SHARED_SECRETS as {alias: platform name}; ValueError naming the first pair that is wrong."""
    pairs: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        alias, equals, platform = (p.strip() for p in part.partition("="))
        if not equals or not _SECRET_NAME.match(alias) or not _SECRET_NAME.match(platform):
            raise ValueError(
                f"{part.strip()[:100]!r} is not alias=platform_name (secret names: 1 to 128 letters, "
                "digits, '_', '.' or '-')"
            )
        if alias in pairs:
            raise ValueError(f"{alias!r} is given more than once")
        pairs[alias] = platform
    return pairs


def _shared_secrets(text: str) -> None:
    shared_secret_pairs(text)


@dataclass(frozen=True)
class Settings:
    table_name: str = setting(min_length=3)
    run_queue_url: str = setting(min_length=1)

    # "apigw": API Gateway's JWT authorizer verified the token; claims come from the event.
    # "local": the app verifies HS256 tokens itself (local stack and tests).
    # apigw: API Gateway verified the token; jwks: the app verifies it against the issuer's keys
    # (JWKS_URL, default <issuer>/.well-known/jwks.json); local: HS256 with the local secret.
    auth_mode: Literal["apigw", "jwks", "local"] = setting("apigw")
    jwks_url: str | None = setting(None)
    local_jwt_secret: str | None = setting(None)
    jwt_issuer: str = setting("proactive-local")
    jwt_audience: str = setting("proactive")
    workspaces_claim: str = setting("workspaces", min_length=1)
    # The console's optional sign-in through Cognito's hosted UI (authorization code with PKCE):
    # the user pool domain (https://<prefix>.auth.<region>.amazoncognito.com) and a public app
    # client's id (no client secret). Both set, or the console offers only tokens and links.
    console_cognito_domain: str | None = setting(None)
    console_cognito_client_id: str | None = setting(None)

    # Dispatcher: ticks every `tick_seconds` and looks one tick (plus a margin) ahead.
    tick_seconds: int = setting(60, ge=10, le=900)
    lookahead_margin_seconds: int = setting(5, ge=0, le=60)
    # An occurrence older than this when the dispatcher first sees it was missed (downtime).
    missed_after_seconds: int = setting(120, ge=30)
    # Bounds the work one tick does for one schedule while catching up; the rest waits a tick.
    max_catch_up_per_tick: int = setting(100, ge=1, le=1000)
    # The due index is spread over this many shards; a tick fans out one invocation per shard.
    due_shards: int = setting(4, ge=1, le=256)
    # How a tick reaches its shards: "lambda" invokes this function once per shard
    # (asynchronously); "inline" works through them in this invocation.
    dispatch_fanout: Literal["inline", "lambda"] = setting("inline")
    # Items one tick dispatches at once (each is a few independent writes and one send).
    dispatch_concurrency: int = setting(8, ge=1, le=64)

    # Worker: agent failures are retried up to this many attempts, then the run is failed.
    run_max_attempts: int = setting(3, ge=1, le=10)
    # How long a running run holds its lease before another delivery may take it over. Longer
    # than the worker's timeout (300 s), shorter than the queue's visibility timeout (1800 s), so
    # the redelivery after a worker died mid-run finds the lease expired and takes the run over.
    run_lease_seconds: int = setting(360, ge=30)
    run_retention_days: int = setting(90, ge=1)
    # Retries after a failure that may pass: exponential back-off with full jitter, from the
    # base, doubling each attempt, never more than the cap (SQS delays a message 15 min at most).
    retry_base_seconds: int = setting(10, ge=1, le=900)
    retry_cap_seconds: int = setting(900, ge=1, le=900)

    # Webhooks: the public base URL for webhook_url (default: the URL the API was called at,
    # which is the HTTP API's own domain in AWS), body limit, delivery log retention, and how long
    # a regenerated secret's predecessor stays valid.
    public_base_url: str | None = setting(None)
    webhook_max_body_bytes: int = setting(256 * 1024, ge=1024, le=6 * 1024 * 1024)
    delivery_retention_days: int = setting(7, ge=1)
    webhook_secret_grace_seconds: int = setting(24 * 3600, ge=0)

    # Monitors: outbound requests (networks allowed despite being private, comma-separated CIDRs;
    # the local stack allows loopback), failures before a monitor shows as failing, history TTL.
    outbound_allow_networks: str = setting("", check=_networks)
    outbound_timeout_seconds: float = setting(10.0, gt=0, le=60)
    outbound_max_response_bytes: int = setting(1_000_000, ge=1024, le=10_000_000)
    monitor_failure_threshold: int = setting(3, ge=1, le=100)
    check_retention_days: int = setting(30, ge=1)
    metric_retention_days: int = setting(30, ge=1)
    # The goal loop's inputs: metric points and recorded events expire this long after their
    # timestamp (a metric's catalogue entry and detector state, this long after its last point).
    series_retention_days: int = setting(30, ge=1)

    # Notifications: how long the log keeps them, and how often one is tried before it fails.
    notification_retention_days: int = setting(30, ge=1)
    notification_max_attempts: int = setting(6, ge=1, le=20)

    # Conversations: how long a turn may take when answered in the request (the HTTP API gives up
    # at 30 s) and when streamed (the streaming function runs up to 15 min); how many earlier
    # messages the agent is shown on each turn.
    conversation_turn_seconds: int = setting(25, ge=1, le=900)
    conversation_stream_seconds: int = setting(840, ge=1, le=900)
    conversation_history_messages: int = setting(100, ge=1, le=1000)

    # Named secrets (proactive.secret_store): "ssm", Parameter Store under secrets_prefix
    # (`workspaces/<ws>/<name>`, `platform/<name>`), in AWS; "file" locally: workspace values in
    # secrets_file (mode 0600), platform values in PROACTIVE_SECRET_<NAME>. shared_secrets grants
    # platform secrets to every workspace: comma-separated `alias=platform_name` pairs.
    secrets_backend: Literal["ssm", "file"] = setting("ssm")
    secrets_prefix: str = setting("/proactive/", check=_secrets_prefix)
    secrets_file: str = setting(".proactive/secrets.json", min_length=1)
    shared_secrets: str = setting("", check=_shared_secrets)
    claim_retention_days: int = setting(30, ge=1)

    # Signing secrets in the table are sealed (proactive.sealing) with data keys from a KMS key in
    # AWS ("kms": TABLE_KEY_ID, its ARN, id or alias), or from a key file made on first use ("local":
    # TABLE_KEY_FILE, by default beside the local stack's data: losing it loses those secrets).
    table_key_backend: Literal["kms", "local"] = setting("kms")
    table_key_id: str | None = setting(None)
    table_key_file: str = setting(".proactive/data/table.key", min_length=1)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from `environ` (default: the process environment); SettingsError
        lists every variable that is missing or invalid."""
        env = {k.upper(): v for k, v in (os.environ if environ is None else environ).items()}
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in fields(cls):
            name = f.name.upper()
            if name not in env:
                if f.default is MISSING:
                    problems.append(f"{name} is required")
                continue
            try:
                values[f.name] = _check(_convert(env[name], hints[f.name]), f.metadata["rules"])
            except ValueError as exc:
                problems.append(f"{name}={env[name][:100]!r}: {exc}")
        if problems:
            raise SettingsError("invalid settings: " + "; ".join(problems))
        return cls(**values)


def _convert(text: str, kind: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return None if text == "" else _convert(text, options[0])
    if origin is Literal:
        choices = typing.get_args(kind)
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(map(str, choices))}")
        return text
    if kind is bool:
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError("must be true or false")
        return lowered in ("true", "1", "yes")
    if kind is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError("must be a whole number") from None
    if kind is float:
        try:
            number = float(text.strip())
        except ValueError:
            raise ValueError("must be a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        return number
    return text


def _check(value: Any, rules: Mapping[str, Any]) -> Any:
    if value is None:
        return value
    if rules["ge"] is not None and value < rules["ge"]:
        raise ValueError(f"must be at least {rules['ge']}")
    if rules["le"] is not None and value > rules["le"]:
        raise ValueError(f"must be at most {rules['le']}")
    if rules["gt"] is not None and value <= rules["gt"]:
        raise ValueError(f"must be more than {rules['gt']}")
    if rules["min_length"] is not None and len(value) < rules["min_length"]:
        raise ValueError(f"must be at least {rules['min_length']} characters")
    if rules["check"] is not None:
        rules["check"](value)
    return value


def default(name: str) -> Any:
    """The default of a setting (e.g. for tools that issue tokens the settings will accept)."""
    return next(f.default for f in fields(Settings) if f.name == name)


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once; tests clear the cache to change them)."""
    return Settings.from_env()
