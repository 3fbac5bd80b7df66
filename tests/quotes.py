"""A stock quote service on loopback that tests change as they go: a real HTTP server for
monitors to read."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Quote:
    """A stock quote service: GET / answers the current price; the test changes it."""

    def __init__(self) -> None:
        self.price: Any = 140.0
        self.status = 200
        self.delay = 0.0
        self.body: bytes | None = None
        self.seen_headers: list[dict[str, str]] = []
        quote = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                quote.seen_headers.append(dict(self.headers))
                time.sleep(quote.delay)
                body = (
                    quote.body
                    if quote.body is not None
                    else json.dumps(
                        {"symbol": "AAPL", "data": {"price": quote.price, "volume": 1200}}
                    ).encode()
                )
                self.send_response(quote.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/quote"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@contextmanager
def running_quote(price: Any = 140.0) -> Iterator[Quote]:
    quote = Quote()
    quote.price = price
    try:
        yield quote
    finally:
        quote.server.shutdown()
