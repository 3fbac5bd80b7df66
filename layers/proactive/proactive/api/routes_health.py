"""`/health`: up, and which version (no token; the HTTP API's own route)."""

from __future__ import annotations

from fastapi import APIRouter

from proactive import __version__

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}
