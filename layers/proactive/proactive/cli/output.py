"""How answers are printed: `-o table|json|jsonl|yaml`.

`json` prints exactly what the API answered (the decoded body, re-indented), so a script can read
it as the API documents it; `jsonl` prints one line per item of a list (or the one object);
`yaml` the same data as YAML; `table` a Rich table for people. A table is never cut to the
terminal's width when the output is not a terminal: its cells fold instead. Colour is off with
NO_COLOR, `--no-color`, or when the output is not a terminal. Progress, notices and errors go to
stderr, so stdout holds only the answer.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

FORMATS = ("table", "json", "jsonl", "yaml")
# A column: its header, and the field it shows (a dotted path) or a function of the item.
Column = tuple[str, str | Callable[[dict[str, Any]], Any]]


def _field(item: dict[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class Output:
    def __init__(self, fmt: str = "table", *, color: bool = True) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"-o must be one of {', '.join(FORMATS)}, not {fmt!r}")
        self.format = fmt
        self.color = color
        self._out: Any = None
        self._err: Any = None

    def _console(self, stderr: bool) -> Any:
        from rich.console import Console

        stream = sys.stderr if stderr else sys.stdout
        terminal = stream.isatty()
        return Console(
            file=stream,
            no_color=not self.color or not terminal,
            highlight=False,
            soft_wrap=not terminal,
            width=None if terminal else 100_000,
        )

    @property
    def out(self) -> Any:
        if self._out is None:
            self._out = self._console(stderr=False)
        return self._out

    @property
    def err(self) -> Any:
        if self._err is None:
            self._err = self._console(stderr=True)
        return self._err

    def answer(self, body: Any, columns: Sequence[Column] = (), *, title: str | None = None) -> None:
        """Print what the API answered, in the chosen format (a table of `columns` for lists)."""
        if self.format == "json":
            sys.stdout.write(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
        elif self.format == "jsonl":
            items = body.get("items") if isinstance(body, dict) and "items" in body else None
            for item in items if isinstance(items, list) else body if isinstance(body, list) else [body]:
                sys.stdout.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n")
        elif self.format == "yaml":
            import yaml

            sys.stdout.write(yaml.safe_dump(body, sort_keys=False, allow_unicode=True))
        else:
            self._table(body, columns, title)
        sys.stdout.flush()

    def _table(self, body: Any, columns: Sequence[Column], title: str | None) -> None:
        from rich.table import Table

        items = body.get("items") if isinstance(body, dict) and isinstance(body.get("items"), list) else None
        if items is None and isinstance(body, list):
            items = body
        if items is None:
            table = Table(title=title, show_header=False, box=None, pad_edge=False)
            table.add_column("field", style="bold", no_wrap=True)
            table.add_column("value", overflow="fold")
            for key, value in (body or {}).items() if isinstance(body, dict) else [("", body)]:
                table.add_row(key, _cell(value))
            self._print(table)
            return
        shown = columns or [(key, key) for key in (items[0] if items and isinstance(items[0], dict) else {})]
        table = Table(title=title)
        for header, _ in shown:
            table.add_column(header, overflow="fold")
        for item in items:
            row = item if isinstance(item, dict) else {"value": item}
            table.add_row(*(_cell(how(row) if callable(how) else _field(row, how)) for _, how in shown))
        self._print(table)
        if not items:
            self.note("(none)")
        elif isinstance(body, dict) and body.get("next_cursor"):
            self.note(f"more: --cursor {body['next_cursor']}")

    def _print(self, table: Any) -> None:
        """A table on stdout; off a terminal, without the spaces that pad its lines' ends."""
        if sys.stdout.isatty():
            self.out.print(table)
            return
        with self.out.capture() as captured:
            self.out.print(table)
        sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))

    def note(self, text: str) -> None:
        """Progress or a notice, on stderr."""
        self.err.print(text, markup=False)

    def text(self, text: str) -> None:
        """Plain text on stdout (a token, a URL), whatever the format."""
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
