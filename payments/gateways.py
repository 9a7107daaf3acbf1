"""The card gateway interface and its one integration, shaped like Stripe's HTTP API.

The BSS keeps a gateway customer and payment-method token per account and the card's
brand and last 4 digits; card numbers never pass through it (the Storefront or the
gateway's own form turns them into a token). Every call that moves money carries an
``Idempotency-Key`` made from our own ids, so resending after a timeout returns the
first outcome instead of charging again. Calls happen outside database transactions.

Webhooks are signed like Stripe's: header ``Stripe-Signature: t=<unix time>,v1=<hex>``
where the hex is HMAC-SHA256 of ``"<t>.<raw body>"`` with the endpoint secret; events
older than the tolerance are refused so a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings

from bss.core.money import minor_units, quantize

SIGNATURE_HEADER = "Stripe-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300


class GatewayError(Exception):
    """The gateway answered with an error (or could not be reached); ``message`` is its text."""

    def __init__(self, message: str, *, code: str = "", reference: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reference = reference


class GatewayTimeout(GatewayError):
    """No answer in time: the request may or may not have been carried out."""


class SignatureInvalid(Exception):
    pass


@dataclass(frozen=True)
class Card:
    token: str
    brand: str
    last4: str


@dataclass(frozen=True)
class ChargeResult:
    reference: str
    succeeded: bool
    message: str = ""
    card: Card | None = None


@dataclass(frozen=True)
class RefundResult:
    reference: str
    succeeded: bool
    pending: bool = False
    message: str = ""


class Gateway(Protocol):
    name: str

    def create_customer(self, *, name: str, email: str, account_number: str, key: str) -> str: ...

    def attach_card(self, *, token: str, customer_id: str, key: str) -> Card: ...

    def charge(
        self,
        *,
        amount: Decimal,
        currency: str,
        customer_id: str,
        token: str,
        key: str,
        description: str,
        metadata: dict[str, str],
    ) -> ChargeResult: ...

    def refund(
        self, *, payment_reference: str, amount: Decimal, currency: str, key: str
    ) -> RefundResult: ...

    def verify(self, body: bytes, header: str, *, now: float | None = None) -> dict[str, Any]: ...


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Stripe counts in the currency's smallest unit: EUR 12.34 → 1234, JPY 500 → 500."""
    return int(quantize(amount, currency).scaleb(minor_units(currency)))


def from_minor_units(value: int, currency: str) -> Decimal:
    return quantize(Decimal(value).scaleb(-minor_units(currency)), currency)


def _form_encode(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding: nested keys as ``metadata[invoice_id]=7``."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict):
            pairs.extend(_form_encode(value, name))
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif value is not None:
            pairs.append((name, str(value)))
    return pairs


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The signature header a webhook sender puts on ``body``."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class StripeGateway:
    """Stripe's API shape: customers, payment_methods, payment_intents, refunds."""

    name = "stripe"

    def __init__(
        self, *, base_url: str, secret_key: str, webhook_secret: str, timeout: float
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.timeout = timeout

    def _call(self, method: str, path: str, data: dict[str, Any] | None, key: str = "") -> Any:
        body = urllib.parse.urlencode(_form_encode(data or {})).encode() if data else None
        request = urllib.request.Request(f"{self.base_url}{path}", data=body, method=method)
        request.add_header("Authorization", f"Bearer {self.secret_key}")
        if body is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        if key:
            request.add_header("Idempotency-Key", key)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            try:
                answer = json.loads(error.read() or b"{}")
            except ValueError:
                answer = {}
            problem = answer.get("error") or {}
            intent = problem.get("payment_intent") or {}
            raise GatewayError(
                problem.get("message") or f"The gateway answered HTTP {error.code}.",
                code=problem.get("decline_code") or problem.get("code") or str(error.code),
                reference=intent.get("id", ""),
            ) from None
        except TimeoutError as error:
            raise GatewayTimeout(
                f"The gateway did not answer within {self.timeout:g} s."
            ) from error
        except urllib.error.URLError as error:
            if isinstance(error.reason, (TimeoutError, socket.timeout)):
                raise GatewayTimeout(
                    f"The gateway did not answer within {self.timeout:g} s."
                ) from error
            raise GatewayError(f"The gateway cannot be reached: {error.reason}.") from error

    def create_customer(self, *, name: str, email: str, account_number: str, key: str) -> str:
        answer = self._call(
            "POST",
            "/v1/customers",
            {"name": name, "email": email, "metadata": {"account_number": account_number}},
            key,
        )
        return str(answer["id"])

    def attach_card(self, *, token: str, customer_id: str, key: str) -> Card:
        quoted = urllib.parse.quote(token, safe="")
        answer = self._call(
            "POST", f"/v1/payment_methods/{quoted}/attach", {"customer": customer_id}, key
        )
        card = answer.get("card") or {}
        return Card(
            token=str(answer["id"]), brand=card.get("brand", ""), last4=card.get("last4", "")
        )

    def charge(
        self,
        *,
        amount: Decimal,
        currency: str,
        customer_id: str,
        token: str,
        key: str,
        description: str,
        metadata: dict[str, str],
    ) -> ChargeResult:
        try:
            answer = self._call(
                "POST",
                "/v1/payment_intents",
                {
                    "amount": to_minor_units(amount, currency),
                    "currency": currency.lower(),
                    "customer": customer_id,
                    "payment_method": token,
                    "confirm": True,
                    "off_session": True,
                    "description": description,
                    "metadata": metadata,
                },
                key,
            )
        except GatewayTimeout:
            raise
        except GatewayError as error:
            if error.reference:
                # A decline still created a payment intent: it is the failed payment's record.
                return ChargeResult(
                    reference=error.reference, succeeded=False, message=error.message
                )
            raise
        status = answer.get("status", "")
        problem = answer.get("last_payment_error") or {}
        return ChargeResult(
            reference=str(answer["id"]),
            succeeded=status == "succeeded",
            message=problem.get("message", "") if status != "succeeded" else "",
        )

    def refund(
        self, *, payment_reference: str, amount: Decimal, currency: str, key: str
    ) -> RefundResult:
        answer = self._call(
            "POST",
            "/v1/refunds",
            {"payment_intent": payment_reference, "amount": to_minor_units(amount, currency)},
            key,
        )
        status = answer.get("status", "")
        return RefundResult(
            reference=str(answer["id"]),
            succeeded=status == "succeeded",
            pending=status == "pending",
            message=answer.get("failure_reason") or "",
        )

    def verify(self, body: bytes, header: str, *, now: float | None = None) -> dict[str, Any]:
        """The event in ``body`` if the header signs it with our secret, recently."""
        if not self.webhook_secret:
            raise SignatureInvalid("No webhook secret is configured.")
        parts: dict[str, list[str]] = {}
        for item in header.split(","):
            name, _sep, value = item.strip().partition("=")
            parts.setdefault(name, []).append(value)
        try:
            timestamp = int(parts.get("t", [""])[0])
        except ValueError:
            raise SignatureInvalid("The signature header has no timestamp.") from None
        expected = sign(body, self.webhook_secret, timestamp).split("v1=", 1)[1]
        if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
            raise SignatureInvalid("The signature does not match.")
        if abs((now if now is not None else time.time()) - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
            raise SignatureInvalid("The signature is too old.")
        try:
            event = json.loads(body)
        except ValueError:
            raise SignatureInvalid("The body is not JSON.") from None
        if not isinstance(event, dict) or not event.get("id"):
            raise SignatureInvalid("The body is not an event.")
        return event


def gateway() -> Gateway:
    """The configured gateway (Stripe's API at ``PAYMENTS_GATEWAY_URL``)."""
    return StripeGateway(
        base_url=settings.PAYMENTS_GATEWAY_URL,
        secret_key=settings.PAYMENTS_GATEWAY_SECRET_KEY,
        webhook_secret=settings.PAYMENTS_GATEWAY_WEBHOOK_SECRET,
        timeout=settings.PAYMENTS_GATEWAY_TIMEOUT,
    )
