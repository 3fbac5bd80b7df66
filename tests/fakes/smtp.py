"""An SMTP server on loopback (aiosmtpd) that asks for a login and keeps what it accepted, and
the settings that point the platform's email at it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

LOGIN, PASSWORD = "proactive", "smtp-pass"


@dataclass
class MailHandler:
    """Keeps what the SMTP server received; `refuse_*` answers RCPT or DATA with an error instead."""

    received: list[tuple[Envelope, EmailMessage]] = field(default_factory=list)
    refuse_rcpt: str | None = None
    refuse_data: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse_data:
            return self.refuse_data
        parsed = message_from_bytes(bytes(envelope.content or b""), policy=policy.default)
        self.received.append((envelope, parsed))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        LOGIN.encode(),
        PASSWORD.encode(),
    )
    # Not handled: the server answers the failure itself (535).
    return AuthResult(success=ok, handled=False)


@contextmanager
def smtp_server() -> Iterator[tuple[MailHandler, dict[str, str]]]:
    """The server's handler, and the environment that sends the platform's email to it (the
    password as the named secret `smtp-password`, from the env secrets backend)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = MailHandler()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    env = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_USERNAME": LOGIN,
        "SMTP_PASSWORD_SECRET": "smtp-password",
        "PROACTIVE_SECRET_SMTP_PASSWORD": PASSWORD,
        "SMTP_FROM_EMAIL": "Proactive <alerts@example.org>",
    }
    try:
        yield handler, env
    finally:
        controller.stop()
