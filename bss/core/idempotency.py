"""Idempotency-Key on API writes: the first response is kept and replayed on retries.

A client that retries a POST after a timeout must not create a second account or order.
The first request with a key *claims* it: a row committed before the work starts, so a
concurrent duplicate sees it at once and is told 409. The work and the stored response
then commit together in one transaction (``bss.core.api_views.IdempotencyKeyMixin``), so
a stored response always matches what was written, and a claim left without a response
by a dead worker means that nothing was written: after ``ABANDONED_AFTER`` it may be
taken over.

Keys belong to a user; two users may use the same key independently. A key is kept for
``settings.IDEMPOTENCY_KEY_TTL_HOURS``; after that it may be reused for a new request and
``purge_expired_idempotency_keys`` deletes it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import parse_header_parameters
from rest_framework import exceptions, status

from bss.core.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
IDEMPOTENT_METHODS = frozenset({"POST", "PUT", "PATCH"})
MAX_KEY_LENGTH = IdempotencyKey._meta.get_field("key").max_length or 255
MAX_PATH_LENGTH = IdempotencyKey._meta.get_field("path").max_length or 500
# Longer than any request may run (gunicorn's timeout kills workers well before this):
# an unanswered claim this old belongs to a request whose transaction rolled back.
ABANDONED_AFTER = timedelta(minutes=10)


class InvalidKey(exceptions.ValidationError):
    pass


class KeyInFlight(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = (
        "A request with this Idempotency-Key is still being processed; retry once it has finished."
    )
    default_code = "idempotency_key_in_flight"


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = (
        "This Idempotency-Key was already used for a different request "
        "(method, path or body); send a new key for a new request."
    )
    default_code = "idempotency_key_reused"


@dataclass(frozen=True)
class Claim:
    """The right to process a keyed request; the stored row's id proves it."""

    record_id: int


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    content_type: str

    def as_response(self) -> HttpResponse:
        response = HttpResponse(self.body, status=self.status, content_type=self.content_type)
        response[REPLAY_HEADER] = "true"
        return response


def key_lifetime() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def requested_key(headers: Any, method: str) -> str | None:
    """The request's key, or None when the request does not take part."""
    if method not in IDEMPOTENT_METHODS:
        return None
    key = (headers.get(HEADER) or "").strip()
    if not key:
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey({HEADER: [f"An Idempotency-Key has at most {MAX_KEY_LENGTH} characters."]})
    return key


def request_fingerprint(method: str, path: str, body: bytes, content_type: str = "") -> str:
    """What makes two requests "the same": method, path and body.

    Bodies are compared by content, not by how a client library happened to encode them
    on this attempt: JSON by its parsed value, multipart forms without their boundary.
    """
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), _canonical_body(body, content_type)):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _canonical_body(body: bytes, content_type: str) -> bytes:
    media_type, params = parse_header_parameters(content_type)
    if media_type == "multipart/form-data" and params.get("boundary"):
        # Clients pick a fresh random boundary for every attempt.
        return body.replace(params["boundary"].encode(), b"")
    try:
        value = json.loads(body)
    except ValueError:
        return body
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def claim_key(
    *,
    user: Any,
    key: str,
    method: str,
    path: str,
    body: bytes,
    content_type: str = "",
    now: datetime | None = None,
) -> Claim | StoredResponse:
    """Claim the key for this request, or return the response stored for it.

    Raises ``KeyReused`` (422) when the key came with another request and ``KeyInFlight``
    (409) while the first request with the key is still running.
    """
    now = now or timezone.now()
    fingerprint = request_fingerprint(method, path, body, content_type)
    # Two rounds suffice: a stale row is removed in the first and the key taken in the
    # second, unless a racing retry took it first, which the second round then reports.
    for _round in range(2):
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    method=method,
                    path=path[:MAX_PATH_LENGTH],
                    request_fingerprint=fingerprint,
                )
        except IntegrityError:
            pass
        else:
            return Claim(record_id=record.pk)
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is None:
            continue
        is_expired = existing.created_at < now - key_lifetime()
        is_abandoned = (
            existing.response_status is None and existing.created_at < now - ABANDONED_AFTER
        )
        if is_expired or is_abandoned:
            # Matching created_at too, so that of two racing retries only one removes it.
            IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.request_fingerprint != fingerprint:
            raise KeyReused()
        if existing.response_status is None:
            raise KeyInFlight()
        return StoredResponse(
            status=existing.response_status,
            body=bytes(existing.response_body or b""),
            content_type=existing.response_content_type,
        )
    raise KeyInFlight()


def store_response(claim: Claim, *, status: int, body: bytes, content_type: str) -> bool:
    """Keep the response of a claimed request; False if the claim was taken over meanwhile."""
    stored = IdempotencyKey.objects.filter(pk=claim.record_id, response_status__isnull=True).update(
        response_status=status, response_body=body, response_content_type=content_type
    )
    return stored == 1


def release_claim(claim: Claim) -> None:
    """Forget a claim whose request failed without effect, so a retry is processed anew."""
    IdempotencyKey.objects.filter(pk=claim.record_id, response_status__isnull=True).delete()


def purge_expired_idempotency_keys(*, now: datetime | None = None) -> int:
    """Delete keys older than their lifetime; schedule it daily. Returns how many went."""
    cutoff = (now or timezone.now()) - key_lifetime()
    deleted, _per_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
