"""The `proactive` command as a person runs it: the installed executable in its own process, with
its own configuration folder, no colour, against the local stack; and a pseudo-terminal to type
into it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.localstack import PROACTIVE, stack_env


@dataclass
class Cli:
    """Runs `proactive` with `XDG_CONFIG_HOME` in `home`, `NO_COLOR=1`, and (unless told
    otherwise) PROACTIVE_API_URL and PROACTIVE_TOKEN set for the stack."""

    base_url: str
    home: Path
    token: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def env(self, **changes: str | None) -> dict[str, str]:
        env = {k: v for k, v in stack_env().items() if not k.startswith("PROACTIVE_")}
        env |= {"XDG_CONFIG_HOME": str(self.home), "NO_COLOR": "1", "PROACTIVE_API_URL": self.base_url}
        if self.token:
            env["PROACTIVE_TOKEN"] = self.token
        env |= self.extra
        for name, value in changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def run(
        self, *args: str, stdin: str | None = None, timeout: float = 120, **env: str | None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PROACTIVE, *args],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(**env),
            check=False,
        )

    def ok(self, *args: str, stdin: str | None = None, **env: str | None) -> subprocess.CompletedProcess[str]:
        done = self.run(*args, stdin=stdin, **env)
        assert done.returncode == 0, (
            f"proactive {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
        return done

    def json(self, *args: str, stdin: str | None = None, **env: str | None) -> Any:
        """The command's answer with `-o json`, parsed."""
        return json.loads(self.ok(*args, "-o", "json", stdin=stdin, **env).stdout)

    def popen(self, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
        return subprocess.Popen([PROACTIVE, *args], env=self.env(), text=True, **kwargs)


_ENVIRONMENT = threading.Lock()


@dataclass
class InProcess(Cli):
    """The same command lines, run by `proactive.cli.main` in this process (its own environment,
    stdin, stdout and stderr for the call): the whole command line from parsing to exit code,
    without starting an interpreter for each. What needs a process of its own (signals, a
    terminal) stays with `Cli`."""

    def run(
        self, *args: str, stdin: str | None = None, timeout: float = 120, **env: str | None
    ) -> subprocess.CompletedProcess[str]:
        import contextlib
        import io
        import sys

        from proactive.cli import main

        out, err = io.StringIO(), io.StringIO()
        with _ENVIRONMENT:
            saved = dict(os.environ)
            saved_stdin = sys.stdin
            try:
                os.environ.clear()
                os.environ.update(self.env(**env))
                sys.stdin = io.StringIO(stdin or "")
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    code = main(list(args))
            finally:
                sys.stdin = saved_stdin
                os.environ.clear()
                os.environ.update(saved)
        return subprocess.CompletedProcess([PROACTIVE, *args], code, out.getvalue(), err.getvalue())


class Terminal:
    """`proactive` in a pseudo-terminal: what it writes is collected as it comes; `type` sends
    keystrokes, `expect` waits until the screen shows a pattern."""

    def __init__(self, cli: Cli, *args: str) -> None:
        master, slave = os.openpty()
        self._master = master
        self.process = subprocess.Popen(
            [PROACTIVE, *args], stdin=slave, stdout=slave, stderr=slave, env=cli.env(), close_fds=True
        )
        os.close(slave)
        self._screen = b""
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 4096)
            except OSError:  # the other side closed
                chunk = b""
            with self._changed:
                if not chunk:
                    self._changed.notify_all()
                    return
                self._screen += chunk
                self._changed.notify_all()

    @property
    def screen(self) -> str:
        with self._changed:
            return self._screen.decode(errors="replace")

    def expect(self, pattern: str, *, after: int = 0, timeout: float = 60) -> int:
        """Wait until the screen shows `pattern` (a regular expression) past offset `after`; the
        offset just past it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = re.search(pattern.encode(), self._screen[after:])
                if found:
                    return after + found.end()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the terminal never showed {pattern!r}:\n{self.screen}")
                self._changed.wait(left)

    def exit_code(self, timeout: float = 60) -> int:
        """The exit code, once the command has ended."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the command did not end:\n{self.screen}") from None

    def interrupt(self, until: str | None = None, *, after: int = 0, timeout: float = 60) -> int:
        """Ctrl-C, as a person presses it. With `until`: once, then wait until the screen shows
        `until` past `after` (the offset just past it). Without: until the command ends (its exit
        code), again if it has not a moment later, as a person presses it again (a signal that
        lands just before a command starts reading the terminal does not interrupt that read)."""
        self.process.send_signal(signal.SIGINT)
        if until is not None:
            return self.expect(until, after=after, timeout=timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.process.wait(2)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    raise AssertionError(f"Ctrl-C did not end the command:\n{self.screen}") from None
            self.process.send_signal(signal.SIGINT)

    def type(self, text: str) -> None:
        os.write(self._master, text.encode())

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._reader.join(5)
        os.close(self._master)
