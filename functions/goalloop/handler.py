"""Goal loop: one step of the goal loop's state machine -> what the next state reads.

Step Functions invokes this function for every Task of `infra/goal_loop.asl.json` with
`{"step": <name>, "state": {...}}` (and `token` where the Task waits, `error` where a Catch led
to it); `proactive.loop.steps` says what each step does. An exception is the Task's error: its
type names the error the ASL's Retry and Catch match (`ActionFailed`, `ActionRetryable`, ...).
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from proactive import wiring
from proactive.clock import utcnow
from proactive.loop import steps
from proactive.observability import instrumented
from proactive.queue import RunQueue
from proactive.store import Store
from proactive.wiring import agents as wiring_agents

wiring.install()
wiring_agents.install()

store = Store()
queue = RunQueue()


@instrumented(correlation_id_path="state.analysis_id")
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return steps.handle(store, queue, event, utcnow())
