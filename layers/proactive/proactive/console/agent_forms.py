"""An agent's form in the console and the agent's settings (`config`) the API takes, both ways.

The form holds text; the API checks it. What the form cannot express is refused here with the
field it concerns, in the API's own shape (`config.<field>`), so a page shows both alike. Header
values that are credentials name a workspace secret as `{{secret:NAME}}` (after an optional
prefix, e.g. `Bearer {{secret:API_TOKEN}}`): the config keeps the secret's name, never its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from proactive.agents.tools import TOOLS

RUNTIMES = (
    ("llm", "LLM", "A model (OpenAI, Anthropic or Amazon Bedrock) with tools."),
    ("http", "HTTP", "Your own agent service, called with a signed request."),
    ("builtin", "Builtin", "A local summariser that needs nothing: proves the whole path."),
)
PROVIDERS = (
    ("openai", "OpenAI (or a compatible API)"),
    ("anthropic", "Anthropic"),
    ("bedrock", "Amazon Bedrock"),
)
HTTP_MODES = (("sync", "Answers in the request"), ("callback", "Answers 202, calls back later"))
# The tools an llm agent may be given: (name, what it does).
TOOL_CHOICES = tuple((name, tool.description) for name, tool in sorted(TOOLS.items()))

_SECRET = re.compile(r"^(?P<prefix>.*?)\{\{\s*secret:(?P<name>[^{}\s]+)\s*\}\}$")
_INTEGERS = {
    "timeout_seconds",
    "callback_timeout_seconds",
    "max_attempts",
    "max_tokens",
    "max_requests",
    "max_total_tokens",
}
_HTTP_FIELDS = ("url", "mode", "timeout_seconds", "callback_timeout_seconds", "max_attempts")
_LLM_FIELDS = (
    "provider",
    "model",
    "system_prompt",
    "api_key_secret",
    "base_url",
    "region",
    "endpoint_url",
    "temperature",
    "max_tokens",
    "timeout_seconds",
    "max_attempts",
)
_LIMITS = ("max_requests", "max_total_tokens")
FORM_FIELDS = ("name", "description", "headers", *_HTTP_FIELDS, *_LLM_FIELDS, *_LIMITS)


def _number(name: str, text: str) -> Any:
    """A number where the text is one; otherwise the text, for the API to refuse by name."""
    try:
        return int(text) if name in _INTEGERS else float(text)
    except ValueError:
        return text


def parse_headers(text: str) -> tuple[dict[str, Any], str | None]:
    """`Name: value` lines as the http runtime's headers (a `{{secret:NAME}}` value as the
    secret it names), and what is wrong with them, if anything."""
    headers: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            return headers, f"line {number}: write each header as `Name: value`"
        value = value.strip()
        found = _SECRET.match(value)
        if found:
            headers[name.strip()] = {"secret": found["name"], "prefix": found["prefix"]}
        elif "{{" in value and "secret:" in value:
            return headers, f"line {number}: a secret's reference `{{{{secret:NAME}}}}` must end the value"
        else:
            headers[name.strip()] = value
    return headers, None


def shown_headers(headers: Mapping[str, Any] | None) -> str:
    """The headers as the form shows them: a secret by its reference, never its value."""
    lines = []
    for name, value in (headers or {}).items():
        if isinstance(value, Mapping):
            value = f"{value.get('prefix') or ''}{{{{secret:{value.get('secret')}}}}}"
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def config_from_form(runtime: str, form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The config the form asks for, and the problems found before the API is asked (by field)."""
    config: dict[str, Any] = {}
    if runtime == "http":
        for name in _HTTP_FIELDS:
            if form.get(name):
                config[name] = _number(name, form[name]) if name in _INTEGERS else form[name]
        headers, problem = parse_headers(form.get("headers") or "")
        config["headers"] = headers
        return config, ({"config.headers": problem} if problem else {})
    if runtime == "llm":
        for name in _LLM_FIELDS:
            if form.get(name):
                numeric = name in _INTEGERS or name == "temperature"
                config[name] = _number(name, form[name]) if numeric else form[name]
        config["tools"] = list(form.get("tools") or [])
        limits = {name: _number(name, form[name]) for name in _LIMITS if form.get(name)}
        if limits:
            config["usage_limits"] = limits
    return config, {}


def form_from_agent(agent: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values for an agent as the API shows it."""
    config = dict(agent.get("config") or {})
    form: dict[str, Any] = {
        "name": agent.get("name") or "",
        "description": agent.get("description") or "",
        "tools": list(config.get("tools") or []),
        "headers": shown_headers(config.get("headers")),
    }
    for name in (*_HTTP_FIELDS, *_LLM_FIELDS):
        if config.get(name) is not None:
            form[name] = str(config[name])
    for name in _LIMITS:
        value = (config.get("usage_limits") or {}).get(name)
        if value is not None:
            form[name] = str(value)
    return form


def form_from_fields(fields: Mapping[str, list[str]]) -> dict[str, Any]:
    """The form as sent: one text per field, the tools as a list."""
    form: dict[str, Any] = {name: (fields.get(name) or [""])[0].strip() for name in FORM_FIELDS}
    # Prompts and header lists keep their lines as written.
    for name in ("system_prompt", "headers"):
        form[name] = (fields.get(name) or [""])[0].replace("\r\n", "\n").strip()
    form["tools"] = [t for t in fields.get("tools", []) if t]
    return form
