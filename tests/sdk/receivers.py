"""Real wire-format receivers for the SDK tests: an OTLP/HTTP trace receiver that decodes the
protobuf with opentelemetry-proto, a Fluent forward-protocol receiver that decodes msgpack, and a
black hole that accepts TCP connections and never reads or answers."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgpack
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


@dataclass
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status_code: int
    scope: str = ""
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # span ids (hex) of the linked spans
    peer_port: int = 0  # the client's port of the connection that delivered it


class OtlpReceiver:
    """POST /v1/traces, protobuf in, protobuf out. With `keep_alive`, HTTP/1.1 persistent connections
    (as a collector keeps them), so which connection delivered each span can be told apart."""

    def __init__(self, port: int = 0, keep_alive: bool = False) -> None:
        self.spans: list[ReceivedSpan] = []
        self.requests = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver._store(request, self.client_address[1])
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _store(self, request: ExportTraceServiceRequest, peer_port: int = 0) -> None:
        with self._lock:
            self.requests += 1
            for resource_spans in request.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append(ReceivedSpan(
                            name=span.name, trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(), kind=span.kind,
                            attributes={a.key: _value(a.value) for a in span.attributes}, resource=resource,
                            status_code=span.status.code, scope=scope_spans.scope.name,
                            events=[(e.name, {a.key: _value(a.value) for a in e.attributes}) for e in span.events],
                            links=[link.span_id.hex() for link in span.links], peer_port=peer_port))

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> list[ReceivedSpan]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                spans = list(self.spans)
            if predicate(spans):
                return spans
            time.sleep(0.05)
        raise AssertionError(f"OTLP receiver: condition not met within {timeout}s; got {len(spans)} spans: "
                             f"{[(s.name, s.scope, s.attributes) for s in spans][-6:]} "
                             f"{[s.name for s in spans]}")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class FluentReceiver:
    """Fluent forward protocol: message, forward and packed-forward modes, no acks."""

    port: int = 0
    records: list[tuple[str, Any, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        unpacker = msgpack.Unpacker(raw=False)
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                unpacker.feed(data)
                for message in unpacker:
                    self._store(message)

    def _store(self, message: list[Any]) -> None:
        tag, rest = message[0], message[1]
        with self._lock:
            if isinstance(rest, list):  # forward mode
                self.records.extend((tag, t, r) for t, r in rest)
            elif isinstance(rest, bytes):  # packed forward mode
                self.records.extend((tag, t, r) for t, r in _unpack_all(rest))
            else:  # message mode: [tag, time, record, option?]
                self.records.append((tag, rest, message[2]))

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                records = [r for _, _, r in self.records]
            if predicate(records):
                return records
            time.sleep(0.05)
        raise AssertionError(f"fluent receiver: condition not met within {timeout}s; got {len(records)} records")

    def stop(self) -> None:
        self._stopped = True
        self.sock.close()


def _unpack_all(data: bytes) -> list[Any]:
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(data)
    return list(unpacker)


class BlackHole:
    """Completes TCP handshakes (kernel backlog) but never accepts, reads or answers."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.sock.close()


def closed_port() -> int:
    """A loopback port nobody listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GrpcOtlpReceiver(OtlpReceiver):
    """The same store, fed by the OTLP gRPC TraceService instead of HTTP."""

    def __init__(self) -> None:  # noqa: D107 - no HTTP server; a gRPC one instead
        from concurrent.futures import ThreadPoolExecutor

        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

        self.spans = []
        self.requests = 0
        self._lock = threading.Lock()
        receiver = self

        class Service(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):  # noqa: N802 - gRPC method name
                receiver._store(request)
                return ExportTraceServiceResponse()

        self.server = grpc.server(ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server.start()

    def stop(self) -> None:
        self.server.stop(grace=None)
