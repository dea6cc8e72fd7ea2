"""A featurestore-runtime `PutRecord` endpoint on 127.0.0.1, for the benchmark and the ingestion tests.

It speaks the wire protocol of botocore's service model (`sagemaker-featurestore-runtime`, API version
2020-07-01, botocore 1.44.5 in uv.lock) rather than one of our own: the route and method come from the
operation's `http` trait (`PUT /FeatureGroup/{FeatureGroupName}`), each request is checked by botocore's
`ParamValidator` against the operation's input shape, and errors are rest-json errors: the model's
`ValidationError` (400), or `ThrottlingException` (400), a code botocore's standard retry mode counts as
throttling. It answers after a fixed latency, as a service across a network does, and may throttle every
request beyond `max_in_flight` concurrent ones, as a partition at its throughput limit does.

Run it on its own (`python -m bench.endpoint --latency 0.02`) so that its threads do not compete with
the client's for one interpreter; it prints its URL, and `GET /stats` answers its counters.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

SERVICE, OPERATION = "sagemaker-featurestore-runtime", "PutRecord"


def _operation() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(SERVICE).operation_model(OPERATION)


def _route(request_uri: str) -> re.Pattern[str]:
    """The model's `requestUri` (`/FeatureGroup/{FeatureGroupName}`) as a pattern with one group per label."""
    parts = re.split(r"\{(\w+)\}", request_uri)
    pattern = "".join(re.escape(part) if n % 2 == 0 else f"(?P<{part}>[^/?]+)" for n, part in enumerate(parts))
    return re.compile(pattern + r"(?:\?.*)?")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # 32 clients connecting at once must not overflow the listen backlog


class PutRecordEndpoint:
    """PutRecord on 127.0.0.1: validates per botocore's model, keeps every accepted record in arrival order."""

    def __init__(self, identifier: str, *, latency: float = 0.0, max_in_flight: int | None = None) -> None:
        operation = _operation()
        self.identifier = identifier
        self.latency, self.max_in_flight = latency, max_in_flight
        self.method = operation.http["method"]
        self.route = _route(operation.http["requestUri"])
        self.input_shape = operation.input_shape
        self.log: list[tuple[str, dict[str, str]]] = []
        """(feature group, record values) of each accepted PutRecord, in the order they were applied."""
        self.refuse: set[str] = set()
        """Record identifiers answered with `ValidationError` (a write that retrying cannot fix)."""
        self.throttled = self.refused = self.in_flight = self.peak_in_flight = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The `endpoint_url` of a client."""
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def stats(self) -> dict[str, int]:
        """Counters: accepted writes, throttled and refused requests, the most requests served at once."""
        with self._lock:
            return {
                "puts": len(self.log),
                "throttled": self.throttled,
                "refused": self.refused,
                "peak_in_flight": self.peak_in_flight,
            }

    def writes_of(self, identifier: str) -> list[dict[str, str]]:
        """The accepted writes of one record identifier, in order."""
        with self._lock:
            return [values for _, values in self.log if values.get(self.identifier) == identifier]

    def __enter__(self) -> PutRecordEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def serve(self) -> None:
        """Serve in this thread until interrupted."""
        self._server.serve_forever()

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any] | None, str | None]:
        """(status, JSON body or None, error code or None) for one request."""
        from botocore.validate import ParamValidator

        match = self.route.fullmatch(path)
        if method != self.method or match is None:
            return 404, {"message": f"no route {method} {path}"}, "UnknownOperationException"
        params: dict[str, Any] = {name: unquote(value) for name, value in match.groupdict().items()}
        try:
            params.update(json.loads(body or b"{}"))
        except ValueError:
            return 400, {"message": "the body is not JSON"}, "SerializationException"
        report = ParamValidator().validate(params, self.input_shape)
        if report.has_errors():
            return 400, {"message": report.generate_report()}, "ValidationError"
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            if self.max_in_flight is not None and self.in_flight > self.max_in_flight:
                self.in_flight -= 1
                self.throttled += 1
                return 400, {"message": "Rate exceeded"}, "ThrottlingException"
        try:
            time.sleep(self.latency)
            values = {item["FeatureName"]: item["ValueAsString"] for item in params["Record"]}
            with self._lock:
                if values.get(self.identifier) in self.refuse:
                    self.refused += 1
                    return 400, {"message": f"record {values.get(self.identifier)} refused"}, "ValidationError"
                self.log.append((params["FeatureGroupName"], values))
            return 200, None, None
        finally:
            with self._lock:
                self.in_flight -= 1


def _handler(endpoint: PutRecordEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            document: dict[str, Any] | None
            if self.command == "GET" and self.path == "/stats":
                status, document, code = 200, dict(endpoint.stats), None
            else:
                status, document, code = endpoint.answer(self.command, self.path, body)
            payload = json.dumps({**document, **({"__type": code} if code else {})}).encode() if document else b""
            self.send_response(status)
            self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
            if code:
                self.send_header("x-amzn-ErrorType", code)
            if payload:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = _serve  # noqa: N815 - http.server's interface

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve PutRecord until interrupted; the first line printed is the URL."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--identifier", default="customer_id", help="the record identifier feature")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds before each answer")
    parser.add_argument("--max-in-flight", type=int, default=None, help="throttle requests beyond this many")
    args = parser.parse_args(argv)
    endpoint = PutRecordEndpoint(args.identifier, latency=args.latency, max_in_flight=args.max_in_flight)
    print(endpoint.url, flush=True)
    try:
        endpoint.serve()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
