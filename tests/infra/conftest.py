"""The template as CloudFormation receives it: expanded by the SAM translator, once per session."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from proactive.dev.local import REPO_ROOT

CHECK = REPO_ROOT / "infra" / "template_check.py"


def sam_python() -> Path:
    """The Python of aws-sam-cli's own virtualenv (`make test` passes SAM_CLI), which holds the
    translator; the project's own virtualenv does not."""
    sam = os.environ.get("SAM_CLI") or str(REPO_ROOT / ".venv-sam" / "bin" / "sam")
    python = Path(sam).parent / "python"
    if not python.exists():
        pytest.fail(f"no aws-sam-cli virtualenv at {python.parent}; `make test` installs it")
    return python


def template_check(template: Path, expanded: Path | None = None) -> subprocess.CompletedProcess[str]:
    """infra/template_check.py on `template`, as `make validate` runs it."""
    args = [str(sam_python()), str(CHECK), "--template", str(template)]
    if expanded:
        args += ["--expanded", str(expanded)]
    return subprocess.run(args, capture_output=True, text=True, check=False, cwd=REPO_ROOT, timeout=300)


@pytest.fixture(scope="session")
def expanded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("expanded") / "template.json"
    result = template_check(REPO_ROOT / "template.yaml", path)
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(json.loads(path.read_text()))
