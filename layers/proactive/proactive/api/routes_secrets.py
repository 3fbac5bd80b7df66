"""A workspace's secrets: set (create or replace), list with what uses each, delete. No answer
holds a secret's value: it goes in once, to the secret store, and is only read when a resource
of the same workspace is run, checked or sent."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from proactive import workspace_secrets
from proactive.api.deps import CurrentPrincipal, Force, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.errors import InvalidInput
from proactive.models.common import Page
from proactive.models.secrets import Secret, SecretListed, SecretSet
from proactive.secret_store import NAME

router = APIRouter(prefix="/api/secrets", tags=["secrets"])

SecretNamePath = Annotated[
    str, Path(pattern=NAME.pattern, description="1 to 128 letters, digits, '_', '.' or '-'.")
]


@router.get("", response_model=Page[SecretListed])
def list_secrets(workspace: WorkspaceScope, store: StoreDep) -> dict[str, object]:
    """The workspace's secrets by name, each with the resources that name it (`used_by`); never a
    value. One page holds them all."""
    return {"items": workspace_secrets.list_secrets(store, workspace), "next_cursor": None}


@router.put(
    "/{name}",
    response_model=Secret,
    responses={201: {"model": Secret, "description": "The secret was created."}},
)
def put_secret(
    name: SecretNamePath,
    body: SecretSet,
    principal: CurrentPrincipal,
    store: StoreDep,
    response: Response,
    workspace_id: Annotated[str | None, Query(description="Or in the body.")] = None,
) -> Any:
    """Create (201) or replace (200) the workspace's secret `name`. Resources of this workspace
    name it (`{"secret": "<name>"}` in a header, an llm agent's `api_key_secret`, an ntfy
    channel's `token_secret`); no other workspace's can. The answer is the secret's metadata."""
    if workspace_id and body.workspace_id and workspace_id != body.workspace_id:
        raise InvalidInput("workspace_id differs between the query and the body", field="workspace_id")
    workspace = body.workspace_id or workspace_id or principal.only_workspace()
    principal.require(workspace)
    secret, created = workspace_secrets.put_secret(store, workspace, name, body.value, utcnow())
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return secret


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_secret(
    name: SecretNamePath, workspace: WorkspaceScope, store: StoreDep, force: Force = False
) -> Response:
    """Delete the workspace's secret. While resources name it, this answers 409 naming them (in
    `details`); with `force=true`, monitors and actions are paused (`paused_reason`) and channels
    turned off (`disabled_reason`) first. Agents have no off switch: their runs fail, naming the
    secret, until it is set again."""
    workspace_secrets.delete_secret(store, workspace, name, utcnow(), force=force)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
