"""The local stack's pollers look when a message was sent from the stack, not on a timer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from proactive.dev.queue_activity import QueueActivity
from tests.mockaws import mocked_aws


@pytest.fixture
def watched() -> Iterator[tuple[QueueActivity, Any, str]]:
    with mocked_aws() as resources:
        session = boto3.Session()
        activity = QueueActivity()
        activity.watch(session)
        yield activity, session.client("sqs"), resources["queue_url"]


def _due(activity: QueueActivity) -> list[float]:
    return sorted(activity._due)


def test_a_send_is_due_at_once_and_a_delayed_one_when_its_delay_ends(
    watched: tuple[QueueActivity, Any, str],
) -> None:
    activity, sqs, url = watched
    before = time.monotonic()
    sqs.send_message(QueueUrl=url, MessageBody="now")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=30)
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "a", "MessageBody": "a", "DelaySeconds": 5}, {"Id": "b", "MessageBody": "b"}],
    )
    after = time.monotonic()
    due = [moment - before for moment in _due(activity)]
    assert len(due) == 4
    assert due[0] <= due[1] <= after - before  # the two sent without a delay
    assert 5 <= due[2] <= 5 + after - before
    assert 30 <= due[3] <= 30 + after - before

    activity.wait(most=60)  # returns at once: the first two are due
    assert len(_due(activity)) == 2


def test_a_changed_visibility_is_due_when_it_ends(watched: tuple[QueueActivity, Any, str]) -> None:
    activity, sqs, url = watched
    sqs.send_message(QueueUrl=url, MessageBody="m")
    activity.wait(most=60)
    received = sqs.receive_message(QueueUrl=url)["Messages"][0]
    before = time.monotonic()
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=received["ReceiptHandle"], VisibilityTimeout=12)
    assert [round(moment - before) for moment in _due(activity)] == [12]


def test_a_refused_send_is_not_due(watched: tuple[QueueActivity, Any, str]) -> None:
    activity, sqs, url = watched
    with pytest.raises(sqs.exceptions.ClientError):
        sqs.send_message(QueueUrl=url + "-missing", MessageBody="m")
    assert _due(activity) == []


def test_a_waiting_poller_is_woken_by_a_send_from_another_thread() -> None:
    activity = QueueActivity()
    woken = threading.Event()

    def poller() -> None:
        activity.wait(most=600)
        woken.set()

    thread = threading.Thread(target=poller, daemon=True)
    thread.start()
    assert not woken.wait(0.05)  # nothing sent: it waits
    activity.at(time.monotonic())
    assert woken.wait(60), "the poller slept through a send"
    thread.join(60)


def test_wake_ends_the_wait_and_a_later_moment_does_not() -> None:
    activity = QueueActivity()
    activity.at(time.monotonic() + 3600)  # a message due in an hour does not end the wait early
    thread = threading.Thread(target=activity.wait, args=(600,), daemon=True)
    thread.start()
    thread.join(0.05)
    assert thread.is_alive()
    activity.wake()
    thread.join(60)
    assert not thread.is_alive()
    assert len(_due(activity)) == 1  # the hour's moment is still to come
