"""Named secrets: the values configuration refers to by name (an API key header, an llm agent's
key, an ntfy token), and the platform's own (the SMTP password).

A workspace's secrets are its own. `resolve(workspace_id, name)` reads the secret `name` of that
workspace and nothing else: whatever name a resource's configuration gives, it can only ever
reach its own workspace's secrets. The platform's secrets live where no workspace configuration
can name them; `resolve_platform(name)` reads them, for the platform's own settings (the SMTP
password) and for the names an operator grants every workspace in SHARED_SECRETS
(`alias=platform_name`: a workspace that names `alias`, and has no secret of that name itself,
gets the platform secret `platform_name`). Nothing else turns a name into a platform secret.

Where the values are (SECRETS_BACKEND):

- `ssm` (AWS): SecureStrings (encrypted with the aws/ssm key) at
  `<SECRETS_PREFIX>workspaces/<workspace>/<name>` and `<SECRETS_PREFIX>platform/<name>`. What a
  container read is kept for five minutes (that a secret is missing, for thirty seconds), and
  forgotten as soon as this process writes or deletes it.
- `file` (the local stack, tests): workspace values in one JSON file (SECRETS_FILE,
  `{workspace: {name: value}}`, mode 0600, replaced whole by each write); platform values in
  environment variables PROACTIVE_SECRET_<NAME>, which only the operator sets.

No message or log line from here holds a value: errors name the secret and its workspace only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from proactive.settings import Settings, get_settings, shared_secret_pairs

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
# A workspace id as the API takes it (models.common.WORKSPACE_ID; this module stays below models).
_WORKSPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
# Parameter Store's standard tier holds values of at most 4 KB.
MAX_VALUE_BYTES = 4096
# How long a container keeps what it read from Parameter Store: a value, and that there is none.
FOUND_SECONDS = 300.0
MISSING_SECONDS = 30.0


class SecretMissing(LookupError):
    """No secret by that name for the caller (the message names it, never its value)."""


class SecretUnreadable(SecretMissing):
    """The secret could not be read: the store did not answer. Trying again later may work."""


class SecretStoreError(Exception):
    """A secret could not be written or deleted: the store did not answer or refused (the
    message names the secret and the store's error code, never the value)."""


def env_name(name: str) -> str:
    """The environment variable a platform secret is read from locally."""
    return "PROACTIVE_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def value_problem(value: str) -> str | None:
    """What makes `value` unusable as a secret's value (it is not repeated), or None."""
    if not value:
        return "must not be empty"
    if "\0" in value:
        return "must not contain a NUL character"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "must be text (it holds an unpaired surrogate)"
    if size > MAX_VALUE_BYTES:
        return f"is {size} bytes; a secret holds at most {MAX_VALUE_BYTES}"
    return None


def _segment(workspace_id: str) -> str:
    """A workspace id as one Parameter Store path segment, which may hold letters, digits, '_',
    '.' and '-': '.' and ':' are escaped ('.2e', '.3a'), so that no two ids share a segment."""
    return workspace_id.replace(".", ".2e").replace(":", ".3a")


def workspace_path(prefix: str, workspace_id: str, name: str) -> str:
    return f"{prefix}workspaces/{_segment(workspace_id)}/{name}"


def platform_path(prefix: str, name: str) -> str:
    return f"{prefix}platform/{name}"


def _check(workspace_id: str, name: str) -> None:
    if not NAME.match(name):
        raise SecretMissing(f"{name[:140]!r} is not a valid secret name")
    if not _WORKSPACE.match(workspace_id):
        raise SecretMissing(f"secret {name!r}: {workspace_id[:140]!r} is not a workspace id")


# -- reading ---------------------------------------------------------------------------------------


def resolve(workspace_id: str, name: str) -> str:
    """The value of the secret `name` of workspace `workspace_id`: the workspace's own, else the
    platform secret SHARED_SECRETS grants every workspace under that name. Never another
    workspace's secret, never a platform secret by its own name. SecretMissing naming the secret
    and the workspace (SecretUnreadable when the store did not answer)."""
    _check(workspace_id, name)
    settings = get_settings()
    value = _read_workspace(settings, workspace_id, name)
    if value is not None:
        return value
    granted = shared_secret_pairs(settings.shared_secrets).get(name)
    if granted is None:
        raise SecretMissing(f"secret {name!r} is not set in workspace {workspace_id!r}")
    value = _read_platform(settings, granted)
    if value is None:
        raise SecretMissing(
            f"secret {name!r} is not set in workspace {workspace_id!r}, and the platform secret "
            f"SHARED_SECRETS grants under that name is not set either"
        )
    return value


def resolve_platform(name: str) -> str:
    """A platform secret (one the operator set, such as the SMTP password), by its own name. For
    the platform's settings only: never call it with a name a workspace's configuration gives."""
    if not NAME.match(name):
        raise SecretMissing(f"{name[:140]!r} is not a valid secret name")
    settings = get_settings()
    value = _read_platform(settings, name)
    if value is None:
        where = (
            f"environment variable {env_name(name)}"
            if settings.secrets_backend == "file"
            else platform_path(settings.secrets_prefix, name)
        )
        raise SecretMissing(f"platform secret {name!r} is not set ({where})")
    return value


def _read_workspace(settings: Settings, workspace_id: str, name: str) -> str | None:
    if settings.secrets_backend == "file":
        return _read_file(Path(settings.secrets_file), name).get(workspace_id, {}).get(name)
    return _ssm_get(workspace_path(settings.secrets_prefix, workspace_id, name), name)


def _read_platform(settings: Settings, name: str) -> str | None:
    if settings.secrets_backend == "file":
        return os.environ.get(env_name(name))
    return _ssm_get(platform_path(settings.secrets_prefix, name), name)


# -- writing (the secrets API, the migration) ------------------------------------------------------


def put(workspace_id: str, name: str, value: str) -> None:
    """Create or replace the workspace's secret. ValueError for a name, workspace or value that
    cannot be stored (the message never repeats the value); SecretStoreError when the store
    did not take it."""
    _checked_for_writing(workspace_id, name, value)
    settings = get_settings()
    if settings.secrets_backend == "file":
        with _file_lock(Path(settings.secrets_file)) as file:
            data = _writable(file, name)
            data.setdefault(workspace_id, {})[name] = value
            _write_file(file, data)
        return
    path = workspace_path(settings.secrets_prefix, workspace_id, name)
    put_parameter(_ssm(), path, value, name)
    _forget(path)


def delete(workspace_id: str, name: str) -> None:
    """Remove the workspace's secret's value (nothing happens if there is none); SecretStoreError
    when the store did not answer."""
    _check(workspace_id, name)
    settings = get_settings()
    if settings.secrets_backend == "file":
        with _file_lock(Path(settings.secrets_file)) as file:
            data = _writable(file, name)
            if name in data.get(workspace_id, {}):
                del data[workspace_id][name]
                if not data[workspace_id]:
                    del data[workspace_id]
                _write_file(file, data)
        return
    path = workspace_path(settings.secrets_prefix, workspace_id, name)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        _ssm().delete_parameter(Name=path)
    except ClientError as exc:
        if _code(exc) != "ParameterNotFound":
            raise SecretStoreError(f"secret {name!r} could not be deleted ({_code(exc)})") from None
    except BotoCoreError as exc:
        raise SecretStoreError(f"secret {name!r} could not be deleted ({type(exc).__name__})") from None
    finally:
        _forget(path)


def _checked_for_writing(workspace_id: str, name: str, value: str) -> None:
    try:
        _check(workspace_id, name)
    except SecretMissing as exc:
        raise ValueError(str(exc)) from None
    problem = value_problem(value)
    if problem:
        raise ValueError(f"the value of secret {name!r} {problem}")


def put_parameter(client: Any, path: str, value: str, name: str) -> None:
    """Write a SecureString (the aws/ssm key), replacing any earlier value; SecretStoreError
    naming the secret and the store's error code otherwise. (The store's own message is left out:
    a refusal may quote what it was sent.)"""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client.put_parameter(Name=path, Value=value, Type="SecureString", Overwrite=True)
    except ClientError as exc:
        raise SecretStoreError(f"secret {name!r} could not be stored ({_code(exc)})") from None
    except BotoCoreError as exc:
        raise SecretStoreError(f"secret {name!r} could not be stored ({type(exc).__name__})") from None


# -- Parameter Store -------------------------------------------------------------------------------

_client: Any = None
_making = threading.Lock()
# Parameter path -> (monotonic time it is good until, value or None for "not set").
_cache: dict[str, tuple[float, str | None]] = {}
_cache_lock = threading.Lock()


def _ssm() -> Any:
    global _client
    with _making:
        if _client is None:
            from proactive import aws

            _client = aws.client("ssm")
        return _client


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code") or "error")


def _ssm_get(path: str, name: str) -> str | None:
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(path)
    if cached is not None and cached[0] > now:
        return cached[1]
    from botocore.exceptions import BotoCoreError, ClientError

    value: str | None
    try:
        value = str(_ssm().get_parameter(Name=path, WithDecryption=True)["Parameter"]["Value"])
    except ClientError as exc:
        if _code(exc) != "ParameterNotFound":
            raise SecretUnreadable(f"secret {name!r} could not be read ({_code(exc)})") from None
        value = None
    except BotoCoreError as exc:
        raise SecretUnreadable(f"secret {name!r} could not be read ({type(exc).__name__})") from None
    with _cache_lock:
        _cache[path] = (now + (FOUND_SECONDS if value is not None else MISSING_SECONDS), value)
    return value


def _forget(path: str) -> None:
    with _cache_lock:
        _cache.pop(path, None)


def forget() -> None:
    """Drop everything this process read, and its Parameter Store client (tests: a new world)."""
    global _client
    with _cache_lock:
        _cache.clear()
    with _making:
        _client = None


# -- the local file --------------------------------------------------------------------------------

_file_threads = threading.Lock()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[Path]:
    """One writer at a time: the threads of this process, and other processes (the migration)
    through an advisory lock on a file beside it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _file_threads:
        fd = os.open(f"{path}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
            yield path
        finally:
            os.close(fd)  # closing releases the lock


def _read_file(path: Path, name: str) -> dict[str, dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SecretUnreadable(f"secret {name!r} could not be read ({path}: {exc.strerror})") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise SecretUnreadable(f"secret {name!r} could not be read ({path} is not valid JSON)") from None
    if not isinstance(data, dict) or not all(
        isinstance(names, dict) and all(isinstance(v, str) for v in names.values()) for names in data.values()
    ):
        raise SecretUnreadable(
            f"secret {name!r} could not be read ({path} is not {{workspace: {{name: value}}}})"
        )
    return data


def _writable(path: Path, name: str) -> dict[str, dict[str, str]]:
    """The file's secrets, to change: one that cannot be read is not written over."""
    try:
        return _read_file(path, name)
    except SecretUnreadable as exc:
        raise SecretStoreError(str(exc)) from None


def _write_file(path: Path, data: dict[str, dict[str, str]]) -> None:
    """Replace the file whole: a new file beside it, made readable by its owner only from the
    start (never a moment with wider permissions), synced, then renamed over the old one."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
