"""Text that is not valid Unicode: lone surrogates.

JSON may escape any UTF-16 code unit, so `"\\ud800"` is valid JSON, and Python reads it as a
string holding the surrogate U+D800 on its own. Such a string cannot be encoded as UTF-8: storing
it works, but every answer that shows it fails. So text from outside is refused when it holds one
(`lone_surrogate` says where), and what is shown of stored data has each one replaced by U+FFFD
(`readable`), which keeps the rest of the item readable.

A pair escaped as JSON means it (`"\\ud83d\\ude00"`) is read as the one character it encodes,
so only a surrogate on its own is found here. Both walks are iterative: a value as deep as JSON
can be read is walked without recursion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON escape of a surrogate, or a surrogate itself (in bytes, as UTF-8 would encode one, which
# Python's JSON reader lets through from bytes): where none is in a document, no string read from
# it holds one.
_ESCAPED = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_ESCAPED_TEXT = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def may_hold_surrogates(raw: bytes | str) -> bool:
    """False when JSON text `raw` cannot hold a lone surrogate (it escapes none, and holds none):
    a cheap test before walking what was read from it. True may be a false alarm (an escaped
    backslash, or a surrogate pair)."""
    if isinstance(raw, str):
        return _ESCAPED_TEXT.search(raw) is not None
    return _ESCAPED.search(raw) is not None


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def lone_surrogate(value: Any, *, root: str = "") -> tuple[str, str] | None:
    """Where the first lone surrogate in a value read from JSON is, as (path, what): the path as
    the API names fields (`metrics[3].metric_name`; `root`, or "body", for the value itself) and
    what is there ("a lone surrogate (U+D800 at position 2)", positions counting characters from
    1; "in a key" when it is in an object's key). None when every string is valid Unicode."""
    # (path, value, the key it is under and the path of the object holding it, or None)
    stack: list[tuple[str, Any, tuple[str, str] | None]] = [(root, value, None)]
    while stack:
        path, item, under = stack.pop()
        if under is not None and (found := _SURROGATE.search(under[0])) is not None:
            return under[1] or "body", f"{_described(found)} in a key"
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found is not None:
                return path or "body", _described(found)
        elif isinstance(item, Mapping):
            stack.extend(
                (_path(path, str(key)), child, (key, path) if isinstance(key, str) else None)
                for key, child in reversed(list(item.items()))
            )
        elif isinstance(item, list | tuple):
            stack.extend((_path(path, i), child, None) for i, child in reversed(list(enumerate(item))))
    return None


def _described(found: re.Match[str]) -> str:
    return f"a lone surrogate (U+{ord(found.group()):04X} at position {found.start() + 1})"


def readable(value: Any) -> tuple[Any, list[str]]:
    """`value` with every lone surrogate in its strings and keys replaced by U+FFFD, and the paths
    of the strings (or objects, for a key) that held one; `value` itself, unchanged and not
    copied, with no paths, when it holds none."""
    if lone_surrogate(value) is None:
        return value, []
    changed: list[str] = []
    result: list[Any] = [None]
    # (path, value, the container to put the readable copy in, where in it)
    stack: list[tuple[str, Any, Any, Any]] = [("", value, result, 0)]
    while stack:
        path, item, into, slot = stack.pop()
        if isinstance(item, str):
            fixed = _SURROGATE.sub(REPLACEMENT, item)
            if fixed != item:
                changed.append(path or "body")
            into[slot] = fixed
        elif isinstance(item, Mapping):
            copy: dict[Any, Any] = {}
            into[slot] = copy
            for key, child in item.items():
                name = key
                if isinstance(key, str) and _SURROGATE.search(key):
                    name = _SURROGATE.sub(REPLACEMENT, key)
                    changed.append(path or "body")
                copy[name] = None
                stack.append((_path(path, str(name)), child, copy, name))
        elif isinstance(item, list | tuple):
            items: list[Any] = [None] * len(item)
            into[slot] = items
            stack.extend((_path(path, i), child, items, i) for i, child in enumerate(item))
        else:
            into[slot] = item
    return result[0], sorted(set(changed))
