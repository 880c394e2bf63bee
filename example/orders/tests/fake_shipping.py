"""A real shipping-quote service for the tests: stdlib http.server on 127.0.0.1, in a thread."""

from __future__ import annotations

import http.server
import json
import threading
from urllib.parse import parse_qs, urlsplit


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeShippingService

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        self.server.received.append(query)
        if url.path != "/v1/quotes":
            return self._send(404, {"error": "not found"})
        if query.get("country") in self.server.failing_countries:
            return self._send(503, {"error": "carrier timeout"})
        price = 4.9 + int(query.get("weight", "0")) / 1000 * 1.5
        body = {"carrier": "Loopback Post", "price": f"{price:.2f}", "currency": "EUR", "days": 2}
        return self._send(200, body)

    def _send(self, code: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # keep the test output clean
        pass


class FakeShippingService(http.server.ThreadingHTTPServer):
    """Quotes 4.90 EUR + 1.50 EUR per kg; answers 503 for ``failing_countries``."""

    daemon_threads = True

    def __init__(self, failing_countries: frozenset[str] = frozenset({"XX"})) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.failing_countries = failing_countries
        self.received: list[dict[str, str]] = []
        # A short poll interval: shutdown() waits for the loop to notice, 0.5 s by default.
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/v1"

    def start(self) -> FakeShippingService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()
