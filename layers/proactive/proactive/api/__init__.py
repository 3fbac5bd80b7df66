"""The management API (FastAPI). In AWS it runs behind Mangum; locally, under uvicorn."""

from proactive.api.app import create_app

__all__ = ["create_app"]
