"""The goal loop's decisions, as pure functions with no I/O.

- `rules`: what a workspace asks the loop to watch, validated.
- `goals`: which goals an analysis sets, from forecasts, anomalies and patterns.
- `planner`: which action serves each goal, and when it runs.
- `impact`: what an action changed, how the action's record learns from it, how a goal ends.
"""
