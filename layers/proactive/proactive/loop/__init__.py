"""The goal loop.

Its decisions are pure functions with no I/O:

- `rules`: what a workspace asks the loop to watch, validated.
- `goals`: which goals an analysis sets, from forecasts, anomalies and patterns.
- `planner`: which action serves each goal, and when it runs.
- `impact`: what an action changed, how the action's record learns from it, how a goal ends.

What the workspace configures, and what it is shown, go through the store:

- `settings`: the workspace's goal-loop settings (forecasting, executor, agent, rules), its mode
  and status.
- `predictions`: each metric's forecast from its stored points.
- `analysis`: one analysis of a workspace (forecasts, anomaly scores, patterns, goals set and
  stored).
- `actions`: the action handlers a workspace registers (agent, http, notify), and their record.
- `insights`: the executor's statistics and what its record has learned, per action.
"""
