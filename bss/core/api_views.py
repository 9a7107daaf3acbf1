"""Base classes of every REST API view: Idempotency-Key on writes and a documented error shape.

App APIs subclass ``APIView``, ``GenericAPIView``, ``ViewSet`` or ``GenericViewSet`` from
here instead of DRF's; the API URL-walk test fails on an endpoint that does not. The
permission (``bss.core.api.ModulePermission``) and the JSON error shape
(``bss.core.api.exception_handler``) come from the REST_FRAMEWORK settings.

This module imports ``rest_framework.views``, which reads the permission settings, so
``bss.core.api`` must never import it back.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpResponseBase
from django.template.response import SimpleTemplateResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers, views, viewsets
from rest_framework.request import Request

from bss.core import idempotency


class ApiErrorSerializer(serializers.Serializer):
    """The shape of every error response (documentation only)."""

    detail = serializers.CharField(help_text="What went wrong, in one sentence.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per request field; `non_field_errors` for the request as a whole.",
    )


class BssAutoSchema(AutoSchema):
    """Documents the Idempotency-Key header and the error responses every endpoint can give."""

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self.method in idempotency.IDEMPOTENT_METHODS:
            parameters.append(
                OpenApiParameter(
                    name=idempotency.HEADER,
                    type=str,
                    location=OpenApiParameter.HEADER,
                    required=False,
                    description=(
                        "A unique value per intended operation (e.g. a UUID). A retry with the "
                        f"same key and body within {settings.IDEMPOTENCY_KEY_TTL_HOURS} hours "
                        "returns the first response again "
                        "(marked `Idempotent-Replayed: true`) instead of acting twice."
                    ),
                )
            )
        return parameters

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        errors = {
            "401": "Not signed in: send `Authorization: Token <key>`.",
            "403": "The user lacks the module right this endpoint needs.",
        }
        if "{" in self.path:
            errors["404"] = "No such record, or not visible to this user."
        if self.method in idempotency.IDEMPOTENT_METHODS:
            errors["400"] = "Invalid fields; `errors` names each one."
            errors["409"] = "A request with the same Idempotency-Key is still in flight."
            errors["422"] = "The Idempotency-Key was already used with a different request."
        for code, description in sorted(errors.items()):
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ApiErrorSerializer, description=description),
                    code,
                    direction=direction,
                )
        return responses


class _Replay(Exception):
    """Carries a stored response out of ``initial`` to ``handle_exception``."""

    def __init__(self, stored: idempotency.StoredResponse) -> None:
        super().__init__("replay")
        self.stored = stored


class IdempotencyKeyMixin:
    """Honours ``Idempotency-Key`` on POST, PUT and PATCH of any API view.

    After authentication and the permission check, the key is claimed (or its stored
    response replayed); the handler then runs in a transaction that also stores the
    rendered response, so both commit together or neither does. Server errors roll the
    work back and free the key for a retry.
    """

    schema = BssAutoSchema()
    _idempotency_claim: idempotency.Claim | None = None
    _idempotency_atomic: transaction.Atomic | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self._idempotency_claim = None
        self._idempotency_atomic = None
        # Read the body before authentication: the CSRF check of session authentication may
        # consume the stream of a form body, after which Django refuses to give it out.
        wants_key = request.method in idempotency.IDEMPOTENT_METHODS and bool(
            request.headers.get(idempotency.HEADER)
        )
        body = request.body if wants_key else b""
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        key = idempotency.requested_key(request.headers, request.method or "")
        if key is None or not request.user.is_authenticated:
            return
        outcome = idempotency.claim_key(
            user=request.user,
            key=key,
            method=request.method or "",
            path=request.get_full_path(),
            body=body,
            content_type=request.META.get("CONTENT_TYPE", ""),
        )
        if isinstance(outcome, idempotency.StoredResponse):
            raise _Replay(outcome)
        self._idempotency_claim = outcome
        self._idempotency_atomic = transaction.atomic()
        self._idempotency_atomic.__enter__()

    def handle_exception(self, exc: Exception) -> HttpResponseBase:
        if isinstance(exc, _Replay):
            return exc.stored.as_response()
        try:
            return super().handle_exception(exc)  # type: ignore[misc]
        except BaseException:
            self._finish_keyed_work(keep=False)
            raise

    def finalize_response(
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        claim = self._idempotency_claim
        if claim is None:
            return response
        if response.status_code >= 500:
            self._finish_keyed_work(keep=False)
            return response
        try:
            if isinstance(response, SimpleTemplateResponse):
                response.render()
            is_stored = idempotency.store_response(
                claim,
                status=response.status_code,
                body=bytes(response.content) if hasattr(response, "content") else b"",
                content_type=response.get("Content-Type", ""),
            )
        except BaseException:
            self._finish_keyed_work(keep=False)
            raise
        if not is_stored:
            # The claim outlived ABANDONED_AFTER and a retry took the key over: that retry
            # owns the operation now, so this one must leave no trace.
            self._finish_keyed_work(keep=False)
            return self.finalize_response(
                request, self.handle_exception(idempotency.KeyInFlight()), *args, **kwargs
            )
        self._finish_keyed_work(keep=True)
        return response

    def _finish_keyed_work(self, *, keep: bool) -> None:
        atomic, claim = self._idempotency_atomic, self._idempotency_claim
        self._idempotency_atomic = self._idempotency_claim = None
        if atomic is None or claim is None:
            return
        if not keep:
            transaction.set_rollback(True)
        try:
            atomic.__exit__(None, None, None)
        except BaseException:
            idempotency.release_claim(claim)
            raise
        if not keep:
            idempotency.release_claim(claim)


class APIView(IdempotencyKeyMixin, views.APIView):
    pass


class GenericAPIView(IdempotencyKeyMixin, generics.GenericAPIView):
    pass


class ViewSet(IdempotencyKeyMixin, viewsets.ViewSet):
    pass


class GenericViewSet(IdempotencyKeyMixin, viewsets.GenericViewSet):
    def validated_body(self, serializer_class: type, **kwargs: Any) -> Any:
        """The request body through ``serializer_class``; a 400 naming each bad field."""
        serializer = serializer_class(
            data=self.request.data, context=self.get_serializer_context(), **kwargs
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


@extend_schema(exclude=True)
class UnknownEndpointView(APIView):
    """Answers any address under /api/ that no endpoint serves, in the API's error shape."""

    bss_public = True
    authentication_classes: list[Any] = []

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        hint = "" if request.path.endswith("/") else " API addresses end with a slash."
        raise exceptions.NotFound(f"There is no API endpoint at {request.path}.{hint}")
