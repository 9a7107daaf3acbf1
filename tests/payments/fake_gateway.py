"""A fake card gateway on loopback that speaks the shape of Stripe's HTTP API.

It keeps customers, payment methods, payment intents and refunds in memory, honours
``Idempotency-Key`` (the same key returns the first answer; the same key with other
parameters is refused, as Stripe does), and can be told to decline, fail with a server
error, or answer too late (it still carries out the request, then sleeps) so tests can
see what the BSS does when the answer is lost.

Cards: ``4242424242424242`` succeeds, ``4000000000000002`` is declined.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from payments.gateways import sign

SECRET_KEY = "sk_test_fake"
WEBHOOK_SECRET = "whsec_fake"
DECLINED_CARD = "4000000000000002"
BRANDS = {"4": "visa", "5": "mastercard", "3": "amex"}


def _nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``metadata[invoice_id]=7`` back into ``{"metadata": {"invoice_id": "7"}}``."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        target = data
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return data


@dataclass
class FakeGatewayState:
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    delay_next: list[float] = field(default_factory=list)
    server_errors_next: int = 0
    decline_next: int = 0


class FakeGateway:
    def __init__(self) -> None:
        self.state = FakeGatewayState()
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        handler = type("Handler", (_Handler,), {"gateway": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeGateway:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- controls used by tests
    def answer_late(self, seconds: float) -> None:
        """The next request is carried out, but answered only after ``seconds``."""
        self.state.delay_next.append(seconds)

    def fail_next(self, count: int = 1) -> None:
        """The next ``count`` requests answer HTTP 500 without doing anything."""
        self.state.server_errors_next = count

    def decline_next(self, count: int = 1) -> None:
        self.state.decline_next = count

    def card(self, number: str = "4242424242424242") -> str:
        """A payment method as the gateway's card form would create it; returns its id."""
        pm = self._new_id("pm")
        self.state.payment_methods[pm] = {
            "id": pm,
            "object": "payment_method",
            "type": "card",
            "customer": None,
            "card": {"brand": BRANDS.get(number[0], "unknown"), "last4": number[-4:]},
            "_number": number,
        }
        return pm

    def intents(self) -> list[dict[str, Any]]:
        return list(self.state.payment_intents.values())

    def event(
        self, event_type: str, obj: dict[str, Any], *, event_id: str | None = None
    ) -> tuple[bytes, str]:
        """A webhook delivery: the body and its ``Stripe-Signature`` header."""
        body = json.dumps(
            {
                "id": event_id or self._new_id("evt"),
                "object": "event",
                "type": event_type,
                "created": int(time.time()),
                "data": {"object": obj},
            }
        ).encode()
        return body, sign(body, WEBHOOK_SECRET, int(time.time()))

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self.ids):06d}"

    # -- the API
    def handle(
        self, method: str, path: str, headers: Any, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if headers.get("Authorization") != f"Bearer {SECRET_KEY}":
            return 401, {
                "error": {"type": "invalid_request_error", "message": "Invalid API Key provided."}
            }
        key = headers.get("Idempotency-Key", "")
        fingerprint = json.dumps([method, path, params], sort_keys=True)
        with self.lock:
            self.state.requests.append(
                {"method": method, "path": path, "params": params, "key": key}
            )
            if self.state.server_errors_next:
                self.state.server_errors_next -= 1
                return 500, {"error": {"type": "api_error", "message": "Something went wrong."}}
            if key and key in self.state.idempotent:
                seen_fingerprint, status, body = self.state.idempotent[key]
                if seen_fingerprint != fingerprint:
                    return 400, {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                        }
                    }
                return status, body
            status, body = self._route(method, path, params)
            if key and method == "POST":
                self.state.idempotent[key] = (fingerprint, status, body)
            return status, body

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = [part for part in path.split("/") if part]
        if method == "POST" and parts == ["v1", "customers"]:
            customer = {"id": self._new_id("cus"), "object": "customer", **params}
            self.state.customers[customer["id"]] = customer
            return 200, customer
        if (
            method == "POST"
            and len(parts) == 4
            and parts[:2] == ["v1", "payment_methods"]
            and parts[3] == "attach"
        ):
            pm = self.state.payment_methods.get(parts[2])
            if pm is None:
                return 404, {
                    "error": {
                        "type": "invalid_request_error",
                        "message": f"No such PaymentMethod: '{parts[2]}'",
                    }
                }
            if params.get("customer") not in self.state.customers:
                return 404, {
                    "error": {"type": "invalid_request_error", "message": "No such customer."}
                }
            pm["customer"] = params["customer"]
            return 200, {k: v for k, v in pm.items() if not k.startswith("_")}
        if method == "POST" and parts == ["v1", "payment_intents"]:
            return self._payment_intent(params)
        if method == "POST" and parts == ["v1", "refunds"]:
            intent = self.state.payment_intents.get(params.get("payment_intent", ""))
            if intent is None or intent["status"] != "succeeded":
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "message": "This payment cannot be refunded.",
                    }
                }
            refund = {
                "id": self._new_id("re"),
                "object": "refund",
                "amount": int(params.get("amount", intent["amount"])),
                "currency": intent["currency"],
                "payment_intent": intent["id"],
                "status": "succeeded",
            }
            self.state.refunds[refund["id"]] = refund
            return 200, refund
        return 404, {
            "error": {
                "type": "invalid_request_error",
                "message": f"Unrecognized request URL ({method}: {path}).",
            }
        }

    def _payment_intent(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        pm = self.state.payment_methods.get(params.get("payment_method", ""))
        intent = {
            "id": self._new_id("pi"),
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "amount_received": 0,
            "currency": params["currency"],
            "customer": params.get("customer"),
            "payment_method": params.get("payment_method"),
            "description": params.get("description", ""),
            "metadata": params.get("metadata", {}),
            "status": "requires_payment_method",
            "last_payment_error": None,
        }
        declined = pm is None or pm.get("_number") == DECLINED_CARD or self.state.decline_next > 0
        if self.state.decline_next > 0:
            self.state.decline_next -= 1
        if declined:
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
            }
            intent["last_payment_error"] = error
            self.state.payment_intents[intent["id"]] = intent
            return 402, {"error": {**error, "payment_intent": intent}}
        intent["status"] = "succeeded"
        intent["amount_received"] = intent["amount"]
        self.state.payment_intents[intent["id"]] = intent
        return 200, intent


class _Handler(BaseHTTPRequestHandler):
    gateway: FakeGateway

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        params = _nested(parse_qsl(raw, keep_blank_values=True))
        status, body = self.gateway.handle("POST", self.path, self.headers, params)
        with self.gateway.lock:
            delay = self.gateway.state.delay_next.pop(0) if self.gateway.state.delay_next else 0
        if delay:
            time.sleep(delay)
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting: exactly the lost answer a test wants


def running_gateway() -> Iterator[FakeGateway]:
    gateway = FakeGateway().start()
    try:
        yield gateway
    finally:
        gateway.stop()
