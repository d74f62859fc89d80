"""A real HTTP upstream on 127.0.0.1 for the requests/httpx tests.

/json, /redirect (302 to /json), /slow (0.2 s), /echo (method, query, body, content
type, selected headers), /status/<code>. Threads serve requests concurrently; the server
stops when the context manager exits. Nothing else is ever contacted.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

SLOW_SECONDS = 0.2
ECHOED_HEADERS = ("x-token", "authorization", "cookie")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        body = b"" if self.command == "HEAD" else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(json.dumps(payload).encode())))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _answer(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        if url.path == "/json":
            self._send(200, {"items": [1, 2, 3]})
        elif url.path == "/redirect":
            self._send(302, {"moved": True}, {"Location": "/json"})
        elif url.path == "/slow":
            time.sleep(SLOW_SECONDS)
            self._send(200, {"slow": True})
        elif url.path == "/echo":
            is_json = (self.headers.get("Content-Type") or "").startswith("application/json")
            self._send(
                200,
                {
                    "method": self.command,
                    "query": parse_qsl(url.query, keep_blank_values=True),
                    # JSON bodies as data: httpx writes them without spaces, requests with
                    "body": json.loads(body) if is_json and body else body,
                    "content_type": (self.headers.get("Content-Type") or "").split(";")[0],
                    "headers": {
                        name: self.headers.get(name)
                        for name in ECHOED_HEADERS
                        if self.headers.get(name)
                    },
                },
            )
        elif url.path.startswith("/status/"):
            code = int(url.path.rsplit("/", 1)[1])
            self._send(code, {"status": code})
        else:
            self._send(404, {"missing": url.path})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops simultaneous connects for a second

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (a timeout test) is not an error of the server


@contextmanager
def upstream() -> Iterator[str]:
    """Serve on 127.0.0.1 (a free port); yields the base URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
