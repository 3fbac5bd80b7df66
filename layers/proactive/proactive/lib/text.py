"""Characters that change how text reads rather than what it says: control characters (C0, DEL
and C1) and Unicode's bidirectional formatting characters (embeddings and overrides U+202A to
U+202E, isolates U+2066 to U+2069, and the marks U+200E, U+200F and U+061C).

A name holding one can hide or reorder what a person sees (an override turns "exe.txt" into
"txt.exe" on screen) or break the one-line messages it appears in, so names refuse them
(`unsafe_character`), and text that reaches a message shows each one escaped (`escape_unsafe`).
"""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What a multi-line text keeps: its line breaks and tabs are layout, not tricks.
_UNSAFE_BUT_LAYOUT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def unsafe_character(text: str) -> str | None:
    """None if `text` holds none of these characters, else what is wrong with the first one, as
    "control characters (U+0000 at position 3)" (positions count from 1, in characters)."""
    found = _UNSAFE.search(text)
    if found is None:
        return None
    char = found.group()
    kind = (
        "control characters" if unicodedata.category(char) == "Cc" else "bidirectional formatting characters"
    )
    return f"{kind} (U+{ord(char):04X} at position {found.start() + 1})"


def escape_unsafe(text: str) -> str:
    r"""`text` with each of these characters shown as its escape (`\u202e`), so it reads as it
    is; line breaks (a `\r\n` becomes `\n`) and tabs are kept. Any other text is unchanged."""
    return _UNSAFE_BUT_LAYOUT.sub(lambda m: f"\\u{ord(m.group()):04x}", text.replace("\r\n", "\n"))
