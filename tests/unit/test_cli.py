"""`proactive token`, run as a person runs it: the installed command, in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

PROACTIVE = str(Path(sys.executable).parent / "proactive")
RULE = "1 to 128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit"


def proactive(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROACTIVE, *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workspace", ""], f"--workspace '' is not a workspace id ({RULE})"),
        (["--workspace", "ws 1"], f"--workspace 'ws 1' is not a workspace id ({RULE})"),
        (["--workspace", "ws-1,ws-2"], f"--workspace 'ws-1,ws-2' is not a workspace id ({RULE})"),
        (["--workspace", "ws-1", "--workspace=.x"], f"--workspace '.x' is not a workspace id ({RULE})"),
        (["--workspace", "w" * 129], f"--workspace '{'w' * 129}' is not a workspace id ({RULE})"),
        (["--ttl-hours", "1e308"], "--ttl-hours must be more than 0 and at most 8760 (a year), not 1e308"),
        (["--ttl-hours", "inf"], "--ttl-hours must be more than 0 and at most 8760 (a year), not inf"),
        (["--ttl-hours", "nan"], "--ttl-hours must be more than 0 and at most 8760 (a year), not nan"),
        (["--ttl-hours=-1"], "--ttl-hours must be more than 0 and at most 8760 (a year), not -1"),
        (["--ttl-hours", "0"], "--ttl-hours must be more than 0 and at most 8760 (a year), not 0"),
        (["--ttl-hours", "8761"], "--ttl-hours must be more than 0 and at most 8760 (a year), not 8761"),
        (["--ttl-hours", "soon"], "--ttl-hours 'soon' is not a number of hours"),
    ],
)
def test_a_bad_token_request_is_refused_in_one_line_with_the_usage_exit_code(
    args: list[str], message: str
) -> None:
    if "--workspace" not in args:
        args = ["--workspace", "ws-456", *args]
    done = proactive("token", *args)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"proactive token: {message}\n")


def test_a_good_request_prints_a_token_the_local_stack_accepts() -> None:
    done = proactive("token", "--workspace", "ws-456", "--workspace", "team.a:1", "--ttl-hours", "0.5")
    assert (done.returncode, done.stderr) == (0, "")
    claims = jwt.decode(
        done.stdout.strip(), os.environ["LOCAL_JWT_SECRET"], algorithms=["HS256"], audience="proactive"
    )
    assert claims["workspaces"] == ["team.a:1", "ws-456"]
    assert abs(claims["exp"] - (time.time() + 1800)) < 60
