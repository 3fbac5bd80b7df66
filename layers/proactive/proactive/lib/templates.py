"""Task templates: `{field}` placeholders filled from an event payload. Never executes code.

A placeholder is a dotted path into the payload (`{pull_request.title}`, `{commits.0.id}`) or
one of the short names below. `{{` and `}}` are literal braces. Rendering only looks values up
in the payload's dicts and lists: there is no attribute access, indexing syntax or formatting
mini-language, so a template cannot reach anything but the payload.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

# Short names for common GitHub payload fields, so "Review PR #{pr_number}: {pr_title}" works.
ALIASES = {
    "pr_number": "pull_request.number",
    "pr_title": "pull_request.title",
    "pr_url": "pull_request.html_url",
    "pr_author": "pull_request.user.login",
    "pr_body": "pull_request.body",
    "repo": "repository.full_name",
    "sender_login": "sender.login",
    "issue_number": "issue.number",
    "issue_title": "issue.title",
}
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_PATH = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
MAX_VALUE_CHARS = 10_000


class TemplateError(ValueError):
    """A template that is malformed, or that names a field the payload lacks."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def fields(template: str) -> list[str]:
    """The placeholders in `template`, validated; raises TemplateError on bad syntax."""
    names = []
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if token in ("{", "}"):
            raise TemplateError(
                f"unbalanced '{token}' at position {match.start()}; write '{token * 2}' for a literal brace"
            )
        name = match.group(1).strip()
        if not _PATH.match(name):
            raise TemplateError(
                f"placeholder {{{name}}} is not a field name or dotted path "
                "(letters, digits, _ and -, joined by '.')"
            )
        names.append(name)
    return names


def lookup(payload: Any, path: str) -> Any:
    """The value at a dotted path, or KeyError naming the first missing part."""
    value = payload
    resolved = ALIASES.get(path, path)
    walked: list[str] = []
    for part in resolved.split("."):
        walked.append(part)
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(".".join(walked))
    return value


def _text(value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, int | float):
        text = str(value)
    else:
        text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def render(template: str, payload: Any) -> str:
    """Fill every placeholder; TemplateError naming the field if the payload lacks one."""
    fields(template)

    def replace(match: re.Match[str]) -> str:
        piece = match.group(0)
        if piece in ("{{", "}}"):
            return piece[0]
        name = match.group(1).strip()
        try:
            return _text(lookup(payload, name))
        except KeyError as missing:
            alias = f" ({ALIASES[name]})" if name in ALIASES else ""
            raise TemplateError(
                f"the payload has no field '{missing.args[0]}' for placeholder {{{name}}}{alias}", field=name
            ) from None

    return _TOKEN.sub(replace, template)
