"""Goal loop: one step of the goal loop's state machine -> what the next state reads.

Step Functions invokes this function for every Task of `infra/goal_loop.asl.json` with
`{"step": <name>, "state": {...}}` (and `token` where the Task waits, `error` where a Catch led
to it); `proactive.loop.steps` says what each step does. An exception is the Task's error: its
type names the error the ASL's Retry and Catch match (`ActionFailed`, `ActionRetryable`, ...).
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from proactive import wiring
from proactive.context import Context
from proactive.loop import steps
from proactive.observability import instrumented
from proactive.wiring import agents as wiring_agents

wiring_agents.install()

ctx = Context.create(wiring.bus())


@instrumented(correlation_id_path="state.analysis_id")
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return steps.handle(ctx.store, ctx.queue, ctx.bus, event, ctx.now())
