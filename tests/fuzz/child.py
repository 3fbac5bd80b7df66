"""One fuzz target under atheris: `python -m tests.fuzz.child TARGET [libFuzzer arguments]`.

The runner starts this in a process of its own: libFuzzer exits the process when it finds a crash
or its time is up. The product's modules (and croniter's) are imported under atheris'
instrumentation, so that coverage of their branches guides the mutations.
"""

from __future__ import annotations

import importlib
import sys

import atheris

from tests import conftest  # noqa: F401  (importing it sets the tests' environment: fake AWS credentials)

# Only the code under test is instrumented: instrumenting boto3 or moto would slow every input
# down without telling the fuzzer anything about the product's branches.
INSTRUMENTED = ["proactive", "croniter"]


def main(argv: list[str]) -> None:
    name, libfuzzer_args = argv[1], argv[2:]
    with atheris.instrument_imports(include=INSTRUMENTED):
        module = importlib.import_module(f"tests.fuzz.{name}")
    with module.target() as run:

        def one_input(data: bytes) -> None:
            run(data)  # its label is for the seed tests; libFuzzer reads a returned -1 as "reject"

        atheris.Setup([argv[0], *libfuzzer_args], one_input)
        atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
