"""A schedule's cron expression in words: "0 9 * * 1-5" is "At 09:00, Monday through Friday".

The words come from cron-descriptor, in English with a 24-hour clock whatever the machine's locale.
The expressions schedules accept (`proactive.lib.cron`) are five fields or a macro; a macro is
described as the five fields it stands for. An expression the describer cannot put in words (a
form it does not know) is given back as "Runs when … matches", never as an error: a schedule's
timing is decided by `proactive.lib.cron`, and its description is only a reading aid.

Only the API's routes import this module (the dispatcher's functions do not ship the describer).
"""

from __future__ import annotations

from functools import lru_cache

from cron_descriptor import ExpressionDescriptor, Options

# What each macro `proactive.lib.cron` accepts stands for, as five fields.
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def fallback(expression: str) -> str:
    """What is said of an expression the describer cannot put in words."""
    return f"Runs when {expression!r} matches (minute hour day-of-month month day-of-week)"


@lru_cache(maxsize=1024)
def describe(expression: str) -> str:
    """`expression` (as `proactive.lib.cron` normalised it) in words, e.g. "At 09:00, only on
    Monday"; `fallback(expression)` when it cannot be described. Never raises."""
    fields = MACROS.get(expression.strip().lower(), expression)
    options = Options(locale_code="en_US", use_24hour_time_format=True)
    try:
        words = ExpressionDescriptor(fields, options).get_description()
    except Exception:  # the describer's own errors and any it did not foresee
        return fallback(expression)
    text = str(words).strip()
    # A part the describer had no word for leaves a gap ("on the  Monday"): not a description.
    if not text or "  " in text:
        return fallback(expression)
    return text
