"""moto's Batch package (and all of EC2 with it) loads when first used, not with Step Functions."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from proactive.dev.state_machine import batch_on_first_use
batch_on_first_use()
import moto.stepfunctions.parser.models
print("ec2 with step functions:", "moto.ec2.models" in sys.modules)
from moto.batch import batch_backends
import moto.batch
print("batch when used:", type(batch_backends).__name__, moto.batch.batch_backends is batch_backends)
print("ec2 then:", "moto.ec2.models" in sys.modules)
"""


def test_batch_is_loaded_on_its_first_use_only() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "ec2 with step functions: False",
        "batch when used: BackendDict True",
        "ec2 then: True",
    ]
