"""A notice in the exact form each receiver takes: Discord's embed, Slack's blocks, ntfy's JSON
publish, an email (subject, text and HTML) and the webhook channel's JSON event.

Every receiver has hard limits (Discord's 4,096-character description and 6,000 characters per
embed, Slack's 3,000-character sections, ntfy's 4,096 bytes...). A message is never refused for
its size: what does not fit is cut, visibly, with `… [truncated] full text in run run-…` naming
where the whole text is. The body (the output or error) is what gets cut first.

Whatever the platform did not write itself (names, run output, errors, task text, the channel's
username and subject prefix) may hold control characters or Unicode's bidirectional formatting
characters, which would hide or reorder what the reader sees: every message shows each of them
escaped (`\\u202e`), keeping only line breaks and tabs. URLs are the platform's own and kept.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any

from proactive.clock import iso
from proactive.lib.text import escape_unsafe
from proactive.notifications.notice import Notice, Outcome

Measure = Callable[[str], int]

DISCORD_COLORS: dict[Outcome, int] = {
    "start": 5814783,
    "success": 5814783,
    "failure": 15158332,
    "warning": 15105570,  # orange
    "info": 3447003,  # blue
}
# A start and a success as ntfy's autonomous notifications have always had them (high and default
# priority; robot and rocket, check mark and party); a failure or a warning is as urgent as a start.
NTFY_PRIORITIES: dict[Outcome, int] = {"failure": 4, "warning": 4, "success": 3, "start": 4, "info": 3}
NTFY_TAGS: dict[Outcome, list[str]] = {
    "start": ["robot", "rocket"],
    "success": ["white_check_mark", "tada"],
    "failure": ["x"],
    "warning": ["rotating_light"],
    "info": ["information_source"],
}
FOOTER = "Proactive"
NTFY_MESSAGE_BYTES = 4096
NTFY_MAX_ACTIONS = 3
EMAIL_SUBJECT_CHARS = 200
# Mail clients clip long messages (Gmail at about 100 KB); the run keeps the whole text anyway.
EMAIL_BODY_CHARS = 100_000
WEBHOOK_MAX_BYTES = 256 * 1024

# Channel settings that a message shows as text.
_SHOWN_SETTINGS = ("username", "subject_prefix")

# What the prefix of an id names, for the truncation marker.
_REF_KINDS = {"run": "run", "chk": "check", "mon": "monitor", "goal": "goal"}


@dataclass(frozen=True)
class Rendered:
    """A notice rendered for one channel type: the JSON body for discord, slack, ntfy and
    webhook; `subject`, `text` and `html` for email."""

    type: str
    payload: Mapping[str, Any]

    @property
    def body(self) -> bytes:
        """The payload as the request body sends it."""
        return encode(self.payload)


def encode(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON: what is sent, so what the size limits count."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def marker(ref: str | None) -> str:
    """What ends a cut text: `… [truncated]`, naming where the full text is when known."""
    if not ref:
        return "… [truncated]"
    kind = _REF_KINDS.get(ref.split("-", 1)[0])
    return f"… [truncated] full text in {kind + ' ' if kind else ''}{ref}"


def _utf8(text: str) -> int:
    return len(text.encode())


def _slack_escaped(text: str) -> int:
    return len(_slack_escape(text))


def cut(text: str, limit: int, mark: str, measure: Measure = len) -> str:
    """`text` if `measure(text)` is within `limit`, else its longest prefix that fits with `mark`
    after it (a bare "…" when `mark` itself does not fit). `measure` must count at least one
    per character (characters, UTF-8 bytes, escaped characters, JSON bytes...)."""
    if measure(text) <= limit:
        return text
    for end in (mark, "…"):
        if measure(end) <= limit:
            # At least one per character: no prefix longer than `limit` can fit.
            low, high = 0, min(len(text), limit)
            while low < high:
                middle = (low + high + 1) // 2
                if measure(text[:middle].rstrip() + end) <= limit:
                    low = middle
                else:
                    high = middle - 1
            return text[:low].rstrip() + end
    return ""


def fit(head: str, body: str, tail: str, limit: int, mark: str, measure: Measure = len) -> str:
    """`head`, `body` and `tail` joined by blank lines within `limit`: the body is cut first (so
    the summary above it and the links below it stay), then, if need be, the whole."""

    def joined(middle: str) -> str:
        return "\n\n".join(part for part in (head, middle, tail) if part)

    if body and measure(joined(mark)) <= limit:
        return joined(cut(body, limit, mark, lambda b: measure(joined(b))))
    return cut(joined(body), limit, mark, measure)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _web(url: str) -> bool:
    return url.startswith(("https://", "http://"))


def _capped(fields: Sequence[tuple[str, str]], most: int) -> list[tuple[str, str]]:
    """At most `most` fields, the last saying how many more there were."""
    if len(fields) <= most:
        return list(fields)
    return [*fields[: most - 1], ("…", f"{len(fields) - most + 1} more not shown")]


def _discord(notice: Notice, config: Mapping[str, Any]) -> dict[str, Any]:
    mark = marker(notice.ref)
    title = cut(_one_line(notice.title) or notice.event, 256, mark)
    fields = [
        # Discord refuses empty names and values (counted after trimming).
        (cut(name.strip() or "—", 256, "…"), cut(value.strip() or "—", 1024, mark))
        for name, value in _capped(notice.fields, 25)
    ]
    # Keep a fair share of the 6,000 characters for the description: cut the fields if need be.
    room = 6000 - len(title) - len(FOOTER) - 1000
    if fields and sum(len(n) + len(v) for n, v in fields) > room:
        share = room // len(fields)
        fields = [(cut(n, share // 3, "…"), v) for n, v in fields]
        fields = [(n, cut(v, share - len(n), "…")) for n, v in fields]
    used = len(title) + len(FOOTER) + sum(len(n) + len(v) for n, v in fields)
    links = " · ".join(
        f"[{label.replace('[', '(').replace(']', ')')}]({url.replace(')', '%29').replace(' ', '%20')})"
        for label, url in notice.actions
        if _web(url)
    )
    description = fit(notice.summary, notice.body or "", links, min(4096, 6000 - used), mark)
    embed: dict[str, Any] = {
        "title": title,
        "color": DISCORD_COLORS[notice.outcome],
        "timestamp": notice.at.astimezone(UTC).isoformat(),
        "footer": {"text": FOOTER},
    }
    if description.strip():
        embed["description"] = description
    if notice.link and _web(notice.link):
        embed["url"] = notice.link
    if fields:
        embed["fields"] = [
            {"name": n, "value": v, "inline": len(n) <= 30 and len(v) <= 40} for n, v in fields
        ]
    payload: dict[str, Any] = {"embeds": [embed]}
    if config.get("username"):
        payload["username"] = config["username"]
    return payload


def _slack_escape(text: str) -> str:
    """Text for Slack's mrkdwn: `&`, `<` and `>` escaped, as Slack requires (they start links
    and mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str, label: str) -> str:
    # `|` and `>` end the URL part of a link.
    target = _slack_escape(url).replace("|", "%7C")
    return f"<{target}|{_slack_escape(label)}>"


def _slack(notice: Notice, config: Mapping[str, Any]) -> dict[str, Any]:
    mark = marker(notice.ref)
    title = _one_line(notice.title) or notice.event
    section = fit(notice.summary or title, notice.body or "", "", 3000, mark, _slack_escaped)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(title, 150, mark), "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(section)}},
    ]
    fields = [
        {
            "type": "mrkdwn",
            "text": f"*{_slack_escape(cut(_one_line(name), 150, '…', _slack_escaped))}*\n"
            + _slack_escape(cut(value, 1800, mark, _slack_escaped)),
        }
        for name, value in _capped(notice.fields, 20)
    ]
    blocks += [{"type": "section", "fields": fields[i : i + 10]} for i in range(0, len(fields), 10)]
    # Slack shows the time in each reader's own time zone; the text after `|` is the fallback.
    date = f"<!date^{int(notice.at.timestamp())}^{{date_short_pretty}} at {{time}}|{iso(notice.at)}>"
    context = f"{FOOTER} · {date}"
    if notice.ref:
        context += f" · {_slack_escape(notice.ref)}"
    if notice.link and _web(notice.link):
        context += f" · {_slack_link(notice.link, 'Details')}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    buttons = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": cut(_one_line(label) or url, 75, "…"), "emoji": True},
            "url": url,
            "action_id": f"link-{index}",
        }
        for index, (label, url) in enumerate(notice.actions)
        if _web(url) and len(url) <= 3000
    ]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons[:25]})
    fallback = cut(f"{title}: {_one_line(notice.summary)}", 3000, mark, _slack_escaped)
    return {"text": _slack_escape(fallback), "blocks": blocks}


def _ntfy(notice: Notice, config: Mapping[str, Any]) -> dict[str, Any]:
    mark = marker(notice.ref)
    actions = [(label, url) for label, url in notice.actions if _web(url)]
    facts = "\n".join(f"{name}: {value}" for name, value in notice.fields)
    # ntfy shows three action buttons at most; the others go in the text.
    extra = "\n".join(f"{label}: {url}" for label, url in actions[NTFY_MAX_ACTIONS:])
    head = "\n\n".join(part for part in (notice.summary, facts) if part)
    message = fit(head, notice.body or "", extra, NTFY_MESSAGE_BYTES, mark, _utf8)
    payload: dict[str, Any] = {
        "topic": config["topic"],
        "title": cut(_one_line(notice.title) or notice.event, 250, mark),
        "message": message or notice.event,
        "priority": config.get("priority") or NTFY_PRIORITIES[notice.outcome],
        "tags": [*NTFY_TAGS[notice.outcome], notice.event],
    }
    if notice.link and _web(notice.link):
        payload["click"] = notice.link
    if actions:
        payload["actions"] = [
            {"action": "view", "label": label, "url": url, "clear": False}
            for label, url in actions[:NTFY_MAX_ACTIONS]
        ]
    return payload


def _email(notice: Notice, config: Mapping[str, Any]) -> dict[str, Any]:
    mark = marker(notice.ref)
    prefix = config.get("subject_prefix")
    subject = cut(
        _one_line(f"{prefix} {notice.title}" if prefix else notice.title), EMAIL_SUBJECT_CHARS, mark
    )
    body = cut(notice.body or "", EMAIL_BODY_CHARS, mark)
    links = [(label, url) for label, url in notice.actions if _web(url)]
    if notice.link and _web(notice.link):
        links.append(("Details", notice.link))
    footer = " · ".join(part for part in (FOOTER, iso(notice.at), notice.ref) if part)
    text = "\n\n".join(
        part
        for part in (
            notice.title,
            notice.summary,
            "\n".join(f"{name}: {value}" for name, value in notice.fields),
            body,
            "\n".join(f"{label}: {url}" for label, url in links),
            f"-- \n{footer}",
        )
        if part
    )
    e = html.escape
    rows = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{e(name)}</th><td>{e(value)}</td></tr>'
        for name, value in notice.fields
    )
    parts = [
        f'<h2 style="border-left:6px solid #{DISCORD_COLORS[notice.outcome]:06x};padding-left:8px">'
        f"{e(notice.title)}</h2>",
        f"<p>{e(notice.summary)}</p>",
        f"<table>{rows}</table>" if rows else "",
        f'<pre style="white-space:pre-wrap;font-family:monospace">{e(body)}</pre>' if body else "",
        "<p>" + " · ".join(f'<a href="{e(url)}">{e(label)}</a>' for label, url in links) + "</p>"
        if links
        else "",
        f'<p style="color:#777;font-size:12px">{e(footer)}</p>',
    ]
    page = "".join(part for part in parts if part)
    return {
        "subject": subject,
        "text": text,
        "html": f'<!DOCTYPE html><html><body style="font-family:sans-serif">{page}</body></html>',
    }


def _webhook(notice: Notice, config: Mapping[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": notice.event,
        "title": notice.title,
        "outcome": notice.outcome,
        "summary": notice.summary,
        "fields": dict(notice.fields),
        "body": notice.body,
        "link": notice.link,
        "ref": notice.ref,
        "at": iso(notice.at),
        "actions": [{"label": label, "url": url} for label, url in notice.actions],
    }
    if notice.body and len(encode(payload)) > WEBHOOK_MAX_BYTES:
        payload["body"] = cut(
            notice.body,
            WEBHOOK_MAX_BYTES,
            marker(notice.ref),
            lambda body: len(encode({**payload, "body": body})),
        )
    return payload


_RENDERERS: dict[str, Callable[[Notice, Mapping[str, Any]], dict[str, Any]]] = {
    "discord": _discord,
    "slack": _slack,
    "ntfy": _ntfy,
    "email": _email,
    "webhook": _webhook,
}


def _escaped(notice: Notice) -> Notice:
    """`notice` with every text it shows escaped where it holds control or bidirectional
    formatting characters (the limits are then counted on what is shown)."""
    e = escape_unsafe
    return replace(
        notice,
        title=e(notice.title),
        summary=e(notice.summary),
        fields=tuple((e(name), e(value)) for name, value in notice.fields),
        body=None if notice.body is None else e(notice.body),
        actions=tuple((e(label), url) for label, url in notice.actions),
    )


def render(type_: str, notice: Notice, config: Mapping[str, Any]) -> Rendered:
    """`notice` as a channel of `type_` with this (validated) `config` sends it, within the
    receiver's limits, with no control or bidirectional formatting character shown raw."""
    renderer = _RENDERERS.get(type_)
    if renderer is None:
        raise ValueError(f"no channel type {type_!r}")
    shown = {
        key: escape_unsafe(value) if key in _SHOWN_SETTINGS and isinstance(value, str) else value
        for key, value in config.items()
    }
    return Rendered(type_, renderer(_escaped(notice), shown))
