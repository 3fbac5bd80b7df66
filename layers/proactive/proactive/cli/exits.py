"""The exit codes, as `proactive --help` and the README document them."""

OK = 0
FAILED = 1  # the run failed or was cancelled (with --wait); the API could not be reached
USAGE = 2
NOT_ALLOWED = 3  # not authenticated, or not allowed
NOT_FOUND = 4
REFUSED = 5  # refused as invalid or conflicting
TIMED_OUT = 124  # --wait timed out
INTERRUPTED = 130
