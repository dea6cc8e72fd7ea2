"""A fault-injecting HTTP proxy on 127.0.0.1, in front of the moto server (and of a PutRecord sink).

Each request draws from a seeded RNG: pass it through, or answer it with one of the faults AWS
clients meet: throttling (400 `ThrottlingException`), a 5xx (`InternalFailure`, `ServiceUnavailable`),
a connection reset before the request reaches the service, or a connection reset after the service
applied the request (the response is lost). A fault may start a burst that outlasts botocore's
retries, so that commands fail and are re-run, as CI and people do.

moto 5.2.5 has no featurestore-runtime; `RecordSink` stands in for `PutRecord` only, recording each
accepted record and answering PutRecord's empty 200, so that ingestion runs over real HTTP (resets
and lost responses included) against the same proxy.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
import struct
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

FAULTS = ("throttle", "500", "503", "reset", "lost")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


class FaultProxy:
    """Forwards to `upstream`; with probability `rate` a request meets a fault instead (seeded)."""

    def __init__(self, upstream: str, *, seed: int, rate: float, burst: float, burst_length: int) -> None:
        self.upstream = urlsplit(upstream)
        self.routes: dict[str, str] = {}
        """Path prefix -> another upstream (the PutRecord sink)."""
        self.rate, self.burst, self.burst_length = rate, burst, burst_length
        self.enabled = True
        self.requests = 0
        self.injected: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._pending_burst: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where clients send their requests."""
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def draw(self) -> str | None:
        """The fault for the next request, or None to pass it through."""
        with self._lock:
            self.requests += 1
            if not self.enabled:
                return None
            if self._pending_burst:
                fault = self._pending_burst.pop()
            elif self._rng.random() < self.rate:
                fault = self._rng.choice(FAULTS)
                if self._rng.random() < self.burst:
                    self._pending_burst = [self._rng.choice(FAULTS) for _ in range(self.burst_length - 1)]
            else:
                return None
            self.injected[fault] += 1
            return fault

    def target(self, path: str) -> Any:
        """The upstream (scheme, host, port) serving `path`."""
        for prefix, upstream in self.routes.items():
            if path.startswith(prefix):
                return urlsplit(upstream)
        return self.upstream


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fault = proxy.draw()
            if fault == "reset":
                return self._reset()
            if fault == "throttle":
                return self._error(400, "ThrottlingException", "Rate exceeded")
            if fault in ("500", "503"):
                return self._error(int(fault), {"500": "InternalFailure", "503": "ServiceUnavailable"}[fault], "fault")
            status, headers, answer = self._forward(body)
            if fault == "lost":
                return self._reset()
            self.send_response(status)
            for key, value in headers:
                if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            return None

        do_GET = do_POST = do_PUT = do_DELETE = _relay  # noqa: N815 - http.server's interface

        def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            upstream = proxy.target(self.path)
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
            headers = {key: value for key, value in self.headers.items() if key.lower() not in _HOP_BY_HOP}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            connection.close()
            return response.status, response.getheaders(), answer

        def _error(self, status: int, code: str, message: str) -> None:
            body = json.dumps({"__type": code, "message": message}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-ErrorType", code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _reset(self) -> None:
            """Close with a TCP RST and no answer, as a dropped connection looks to the client."""
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

        def finish(self) -> None:
            with contextlib.suppress(OSError):  # the connection may have been reset on purpose
                super().finish()

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


class RecordSink:
    """Accepts featurestore-runtime `PutRecord` (PUT /FeatureGroup/<name>) and keeps each record by identifier."""

    def __init__(self, identifier: str) -> None:
        self.identifier = identifier
        self.puts = 0
        self.records: dict[str, dict[str, str]] = {}
        self.groups: set[str] = set()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_PUT(self) -> None:
                document = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                values = {item["FeatureName"]: item["ValueAsString"] for item in document["Record"]}
                sink.groups.add(unquote(self.path.removeprefix("/FeatureGroup/")))
                sink.puts += 1
                sink.records[values[sink.identifier]] = values
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The sink's endpoint."""
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> RecordSink:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
