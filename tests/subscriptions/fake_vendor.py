"""A vendor's provisioning endpoint on loopback, for provisioning tests.

It keeps every request it received (path, headers, JSON body) and answers from a queue
of scripted verdicts, else with the default one: ``"succeeded"``, ``"failed: why"``,
``"http 503: why"`` (an HTTP error with a JSON message), or ``"slow 2"`` (succeeds after
sleeping 2 seconds). Like a careful vendor it honours ``Idempotency-Key``: a key it has
answered gets the same answer again without a second provisioning.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "vendor-secret-token"


@dataclass
class FakeVendor:
    url: str = ""
    default: str = "succeeded"
    script: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    answered: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *verdicts: str) -> None:
        """The next requests get these verdicts, in order."""
        self.script.extend(verdicts)

    @property
    def provisioned(self) -> list[dict[str, Any]]:
        """The bodies of the requests that were carried out (not idempotent replays)."""
        return [r["body"] for r in self.requests if not r["replayed"]]

    def handle(self, headers: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        key = headers.get("Idempotency-Key", "")
        with self.lock:
            if headers.get("Authorization") != f"Bearer {TOKEN}":
                self.requests.append({"headers": dict(headers), "body": body, "replayed": False})
                return 401, {"message": "Bad token."}, 0
            if key and key in self.answered:
                self.requests.append({"headers": dict(headers), "body": body, "replayed": True})
                status, answer = self.answered[key]
                return status, answer, 0
            self.requests.append({"headers": dict(headers), "body": body, "replayed": False})
            verdict = self.script.pop(0) if self.script else self.default
        delay = 0.0
        if verdict.startswith("slow "):
            delay, verdict = float(verdict.split()[1]), "succeeded"
        if verdict == "succeeded":
            status, answer = 200, {"status": "succeeded", "message": "Tenant ready."}
        elif verdict.startswith("failed: "):
            status, answer = 200, {"status": "failed", "message": verdict.removeprefix("failed: ")}
        else:
            code, _, message = verdict.removeprefix("http ").partition(": ")
            status, answer = int(code), {"message": message}
        with self.lock:
            if key:
                self.answered[key] = (status, answer)
        return status, answer, delay


def _handler(vendor: FakeVendor) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            status, answer, delay = vendor.handle(self.headers, body)
            if delay:
                time.sleep(delay)
            payload = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the BSS gave up waiting, as it should after its timeout

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving() -> Iterator[FakeVendor]:
    vendor = FakeVendor()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(vendor))
    httpd.daemon_threads = True
    vendor.url = f"http://127.0.0.1:{httpd.server_address[1]}/provision"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield vendor
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def closed_port_url() -> str:
    """An address on loopback where nothing listens: the connection is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/provision"


def vendor_integration(url: str, *, code: str = "vendor", **fields: Any) -> Any:
    """An active generic JSON integration that authenticates with ``TOKEN``."""
    from catalogue import gsd

    values: dict[str, Any] = {
        "code": code,
        "name": f"Vendor {code}",
        "connector": "generic_json",
        "endpoint_url": url,
        "auth_header": "Authorization",
        "timeout_seconds": 5,
    }
    values.update(fields)
    return gsd.integration_create(actor=None, auth_token=f"Bearer {TOKEN}", **values)
