"""What the API and stream functions load before their first request, and what a request loads:
each in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

# Never at start-up: the goal loop's analytics and the LLM runtime with the providers' SDKs.
HEAVY = ["numpy", "pydantic_ai", "openai", "anthropic", "genai_prices", "proactive.agents.runtimes.llm"]

REPORT = """
import json, sys
def loaded(names):
    return sorted(n for n in names if n in sys.modules)
routes = sorted(m for m in sys.modules if m.startswith("proactive.api.routes_"))
print(json.dumps({"heavy": loaded(sys.argv[1:]), "routes": routes, "app": loaded(["proactive.api.app"])}))
"""


def _run(code: str) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", code + REPORT, *HEAVY], capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout.splitlines()[-1]))


def test_the_api_functions_init_loads_no_route_nor_numpy_nor_llm_sdk() -> None:
    loaded = _run("from proactive.dev.local import load_handler\nload_handler('api')\n")
    assert loaded["heavy"] == []
    assert loaded["routes"] == []


def test_a_goal_loop_request_loads_its_prefixs_routes_and_still_no_numpy() -> None:
    # No token: the request is refused (401) after its routes are built, before any AWS call.
    loaded = _run(
        "from proactive.dev.local import LocalContext, http_api_event, load_handler\n"
        "api = load_handler('api')\n"
        "event = http_api_event('GET', '/api/autonomous/status', {}, b'')\n"
        "assert api.handler(event, LocalContext('ApiFunction'))['statusCode'] == 401\n"
    )
    assert loaded["heavy"] == []
    assert loaded["routes"] == [
        "proactive.api.routes_actions",
        "proactive.api.routes_approvals",
        "proactive.api.routes_autonomy",
        "proactive.api.routes_loop",
        "proactive.api.routes_series",
    ]
    assert loaded["app"] == ["proactive.api.app"]


def test_the_stream_app_loads_only_the_streamed_route() -> None:
    loaded = _run("from proactive.api import create_stream_app\ncreate_stream_app()\n")
    assert loaded["heavy"] == []
    assert loaded["routes"] == []
    assert loaded["app"] == []  # the whole API's module, with its routers table and docs
