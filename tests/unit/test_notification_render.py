"""Rendering a notice for each channel type: the exact message, within each receiver's limits."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from proactive.notifications.notice import Notice, Outcome
from proactive.notifications.render import render
from tests.fakes.receivers import discord_errors, slack_block_problem

RUN = "run-0a1b2c3d4e5f60718293a4b5"
MARKER = f"… [truncated] full text in run {RUN}"
LINK = f"https://api.example.com/api/runs/{RUN}"
AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)

NOTICE = Notice(
    event="run.succeeded",
    title="Run succeeded: Daily Report (schedule)",
    outcome="success",
    summary="Daily Report's run finished in 4.2 s after 2 attempts",
    fields=(
        ("Source", "schedule sched-1 (Daily Report)"),
        ("Status", "succeeded"),
        ("Duration", "4.2 s"),
        ("Attempts", "2"),
        ("Usage", "3 requests, 1,204 tokens, $0.0031"),
    ),
    body="Revenue is up 4% week over week.",
    link=LINK,
    ref=RUN,
    at=AT,
)
APPROVAL = replace(
    NOTICE,
    event="goal.approval",
    title="Approval needed: scale the workers",
    outcome="info",
    actions=(
        ("Approve", "https://api.example.com/approve?t=a1&d=ok"),
        ("Reject", "https://api.example.com/reject?t=b2"),
    ),
)
# A 10,000-character output and a 300-character title.
LONG = replace(
    NOTICE, title="Run succeeded: " + "Quarterly revenue digest " * 12, body="All figures follow. " * 500
)


def embed(notice: Notice, config: dict[str, Any] | None = None) -> dict[str, Any]:
    payload = render("discord", notice, config or {"webhook_url": "x"}).payload
    assert discord_errors(payload) == {}
    assert len(payload["embeds"]) == 1
    return dict(payload["embeds"][0])


def test_discord_sends_one_embed_with_the_notice() -> None:
    payload = render("discord", NOTICE, {"webhook_url": "x", "username": "Ops bot"}).payload
    assert payload == {
        "username": "Ops bot",
        "embeds": [
            {
                "title": "Run succeeded: Daily Report (schedule)",
                "description": "Daily Report's run finished in 4.2 s after 2 attempts\n\n"
                "Revenue is up 4% week over week.",
                "url": LINK,
                "color": 5814783,
                "timestamp": "2025-03-04T05:06:07+00:00",
                "footer": {"text": "Proactive"},
                "fields": [
                    {"name": "Source", "value": "schedule sched-1 (Daily Report)", "inline": True},
                    {"name": "Status", "value": "succeeded", "inline": True},
                    {"name": "Duration", "value": "4.2 s", "inline": True},
                    {"name": "Attempts", "value": "2", "inline": True},
                    {"name": "Usage", "value": "3 requests, 1,204 tokens, $0.0031", "inline": True},
                ],
            }
        ],
    }


@pytest.mark.parametrize(
    ("outcome", "color"),
    [
        ("success", 5814783),
        ("start", 5814783),
        ("failure", 15158332),
        ("warning", 15105570),
        ("info", 3447003),
    ],
)
def test_discord_colour_follows_the_outcome(outcome: Outcome, color: int) -> None:
    assert embed(replace(NOTICE, outcome=outcome))["color"] == color


def test_discord_cuts_a_long_title_and_output_visibly() -> None:
    shown = embed(LONG)
    assert len(shown["title"]) <= 256
    assert shown["title"].startswith("Run succeeded: Quarterly revenue digest")
    assert shown["title"].endswith(MARKER)
    assert len(shown["description"]) <= 4096
    assert shown["description"].startswith("Daily Report's run finished")
    assert shown["description"].endswith(MARKER)


def test_discord_keeps_buttons_as_links_below_a_cut_output() -> None:
    shown = embed(replace(APPROVAL, body="x" * 10_000))
    assert MARKER in shown["description"]
    assert shown["description"].endswith(
        "[Approve](https://api.example.com/approve?t=a1&d=ok) · [Reject](https://api.example.com/reject?t=b2)"
    )


def test_discord_stays_within_6000_characters_by_shrinking_the_description_first() -> None:
    crowded = replace(LONG, fields=tuple((f"Metric {i}", "v" * 400) for i in range(10)))
    shown = embed(crowded)
    assert [f["value"] for f in shown["fields"]] == ["v" * 400] * 10
    assert shown["description"].endswith(MARKER)
    # Discord would refuse anything over 6,000 (discord_errors above checks it too).
    sizes = [shown["title"], shown["description"], shown["footer"]["text"]]
    assert sum(map(len, sizes)) + sum(len(f["name"]) + len(f["value"]) for f in shown["fields"]) <= 6000


def test_discord_never_refuses_huge_or_empty_fields() -> None:
    many = replace(LONG, fields=(("Empty", ""), *((f"Field {i}", "w" * 2000) for i in range(30))))
    shown = embed(many)
    assert len(shown["fields"]) == 25
    assert shown["fields"][0] == {"name": "Empty", "value": "—", "inline": True}
    assert shown["fields"][-1]["value"] == "7 more not shown"
    assert "description" in shown


def test_slack_sends_a_fallback_line_and_blocks() -> None:
    payload = render("slack", APPROVAL, {"webhook_url": "x"}).payload
    assert (
        payload["text"]
        == "Approval needed: scale the workers: Daily Report's run finished in 4.2 s after 2 attempts"
    )
    blocks = payload["blocks"]
    assert slack_block_problem(blocks) is None
    assert [b["type"] for b in blocks] == ["header", "section", "section", "context", "actions"]
    assert blocks[0]["text"] == {
        "type": "plain_text",
        "text": "Approval needed: scale the workers",
        "emoji": True,
    }
    assert blocks[2]["fields"][0] == {"type": "mrkdwn", "text": "*Source*\nschedule sched-1 (Daily Report)"}
    context = blocks[3]["elements"][0]["text"]
    assert context == (
        "Proactive · <!date^1741064767^{date_short_pretty} at {time}|2025-03-04T05:06:07.000000Z>"
        f" · {RUN} · <{LINK}|Details>"
    )
    assert [(e["text"]["text"], e["url"]) for e in blocks[4]["elements"]] == list(APPROVAL.actions)


def test_slack_escapes_what_would_become_links_or_mentions() -> None:
    sneaky = replace(NOTICE, summary="Tell <!channel> & <https://evil.example|your bank>", body="a > b")
    payload = render("slack", sneaky, {"webhook_url": "x"}).payload
    section = payload["blocks"][1]["text"]["text"]
    assert section == "Tell &lt;!channel&gt; &amp; &lt;https://evil.example|your bank&gt;\n\na &gt; b"
    assert "<!channel>" not in payload["text"]


def test_slack_cuts_long_text_within_its_limits_without_breaking_an_escape() -> None:
    payload = render("slack", replace(LONG, body="a&b<c " * 2000), {"webhook_url": "x"}).payload
    blocks = payload["blocks"]
    assert slack_block_problem(blocks) is None
    assert len(blocks[0]["text"]["text"]) <= 150
    assert blocks[0]["text"]["text"].endswith(MARKER)
    section = blocks[1]["text"]["text"]
    assert len(section) <= 3000
    assert section.endswith(MARKER)
    # Every & left is the start of a whole escape.
    assert not re.search(r"&(?!amp;|lt;|gt;)", section)


def test_slack_fits_many_fields_in_sections_of_ten() -> None:
    payload = render(
        "slack", replace(NOTICE, fields=tuple((f"F{i}", "x" * 3000) for i in range(23))), {}
    ).payload
    sections = [b for b in payload["blocks"] if b["type"] == "section" and "fields" in b]
    assert [len(s["fields"]) for s in sections] == [10, 10]
    assert sections[-1]["fields"][-1]["text"] == "*…*\n4 more not shown"
    assert slack_block_problem(payload["blocks"]) is None


def test_ntfy_publishes_json_with_priority_tags_click_and_actions() -> None:
    payload = render("ntfy", APPROVAL, {"server": "https://ntfy.sh", "topic": "ops"}).payload
    assert payload == {
        "topic": "ops",
        "title": "Approval needed: scale the workers",
        "message": "Daily Report's run finished in 4.2 s after 2 attempts\n\n"
        "Source: schedule sched-1 (Daily Report)\nStatus: succeeded\nDuration: 4.2 s\nAttempts: 2\n"
        "Usage: 3 requests, 1,204 tokens, $0.0031\n\nRevenue is up 4% week over week.",
        "priority": 3,
        "tags": ["information_source", "goal.approval"],
        "click": LINK,
        "actions": [
            {
                "action": "view",
                "label": "Approve",
                "url": "https://api.example.com/approve?t=a1&d=ok",
                "clear": False,
            },
            {
                "action": "view",
                "label": "Reject",
                "url": "https://api.example.com/reject?t=b2",
                "clear": False,
            },
        ],
    }


@pytest.mark.parametrize(
    ("outcome", "priority", "tags"),
    [
        ("failure", 4, ["x"]),
        ("warning", 4, ["rotating_light"]),
        ("success", 3, ["white_check_mark", "tada"]),
        ("start", 4, ["robot", "rocket"]),
    ],
)
def test_ntfy_priority_and_tags_follow_the_outcome(outcome: Outcome, priority: int, tags: list[str]) -> None:
    payload = render("ntfy", replace(NOTICE, outcome=outcome), {"topic": "ops"}).payload
    assert (payload["priority"], payload["tags"]) == (priority, [*tags, NOTICE.event])
    assert (
        render("ntfy", replace(NOTICE, outcome=outcome), {"topic": "ops", "priority": 5}).payload["priority"]
        == 5
    )


def test_ntfy_counts_its_4096_byte_limit_in_bytes() -> None:
    # 3,000 characters but 12,000 bytes: a character count would let it through.
    rockets = replace(NOTICE, body="🚀" * 3000)
    message = render("ntfy", rockets, {"topic": "ops"}).payload["message"]
    assert len(message.encode()) <= 4096
    assert len(message.encode()) > 4000
    assert message.endswith(MARKER)
    assert "🚀" * 500 in message


def test_ntfy_shows_three_buttons_and_lists_the_rest() -> None:
    buttons = tuple((f"Option {i}", f"https://api.example.com/o/{i}") for i in range(5))
    payload = render("ntfy", replace(NOTICE, actions=buttons), {"topic": "ops"}).payload
    assert [a["label"] for a in payload["actions"]] == ["Option 0", "Option 1", "Option 2"]
    assert payload["message"].endswith(
        "Option 3: https://api.example.com/o/3\nOption 4: https://api.example.com/o/4"
    )


def test_email_has_a_subject_a_text_body_and_an_escaped_html_body() -> None:
    sneaky = replace(APPROVAL, body="<script>alert(1)</script> & done")
    mail = render("email", sneaky, {"to": ["ops@example.com"], "subject_prefix": "[ops]"}).payload
    assert mail["subject"] == "[ops] Approval needed: scale the workers"
    assert mail["text"] == (
        "Approval needed: scale the workers\n\nDaily Report's run finished in 4.2 s after 2 attempts\n\n"
        "Source: schedule sched-1 (Daily Report)\nStatus: succeeded\nDuration: 4.2 s\nAttempts: 2\n"
        "Usage: 3 requests, 1,204 tokens, $0.0031\n\n<script>alert(1)</script> & done\n\n"
        "Approve: https://api.example.com/approve?t=a1&d=ok\nReject: https://api.example.com/reject?t=b2\n"
        f"Details: {LINK}\n\n-- \nProactive · 2025-03-04T05:06:07.000000Z · {RUN}"
    )
    assert "<script>" not in mail["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; done" in mail["html"]
    assert '<a href="https://api.example.com/approve?t=a1&amp;d=ok">Approve</a>' in mail["html"]


def test_email_subject_is_one_line_of_at_most_200_characters() -> None:
    subject = render(
        "email", replace(LONG, title=LONG.title + "\r\nBcc: x@evil.example"), {"to": []}
    ).payload["subject"]
    assert len(subject) <= 200
    assert subject.endswith(MARKER)
    assert "\n" not in subject


def test_webhook_sends_the_event_as_json() -> None:
    rendered = render("webhook", APPROVAL, {"url": "x"})
    assert json.loads(rendered.body) == {
        "type": "goal.approval",
        "title": "Approval needed: scale the workers",
        "outcome": "info",
        "summary": "Daily Report's run finished in 4.2 s after 2 attempts",
        "fields": {
            "Source": "schedule sched-1 (Daily Report)",
            "Status": "succeeded",
            "Duration": "4.2 s",
            "Attempts": "2",
            "Usage": "3 requests, 1,204 tokens, $0.0031",
        },
        "body": "Revenue is up 4% week over week.",
        "link": LINK,
        "ref": RUN,
        "at": "2025-03-04T05:06:07.000000Z",
        "actions": [
            {"label": "Approve", "url": "https://api.example.com/approve?t=a1&d=ok"},
            {"label": "Reject", "url": "https://api.example.com/reject?t=b2"},
        ],
    }


def test_webhook_caps_the_whole_event_at_256_kib() -> None:
    # Quotes and newlines take two bytes each in JSON, "é" two in UTF-8.
    rendered = render("webhook", replace(NOTICE, body='"é"\n' * 100_000), {"url": "x"})
    assert 250 * 1024 < len(rendered.body) <= 256 * 1024
    assert json.loads(rendered.body)["body"].endswith(MARKER)
    assert render("webhook", LONG, {"url": "x"}).payload["body"] == LONG.body


def test_the_marker_names_a_check_or_says_only_that_text_was_cut() -> None:
    check = replace(NOTICE, body="e" * 5000, ref="chk-123")
    assert (
        render("ntfy", check, {"topic": "ops"})
        .payload["message"]
        .endswith("… [truncated] full text in check chk-123")
    )
    anonymous = replace(NOTICE, body="e" * 5000, ref=None)
    assert render("ntfy", anonymous, {"topic": "ops"}).payload["message"].endswith("… [truncated]")


# Characters that would hide or reorder what a reader sees: C0 and C1 controls, DEL, and the
# bidirectional overrides, isolates and marks.
UNSAFE = "\x00\x07\x1b\x7f\x85\x9b\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
CONFIGS: dict[str, dict[str, Any]] = {
    "discord": {"webhook_url": "x", "username": "Ops\u202ebot"},
    "slack": {"webhook_url": "x"},
    "ntfy": {"topic": "ops"},
    "email": {"to": ["ops@example.com"], "subject_prefix": "[ops\u2066]"},
    "webhook": {"url": "x"},
}
# A run whose name was stored before names refused these characters, whose task and output hold
# them, and whose approval link's label does too.
TRICKY = replace(
    APPROVAL,
    title="Run succeeded: invoice\u202efdp.exe",
    summary="invoice\u202efdp.exe's run finished\x1b[2J",
    fields=(("Source", "webhook hook-1 (deploy\u2067)"), ("Task", "Pay \u202dinvoice 7\x00")),
    body="line one\u200f\r\nline\ttwo\x9b\u061c\nend\rover",
    actions=(("Approve\u202e", "https://api.example.com/approve?t=a1"),),
)


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _texts(item)]
    return []


@pytest.mark.parametrize("type_", list(CONFIGS))
def test_no_control_or_bidi_character_reaches_a_message_raw(type_: str) -> None:
    payload = render(type_, TRICKY, CONFIGS[type_]).payload
    shown = "\n".join(_texts(payload))
    assert not set(shown) & set(UNSAFE), [hex(ord(c)) for c in set(shown) & set(UNSAFE)]
    # Each is shown escaped instead, where the message shows that text at all.
    assert "invoice\\u202efdp.exe" in shown
    assert "Pay \\u202dinvoice 7\\u0000" in shown


@pytest.mark.parametrize("type_", list(CONFIGS))
def test_escaping_keeps_line_breaks_and_tabs_of_the_output(type_: str) -> None:
    payload = render(type_, TRICKY, CONFIGS[type_]).payload
    shown = "\n".join(_texts(payload))
    assert "line one\\u200f\nline\ttwo\\u009b\\u061c\nend\\u000dover" in shown.replace("&amp;", "&")


def test_the_escaped_forms_are_what_the_receivers_show() -> None:
    discord = render("discord", TRICKY, CONFIGS["discord"]).payload
    assert discord["username"] == "Ops\\u202ebot"
    assert discord["embeds"][0]["title"] == "Run succeeded: invoice\\u202efdp.exe"
    assert discord["embeds"][0]["description"].startswith("invoice\\u202efdp.exe's run finished\\u001b[2J")
    mail = render("email", TRICKY, CONFIGS["email"]).payload
    assert mail["subject"] == "[ops\\u2066] Run succeeded: invoice\\u202efdp.exe"
    ntfy = render("ntfy", TRICKY, CONFIGS["ntfy"]).payload
    assert ntfy["actions"][0]["label"] == "Approve\\u202e"
    assert ntfy["actions"][0]["url"] == "https://api.example.com/approve?t=a1"


def test_text_without_such_characters_is_unchanged() -> None:
    plain = replace(NOTICE, body="Résumé: 5 € — ok\n\tindented ✓ 🚀")
    assert render("webhook", plain, {"url": "x"}).payload["body"] == plain.body
