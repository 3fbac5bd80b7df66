"""Runtime settings, validated once from the environment at start-up.

A missing or malformed variable fails loudly when a handler module is imported,
not halfway through a request.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    table_name: str = Field(min_length=3, description="The single DynamoDB table.")
    run_queue_url: str = Field(min_length=1, description="SQS queue the worker consumes.")

    # "apigw": API Gateway's JWT authorizer verified the token; claims come from the event.
    # "local": the app verifies HS256 tokens itself (local stack and tests).
    auth_mode: Literal["apigw", "local"] = "apigw"
    local_jwt_secret: str | None = None
    jwt_issuer: str = "proactive-local"
    jwt_audience: str = "proactive"
    workspaces_claim: str = "workspaces"

    # Dispatcher: ticks every `tick_seconds` and looks one tick (plus a margin) ahead.
    tick_seconds: int = Field(default=60, ge=10, le=900)
    lookahead_margin_seconds: int = Field(default=5, ge=0, le=60)
    # An occurrence older than this when the dispatcher first sees it was missed (downtime).
    missed_after_seconds: int = Field(default=120, ge=30)
    # Bounds the work one tick does for one schedule while catching up; the rest waits a tick.
    max_catch_up_per_tick: int = Field(default=100, ge=1, le=1000)
    due_shards: int = Field(default=4, ge=1, le=64)

    # Worker: agent failures are retried up to this many attempts, then the run is failed.
    run_max_attempts: int = Field(default=3, ge=1, le=10)
    # How long a running run holds its lease before another delivery may take it over. Longer
    # than the worker's timeout (60 s), shorter than the queue's visibility timeout (360 s), so
    # the redelivery after a worker died mid-run finds the lease expired and takes the run over.
    run_lease_seconds: int = Field(default=120, ge=30)

    run_retention_days: int = Field(default=90, ge=1)

    # Webhooks: the public base URL for webhook_url (default: the URL the API was called at,
    # which is the HTTP API's own domain in AWS), body limit, delivery log retention, and how long
    # a regenerated secret's predecessor stays valid.
    public_base_url: str | None = None
    webhook_max_body_bytes: int = Field(default=256 * 1024, ge=1024, le=6 * 1024 * 1024)
    delivery_retention_days: int = Field(default=7, ge=1)
    webhook_secret_grace_seconds: int = Field(default=24 * 3600, ge=0)

    # Monitors: outbound requests (networks allowed despite being private, comma-separated CIDRs;
    # the local stack allows loopback), failures before a monitor shows as failing, history TTL.
    outbound_allow_networks: str = ""
    outbound_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    outbound_max_response_bytes: int = Field(default=1_000_000, ge=1024, le=10_000_000)
    monitor_failure_threshold: int = Field(default=3, ge=1, le=100)
    check_retention_days: int = Field(default=30, ge=1)
    metric_retention_days: int = Field(default=30, ge=1)

    # Named secrets: "ssm" (Parameter Store under secrets_prefix) in AWS, "env" locally.
    secrets_backend: Literal["ssm", "env"] = "ssm"
    secrets_prefix: str = "/proactive/secrets/"
    claim_retention_days: int = Field(default=30, ge=1)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; tests clear the cache to change them)."""
    return Settings()  # type: ignore[call-arg]
