"""The GitHub Actions workflows: actionlint passes them (and fails a broken one), and the deploy
workflow keeps its order, its guards and its pinned actions."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from proactive.dev.local import REPO_ROOT

pytestmark = pytest.mark.infra
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
DEPLOY = WORKFLOWS / "deploy.yml"


def _actionlint() -> str:
    """$ACTIONLINT (`make test` passes it), else one on PATH or in the Makefile's tools venv."""
    local = REPO_ROOT / ".venv-tools" / "bin" / "actionlint"
    path = (
        os.environ.get("ACTIONLINT") or shutil.which("actionlint") or (str(local) if local.exists() else "")
    )
    if not path:
        pytest.skip("actionlint is not installed here; `make actionlint` installs it")
    return path


def lint(*files: Path, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    # Where shellcheck is installed, actionlint also checks the run: scripts with it; elsewhere it
    # skips them, so a pass here does not vouch for the scripts unless shellcheck is present.
    return subprocess.run(
        [_actionlint(), "-no-color", "-oneline", *(str(f.relative_to(cwd)) for f in files)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load(path: Path = DEPLOY) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True.
    return {("on" if k is True else k): v for k, v in yaml.safe_load(path.read_text()).items()}


def test_every_workflow_passes_actionlint() -> None:
    workflows = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
    assert DEPLOY in workflows
    result = lint(*workflows)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "reported"),
    [
        # prod waiting on a job that does not exist
        (("needs: deploy-dev", "needs: deploy-staging"), ('"deploy-staging"', "[job-needs]")),
        # a step output that no step sets
        (("steps.stack.outputs.api-url", "steps.stak.outputs.api-url"), ('"stak"', "[expression]")),
        # a push filter key GitHub does not know
        (("branches: [main]", "branch: [main]"), ('"branch"', "[syntax-check]")),
    ],
    ids=["unknown-need", "unknown-step", "unknown-filter"],
)
def test_actionlint_fails_a_broken_copy(
    tmp_path: Path, change: tuple[str, str], reported: tuple[str, str]
) -> None:
    old, new = change
    text = DEPLOY.read_text()
    assert old in text
    broken = tmp_path / ".github" / "workflows" / "deploy.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(text.replace(old, new, 1))

    result = lint(broken, cwd=tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    (error,) = result.stdout.splitlines()
    assert error.startswith(".github/workflows/deploy.yml:"), error
    assert all(part in error for part in reported), error


def test_deploy_runs_checks_then_dev_then_prod_on_push_to_main() -> None:
    workflow = load()
    jobs = workflow["jobs"]
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    assert workflow["permissions"] == {"contents": "read"}
    assert jobs["deploy-dev"]["needs"] == "checks"
    assert jobs["deploy-prod"]["needs"] == "deploy-dev"
    checks = "\n".join(step.get("run", "") for step in jobs["checks"]["steps"])
    assert "bash .ci/run" in checks

    for stage in ("dev", "prod"):
        job = jobs[f"deploy-{stage}"]
        assert job["environment"]["name"] == stage
        # two deploys of one stage never overlap, and none is cut short by the next
        assert job["concurrency"] == {"group": f"deploy-{stage}", "cancel-in-progress": False}
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        assert job["env"]["STAGE"] == stage
        scripts = "\n".join(step.get("run", "") for step in job["steps"])
        assert ".venv-sam/bin/sam deploy" in scripts
        assert '--config-env "$STAGE" --no-confirm-changeset --no-fail-on-empty-changeset' in scripts
        assert "aws cloudformation describe-stacks" in scripts
        assert 'make smoke URL="$API_URL"' in scripts
        credentials = next(s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", ""))
        assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
        smoke = next(s for s in job["steps"] if s.get("name") == "Smoke check")
        assert smoke["env"]["TOKEN"] == "${{ secrets.SMOKE_TOKEN }}"
        # deploy, then read the stack, then smoke it
        names = [s.get("name") for s in job["steps"]]
        assert names.index("Deploy") < names.index("Read the stack's ApiUrl") < names.index("Smoke check")


def test_every_action_is_pinned_to_a_commit_with_its_release_beside_it() -> None:
    uses = re.findall(r"^\s*(?:- )?uses: (\S+)(.*)$", DEPLOY.read_text(), re.M)
    assert uses
    for action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), (action, comment)
