"""What the table can hold, and items as they read back: values converted to and from DynamoDB's
once (floats become Decimals on the way in and ints or floats on the way out, times become
fixed-width UTC text; anything DynamoDB cannot hold is refused with the path to it before a call
is made), arbitrary JSON kept as text, an item's body without its key attributes, page cursors,
and filters evaluated on whole items where DynamoDB cannot evaluate them (on an index that holds
only keys).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from datetime import datetime
from decimal import Context, Decimal
from typing import Any

from boto3.dynamodb.conditions import AttributeBase, ConditionBase, Size

from proactive.clock import iso
from proactive.errors import InvalidInput
from proactive.store.keys import INDEX_KEYS, KEY_ATTRIBUTES

# DynamoDB numbers: 38 significant digits, magnitudes 1e-130 to 9.99...e125; maps and lists nest
# at most 32 levels deep.
MAX_DIGITS = 38
MAX_EXPONENT = 125
MIN_EXPONENT = -130
MAX_DEPTH = 32


class UnstorableValue(InvalidInput):
    """A value DynamoDB cannot hold (a non-finite or out-of-range number, too deep a nesting, an
    empty map key). `field` is the path to it."""


def _number(value: Decimal, path: str) -> Decimal:
    if not value.is_finite():
        raise UnstorableValue(f"{path or 'value'} is not a finite number", field=path or None)
    if value.is_zero():
        return Decimal(0)
    # Counted from the digits themselves: normalize() would round to the context's 28 digits first.
    digits = len("".join(map(str, value.as_tuple().digits)).strip("0") or "0")
    if digits > MAX_DIGITS:
        raise UnstorableValue(
            f"{path or 'value'} has {digits} significant digits; at most {MAX_DIGITS} can be stored",
            field=path or None,
        )
    exponent = value.adjusted()
    if not MIN_EXPONENT <= exponent <= MAX_EXPONENT:
        raise UnstorableValue(
            f"{path or 'value'} ({value:.3e}) is outside the storable range "
            f"1e{MIN_EXPONENT} to 1e{MAX_EXPONENT}",
            field=path or None,
        )
    if len(value.as_tuple().digits) > MAX_DIGITS:
        # e.g. 10**44: one significant digit, but 45 in its coefficient, which boto3's
        # 38-digit context refuses to write. Exact: at most MAX_DIGITS of them are significant.
        return value.normalize(Context(prec=MAX_DIGITS))
    return value


def storable(value: Any, path: str = "", depth: int = 0) -> Any:
    """`value` in the form DynamoDB stores (floats as Decimals), or UnstorableValue naming where
    it cannot be stored."""
    if depth > MAX_DEPTH:
        raise UnstorableValue(
            f"{path or 'value'} nests more than {MAX_DEPTH} levels deep", field=path or None
        )
    if value is None or isinstance(value, bool | str | bytes):
        return value
    if isinstance(value, datetime):
        # Times are stored as fixed-width UTC text, so that they compare as they sort.
        try:
            return iso(value)
        except ValueError:
            raise UnstorableValue(
                f"{path or 'value'} is a time without a UTC offset", field=path or None
            ) from None
    if isinstance(value, int):
        return _number(Decimal(value), path)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnstorableValue(f"{path or 'value'} is not a finite number", field=path or None)
        return _number(Decimal(repr(value)), path)
    if isinstance(value, Decimal):
        return _number(value, path)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                raise UnstorableValue(
                    f"{path or 'value'} has an empty or non-text key; keys must be non-empty text",
                    field=path or None,
                )
            out[key] = storable(item, f"{path}.{key}" if path else key, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [storable(item, f"{path}.{i}" if path else str(i), depth + 1) for i, item in enumerate(value)]
    raise UnstorableValue(f"{path or 'value'} has a type that cannot be stored: {type(value).__name__}")


def plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; hand out ints and floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def body(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item without the attributes that only serve keys and indexes."""
    return {k: v for k, v in item.items() if k not in KEY_ATTRIBUTES}


def encode_cursor(key: Mapping[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(dict(key), sort_keys=True).encode()).decode()


def decode_cursor(cursor: str | None, *, index: str | None, partition: str) -> dict[str, Any] | None:
    """The start key a cursor holds, if it is one a query of this index and partition returned."""
    if not cursor:
        return None
    refused = InvalidInput("cursor is not one this API returned", field="cursor")
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise refused from None
    expected = {*INDEX_KEYS[index], *INDEX_KEYS[None]}
    if (
        not isinstance(key, dict)
        or set(key) != expected
        or not all(isinstance(v, str) and v for v in key.values())
        or key[INDEX_KEYS[index][0]] != partition
    ):
        raise refused
    return key


_MISSING = object()


def _resolve(item: Mapping[str, Any], operand: Any) -> Any:
    if isinstance(operand, Size):
        inner = _resolve(item, operand.get_expression()["values"][0])
        return _MISSING if inner is _MISSING or not hasattr(inner, "__len__") else len(inner)
    if not isinstance(operand, AttributeBase):
        return operand
    value: Any = item
    for part in operand.name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _compare(operator: str, left: Any, right: Any) -> bool:
    try:
        if operator == "=":
            return bool(left == right)
        if operator == "<>":
            return bool(left != right)
        if operator == "<":
            return bool(left < right)
        if operator == "<=":
            return bool(left <= right)
        if operator == ">":
            return bool(left > right)
        return bool(left >= right)
    except TypeError:
        return False  # values of different types never compare, as in DynamoDB


def matches(condition: ConditionBase, item: Mapping[str, Any]) -> bool:
    """Whether `item` (as `plain` gives it) satisfies a filter condition, evaluated as DynamoDB
    would: a comparison with an attribute the item lacks is false. Used where DynamoDB cannot
    evaluate it (an index that does not hold the attributes the filter reads)."""
    expression = condition.get_expression()
    operator, operands = expression["operator"], expression["values"]
    if operator == "AND":
        return all(matches(o, item) for o in operands)
    if operator == "OR":
        return any(matches(o, item) for o in operands)
    if operator == "NOT":
        return not matches(operands[0], item)
    values = [_resolve(item, o) for o in operands]
    if operator == "attribute_exists":
        return values[0] is not _MISSING
    if operator == "attribute_not_exists":
        return values[0] is _MISSING
    if any(v is _MISSING for v in values):
        return False
    if operator in ("=", "<>", "<", "<=", ">", ">="):
        return _compare(operator, values[0], values[1])
    if operator == "IN":
        return values[0] in values[1]
    if operator == "BETWEEN":
        return _compare(">=", values[0], values[1]) and _compare("<=", values[0], values[2])
    if operator == "begins_with":
        return isinstance(values[0], str | bytes) and values[0].startswith(values[1])
    if operator == "contains":
        return isinstance(values[0], str | bytes | list | set | tuple) and values[1] in values[0]
    raise ValueError(f"filter operator {operator!r} cannot be evaluated outside DynamoDB")


def json_text(value: Any, *, field: str) -> str:
    """Arbitrary JSON (a payload, a monitored value) as text: stored as it came, whatever its
    numbers, depth or keys. UnstorableValue if it is not JSON at all (NaN or Infinity)."""
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError) as exc:
        raise UnstorableValue(f"{field} is not valid JSON: {exc}", field=field) from None


def from_json_text(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text
