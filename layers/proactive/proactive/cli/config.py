"""Where the command line talks to, and as whom: flags, the environment and profiles.

Profiles live in `$XDG_CONFIG_HOME/proactive/config.toml` (default `~/.config/proactive/`):

    current = "local"

    [profiles.local]
    api_url = "http://127.0.0.1:8000"
    workspace = "ws-456"
    output = "table"

Their tokens are kept apart, in `credentials.toml` beside it, readable by its owner only (0600).
A flag beats the environment (PROACTIVE_API_URL, PROACTIVE_TOKEN, PROACTIVE_PROFILE,
PROACTIVE_WORKSPACE), which beats the profile.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_PROFILE = "default"


class ConfigError(Exception):
    """The configuration cannot be used (a file that is not TOML, an unknown profile)."""


def folder() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "proactive"


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc


def _toml_value(value: Any) -> str:
    # A TOML basic string is a JSON string (the same escapes).
    return json.dumps(value) if isinstance(value, str) else str(value).lower()


def _write(path: Path, data: dict[str, Any], *, private: bool) -> None:
    lines = [f"{key} = {_toml_value(value)}" for key, value in data.items() if not isinstance(value, dict)]
    for name, table in data.items():
        if not isinstance(table, dict):
            continue
        for sub, values in sorted(table.items()):
            lines += ["", f"[{name}.{json.dumps(sub)}]"]
            lines += [f"{key} = {_toml_value(value)}" for key, value in sorted(values.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines).lstrip("\n") + "\n")
    if private:
        os.chmod(temporary, 0o600)
    os.replace(temporary, path)


@dataclass(frozen=True)
class Profile:
    name: str
    api_url: str | None = None
    workspace: str | None = None
    output: str | None = None
    token: str | None = None


class Config:
    """The profiles file and the credentials file beside it."""

    def __init__(self, base: Path | None = None) -> None:
        self.base = base or folder()
        self.path = self.base / "config.toml"
        self.credentials_path = self.base / "credentials.toml"

    def _config(self) -> dict[str, Any]:
        return _read(self.path)

    def _credentials(self) -> dict[str, Any]:
        return _read(self.credentials_path)

    def current(self) -> str:
        return str(self._config().get("current") or DEFAULT_PROFILE)

    def names(self) -> list[str]:
        return sorted(set(self._config().get("profiles", {})) | set(self._credentials().get("profiles", {})))

    def profile(self, name: str | None = None) -> Profile:
        name = name or self.current()
        settings = self._config().get("profiles", {}).get(name, {})
        secret = self._credentials().get("profiles", {}).get(name, {})
        return Profile(
            name=name,
            api_url=settings.get("api_url"),
            workspace=settings.get("workspace"),
            output=settings.get("output"),
            token=secret.get("token"),
        )

    def save(self, name: str, *, token: str | None = None, **settings: str | None) -> None:
        """Set a profile's settings (those given) and its token (when given)."""
        config = self._config()
        profile = config.setdefault("profiles", {}).setdefault(name, {})
        profile.update({key: value for key, value in settings.items() if value is not None})
        config.setdefault("current", name)
        _write(self.path, config, private=False)
        if token is not None:
            credentials = self._credentials()
            credentials.setdefault("profiles", {}).setdefault(name, {})["token"] = token
            _write(self.credentials_path, credentials, private=True)

    def use(self, name: str) -> None:
        if name not in self.names():
            raise ConfigError(f"no profile {name!r}; the profiles are: {', '.join(self.names()) or 'none'}")
        config = self._config()
        config["current"] = name
        _write(self.path, config, private=False)

    def forget_token(self, name: str) -> bool:
        """Remove a profile's token; False when it had none."""
        credentials = self._credentials()
        profile = credentials.get("profiles", {}).get(name)
        if not profile or "token" not in profile:
            return False
        del profile["token"]
        _write(self.credentials_path, credentials, private=True)
        return True


@dataclass(frozen=True)
class Target:
    """Where a command talks to, and as whom, once flags, environment and profile are weighed."""

    api_url: str
    token: str | None
    profile: str
    workspace: str | None
    output: str


def resolve(
    *,
    api_url: str | None,
    token: str | None,
    profile: str | None,
    workspace: str | None,
    output: str | None,
    config: Config | None = None,
) -> Target:
    config = config or Config()
    chosen = config.profile(profile or os.environ.get("PROACTIVE_PROFILE") or None)
    return Target(
        api_url=(api_url or os.environ.get("PROACTIVE_API_URL") or chosen.api_url or DEFAULT_API_URL).rstrip(
            "/"
        ),
        token=token or os.environ.get("PROACTIVE_TOKEN") or chosen.token,
        profile=chosen.name,
        workspace=workspace or os.environ.get("PROACTIVE_WORKSPACE") or chosen.workspace,
        output=output or os.environ.get("PROACTIVE_OUTPUT") or chosen.output or "table",
    )
