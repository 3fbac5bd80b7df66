"""Management API: API Gateway HTTP API events -> the FastAPI app (via Mangum).

The app is built lazily (`proactive.api.create_lazy_app`): the init loads the web framework and
checks the settings; each path prefix's routes load on its first request."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from proactive.api import create_lazy_app
from proactive.observability import instrumented
from proactive.settings import get_settings

get_settings()
app = create_lazy_app()
_asgi = Mangum(app, lifespan="off")


@instrumented(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _asgi(event, context)  # type: ignore[arg-type]
