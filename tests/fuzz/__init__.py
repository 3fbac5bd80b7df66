"""Coverage-guided fuzzing (atheris, on libFuzzer) of the code that reads untrusted text: webhook
signatures and bodies, monitor conditions, cron expressions and time zones.

Each target module has a `target()` context manager that yields the function run on one input;
it returns a short label of what the input reached and raises only where the target's contract is
broken. `python -m tests.fuzz [target ...] [--seconds N]` runs each target in a process of its
own (see `runner`); `test_fuzz_short.py` does the same for a few seconds per target.

Nothing here imports the product at package level: the child process must start atheris'
instrumentation before the product's modules are imported.
"""
