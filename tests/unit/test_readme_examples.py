"""The README's examples as a reader copies them: one workspace throughout, and every placeholder
webhook URL says what to put there, and is refused naming the part that is wrong if left as is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from proactive.errors import InvalidInput
from proactive.notifications.channels import validate

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
BLOCKS = re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.S)
# Each webhook URL an example sends (not the shapes its comments give).
PLACEHOLDERS = [
    (block, found.group(), "discord" if "discord" in found.group() else "slack")
    for block in BLOCKS
    for line in block.splitlines()
    if not line.lstrip().startswith("#")
    for found in re.finditer(
        r"https://(?:discord\.com/api/webhooks|hooks\.slack\.com/services)/[^\"'\s]*", line
    )
]


def test_the_examples_use_one_workspace_id() -> None:
    ids = {found for block in BLOCKS for found in re.findall(r"\bws-[A-Za-z0-9_.:-]+", block)}
    assert ids == {"ws-456"}


def test_there_are_placeholder_webhook_urls_to_check() -> None:
    assert {type_ for _, _, type_ in PLACEHOLDERS} == {"discord", "slack"}


@pytest.mark.parametrize(("block", "url", "type_"), PLACEHOLDERS, ids=[url for _, url, _ in PLACEHOLDERS])
def test_a_placeholder_webhook_url_says_what_it_needs(block: str, url: str, type_: str) -> None:
    shape = {
        "discord": "https://discord.com/api/webhooks/<id>/<token>",
        "slack": "https://hooks.slack.com/services/<team id>/<webhook id>/<token>",
    }[type_]
    assert f"webhook URL: {shape}" in block
    with pytest.raises(InvalidInput) as caught:
        validate(type_, {"webhook_url": url})
    # Sent as written, it is refused saying which part is wrong.
    wrong = {"discord": "the token may hold", "slack": "the team id 'T…' may hold"}[type_]
    assert f"; {wrong} only letters, digits, '-' and '_', not " in caught.value.message
