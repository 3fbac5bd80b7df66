"""moto's DynamoDB made faster (`proactive.dev.moto_dynamodb`) answers exactly what moto answers."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.models.table import SecondaryIndex, Table

from tests.mockaws import mocked_aws

PARTITIONS = ("WS#a", "WS#b", "WS#c")


@pytest.fixture
def table() -> Iterator[Any]:
    with mocked_aws():
        import os

        yield boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def _fill(table: Any, rng: random.Random, count: int) -> None:
    with table.batch_writer() as batch:
        for i in range(count):
            item: dict[str, Any] = {
                "PK": rng.choice(PARTITIONS),
                "SK": f"RUN#{rng.randrange(10_000):05d}#{i}",
                "n": rng.randrange(100),
            }
            if rng.random() < 0.8:  # some items are in no index
                item["GSI1PK"] = f"L#{rng.randrange(3)}"
                item["GSI1SK"] = f"{rng.randrange(500):04d}"
            if rng.random() < 0.3:  # an index that keeps some of the item's attributes besides its keys
                item["GSI2PK"] = f"S#{rng.randrange(2)}"
                item["GSI2SK"] = f"{rng.randrange(100):03d}"
                item["id"] = f"id-{i}"
                if rng.random() < 0.5:
                    item["is_active"] = rng.random() < 0.5  # not a string: projected through moto's way
            if rng.random() < 0.3:
                item["due_pk"] = "due"
                item["due_at"] = f"2026-12-0{rng.randrange(1, 9)}T00:00:{rng.randrange(60):02d}"
            batch.put_item(Item=item)


def _queries() -> list[dict[str, Any]]:
    asked: list[dict[str, Any]] = []
    for partition in (*PARTITIONS, "WS#none"):
        asked.append({"KeyConditionExpression": Key("PK").eq(partition)})
        asked.append({"KeyConditionExpression": Key("PK").eq(partition) & Key("SK").begins_with("RUN#00")})
        asked.append(
            {
                "KeyConditionExpression": Key("PK").eq(partition) & Key("SK").between("RUN#02", "RUN#07"),
                "ScanIndexForward": False,
                "Limit": 7,
            }
        )
    for shard in ("L#0", "L#1", "L#2", "L#9"):
        asked.append({"IndexName": "GSI1", "KeyConditionExpression": Key("GSI1PK").eq(shard)})
        asked.append(
            {
                "IndexName": "GSI1",
                "KeyConditionExpression": Key("GSI1PK").eq(shard) & Key("GSI1SK").gte("0250"),
                "ScanIndexForward": False,
                "Limit": 5,
                "FilterExpression": Attr("n").lt(50),
            }
        )
    for shard in ("L#0", "L#1", "L#9"):
        for limit in (1, 6, 1000):  # a first page without a sort key condition, either way
            asked.append(
                {
                    "IndexName": "GSI1",
                    "KeyConditionExpression": Key("GSI1PK").eq(shard),
                    "ScanIndexForward": limit != 6,
                    "Limit": limit,
                    "FilterExpression": Attr("n").lt(30),
                }
            )
    for shard in ("S#0", "S#1"):  # an index that keeps some attributes besides its keys
        asked.append({"IndexName": "GSI2", "KeyConditionExpression": Key("GSI2PK").eq(shard), "Limit": 9})
        asked.append(
            {
                "IndexName": "GSI2",
                "KeyConditionExpression": Key("GSI2PK").eq(shard) & Key("GSI2SK").lt("050"),
                "ScanIndexForward": False,
                "FilterExpression": Attr("is_active").eq(True) | Attr("id").begins_with("id-1"),
            }
        )
    asked.append(
        {
            "IndexName": "DueIndex",
            "KeyConditionExpression": Key("due_pk").eq("due") & Key("due_at").lte("2026-12-04"),
        }
    )
    return asked


def _pages(table: Any, query: dict[str, Any]) -> list[tuple[list[dict[str, Any]], Any]]:
    """Every page of the query, with the key each ends on."""
    pages, start = [], None
    while True:
        answer = table.query(**query, **({"ExclusiveStartKey": start} if start else {}))
        start = answer.get("LastEvaluatedKey")
        pages.append((answer["Items"], start))
        if not start:
            return pages


def _as_moto_answers(table: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    with monkeypatch.context() as patched:
        patched.setattr(Table, "query", Table.query.__wrapped__)
        patched.setattr(SecondaryIndex, "project", SecondaryIndex.project.__wrapped__)
        patched.setattr(BaseJSONSerializer, "_serialize", BaseJSONSerializer._serialize.__wrapped__)
        patched.setattr(dynamodb_responses, "dynamo_to_dict", dynamodb_responses.dynamo_to_dict.__wrapped__)
        return [_pages(table, query) for query in _queries()]


def test_every_query_answers_what_moto_answers(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    _fill(table, rng, 400)
    assert [_pages(table, query) for query in _queries()] == _as_moto_answers(table, monkeypatch)


def test_a_write_is_seen_by_the_next_query(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(8)
    _fill(table, rng, 200)
    index = {"IndexName": "GSI1", "KeyConditionExpression": Key("GSI1PK").eq("L#moved")}
    assert table.query(**index)["Items"] == []  # grouped now

    table.put_item(Item={"PK": "WS#a", "SK": "RUN#new", "GSI1PK": "L#moved", "GSI1SK": "0001"})
    assert [i["SK"] for i in table.query(**index)["Items"]] == ["RUN#new"]

    table.update_item(
        Key={"PK": "WS#a", "SK": "RUN#new"},
        UpdateExpression="SET GSI1PK = :p",
        ExpressionAttributeValues={":p": "L#elsewhere"},
    )
    assert table.query(**index)["Items"] == []

    table.update_item(
        Key={"PK": "WS#a", "SK": "RUN#new"},
        UpdateExpression="SET GSI1PK = :p",
        ExpressionAttributeValues={":p": "L#moved"},
    )
    table.meta.client.transact_write_items(  # the resource's client: plain values
        TransactItems=[
            {
                "Put": {
                    "TableName": table.name,
                    "Item": {"PK": "WS#b", "SK": "RUN#t", "GSI1PK": "L#moved", "GSI1SK": "0000"},
                }
            }
        ]
    )
    assert [i["SK"] for i in table.query(**index)["Items"]] == ["RUN#t", "RUN#new"]

    table.delete_item(Key={"PK": "WS#a", "SK": "RUN#new"})
    assert [i["SK"] for i in table.query(**index)["Items"]] == ["RUN#t"]
    assert [_pages(table, query) for query in _queries()] == _as_moto_answers(table, monkeypatch)


EVERY_KIND = {
    "PK": "WS#kinds",
    "SK": "ITEM#1",
    "text": "héllo \u2603",
    "number": Decimal("12.50"),
    "blob": b"\x00\xffbinary",
    "texts": {"a", "b"},
    "numbers": {Decimal(1), Decimal("2.5")},
    "blobs": {b"x", b"\x01"},
    "empty": {},
    "nested": {"list": [1, "two", None, True, {"deep": [b"z", {"n": Decimal(3)}]}], "flag": False},
    "nothing": None,
}


def _answers(table: Any) -> list[Any]:
    table.put_item(Item=EVERY_KIND)
    client = boto3.client("dynamodb")
    key = {"PK": {"S": "WS#kinds"}, "SK": {"S": "ITEM#1"}}
    answers = [
        table.get_item(Key={"PK": "WS#kinds", "SK": "ITEM#1"})["Item"],
        table.query(KeyConditionExpression=Key("PK").eq("WS#kinds"))["Items"],
        table.scan()["Items"],
        client.get_item(TableName=table.name, Key=key)["Item"],
        client.batch_get_item(RequestItems={table.name: {"Keys": [key]}})["Responses"],
        client.update_item(
            TableName=table.name,
            Key=key,
            UpdateExpression="SET touched = :t",
            ExpressionAttributeValues={":t": {"BOOL": True}},
            ReturnValues="ALL_NEW",
        )["Attributes"],
    ]
    return answers


def test_every_kind_of_value_reads_back_as_moto_writes_it(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    direct = _answers(table)
    assert direct[0] == EVERY_KIND
    with monkeypatch.context() as patched:
        patched.setattr(BaseJSONSerializer, "_serialize", BaseJSONSerializer._serialize.__wrapped__)
        patched.setattr(dynamodb_responses, "dynamo_to_dict", dynamodb_responses.dynamo_to_dict.__wrapped__)
        walked = _answers(table)
    assert direct == walked


def test_an_items_size_is_measured_again_after_a_write(table: Any) -> None:
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    key = {"PK": "WS#size", "SK": "ITEM#1"}
    table.put_item(Item={**key, "note": "short"})
    stored = dynamodb_backends["123456789012"]["us-east-1"].tables[table.name]

    def item() -> Any:
        return stored.items[DynamoType({"S": "WS#size"})][DynamoType({"S": "ITEM#1"})]

    table.query(KeyConditionExpression=Key("PK").eq("WS#size"))  # measured as it is returned
    small = item().size()
    table.update_item(
        Key=key, UpdateExpression="SET note = :n", ExpressionAttributeValues={":n": "x" * 10_000}
    )
    assert item().size() == Item.size.__wrapped__(item()) > small + 9_000
