"""Idempotency-Key: the first response is kept and replayed; a reused key is refused."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.client import encode_multipart
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import Account
from bss.core.idempotency import purge_expired_idempotency_keys, request_fingerprint
from bss.core.models import IdempotencyKey
from tests.conftest import requires_postgres
from tests.factories import AccountFactory, RoleFactory

pytestmark = pytest.mark.django_db

ACME = {"name": "Acme Cloud", "currency": "EUR"}


def post_account(client: APIClient, body: dict[str, Any], key: str | None = "key-1") -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/accounts/", body, format="json", headers=headers)


def test_a_retry_with_the_same_key_replays_the_first_response(admin_api: APIClient) -> None:
    # given
    first = post_account(admin_api, ACME)
    # when
    retry = post_account(admin_api, ACME)
    # then
    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry.content == first.content
    assert retry["Content-Type"] == first["Content-Type"] == "application/json"
    assert retry["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Account.objects.count() == 1


def test_the_first_response_is_stored_with_its_request(
    admin_api: APIClient, admin_user: Any
) -> None:
    response = post_account(admin_api, ACME)
    stored = IdempotencyKey.objects.get()
    assert (stored.user, stored.key, stored.method, stored.path) == (
        admin_user,
        "key-1",
        "POST",
        "/api/v1/accounts/",
    )
    assert stored.request_fingerprint == request_fingerprint(
        "POST", "/api/v1/accounts/", json.dumps(ACME).encode()
    )
    assert (stored.response_status, stored.response_content_type) == (201, "application/json")
    assert bytes(stored.response_body) == response.content


def test_a_retry_with_reformatted_json_is_the_same_request(admin_api: APIClient) -> None:
    post_account(admin_api, ACME)
    retry = admin_api.post(
        "/api/v1/accounts/",
        '{ "currency": "EUR",  "name": "Acme Cloud" }',
        content_type="application/json",
        headers={"Idempotency-Key": "key-1"},
    )
    assert retry["Idempotent-Replayed"] == "true"
    assert Account.objects.count() == 1


def test_the_same_key_with_another_body_is_refused_with_422(admin_api: APIClient) -> None:
    # given
    first = post_account(admin_api, ACME)
    # when
    response = post_account(admin_api, {**ACME, "name": "Other Cloud"})
    # then
    assert response.status_code == 422
    assert response.json() == {
        "detail": "This Idempotency-Key was already used for a different request "
        "(method, path or body); send a new key for a new request.",
        "errors": {},
    }
    assert list(Account.objects.values_list("name", flat=True)) == ["Acme Cloud"]
    assert bytes(IdempotencyKey.objects.get().response_body) == first.content


def test_the_same_key_on_another_path_is_refused_with_422(admin_api: APIClient) -> None:
    post_account(admin_api, ACME)
    response = admin_api.post(
        "/api/v1/roles/", {"name": "Acme"}, format="json", headers={"Idempotency-Key": "key-1"}
    )
    assert response.status_code == 422
    assert not admin_api.get("/api/v1/roles/").json()["results"]


def test_two_users_may_use_the_same_key(
    make_user: Any, api_client_for: Any, admin_api: APIClient
) -> None:
    # given
    seller = api_client_for(make_user("accounts.create", "accounts.view"))
    # when
    first = post_account(admin_api, ACME)
    second = post_account(seller, ACME)
    # then
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert not second.has_header("Idempotent-Replayed")
    assert Account.objects.count() == 2
    assert IdempotencyKey.objects.filter(key="key-1").count() == 2


def test_a_key_within_its_lifetime_still_replays(admin_api: APIClient) -> None:
    post_account(admin_api, ACME)
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=23, minutes=59))
    retry = post_account(admin_api, ACME)
    assert retry["Idempotent-Replayed"] == "true"
    assert Account.objects.count() == 1


def test_an_expired_key_is_processed_anew(admin_api: APIClient) -> None:
    # given
    first = post_account(admin_api, ACME)
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    # when
    again = post_account(admin_api, {**ACME, "name": "Second Cloud"})
    # then
    assert again.status_code == 201
    assert not again.has_header("Idempotent-Replayed")
    assert again.json()["id"] != first.json()["id"]
    assert Account.objects.count() == 2
    assert bytes(IdempotencyKey.objects.get().response_body) == again.content


def test_a_key_still_in_flight_gets_409(admin_api: APIClient, admin_user: Any) -> None:
    # given: another worker claimed the key and has not answered yet
    IdempotencyKey.objects.create(
        user=admin_user,
        key="key-1",
        method="POST",
        path="/api/v1/accounts/",
        request_fingerprint=request_fingerprint(
            "POST", "/api/v1/accounts/", json.dumps(ACME).encode()
        ),
    )
    # when
    response = post_account(admin_api, ACME)
    # then
    assert response.status_code == 409
    assert response.json() == {
        "detail": "A request with this Idempotency-Key is still being processed; "
        "retry once it has finished.",
        "errors": {},
    }
    assert Account.objects.count() == 0


def test_a_claim_abandoned_by_a_dead_worker_is_taken_over(
    admin_api: APIClient, admin_user: Any
) -> None:
    # given: a claim without response, older than any request may run
    IdempotencyKey.objects.create(
        user=admin_user,
        key="key-1",
        method="POST",
        path="/api/v1/accounts/",
        request_fingerprint="x",
    )
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    # when
    response = post_account(admin_api, ACME)
    # then
    assert response.status_code == 201
    assert Account.objects.count() == 1


def test_a_validation_error_is_replayed_too(admin_api: APIClient) -> None:
    first = post_account(admin_api, {"currency": "EUR"})
    retry = post_account(admin_api, {"currency": "EUR"})
    assert (first.status_code, retry.status_code) == (400, 400)
    assert retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true"
    assert Account.objects.count() == 0


def test_a_refused_permission_does_not_use_the_key(make_user: Any, api_client_for: Any) -> None:
    # given
    user = make_user("accounts.view")
    client = api_client_for(user)
    assert post_account(client, ACME).status_code == 403
    # when
    user.roles.add(RoleFactory(permissions=["accounts.create"]))
    response = post_account(client, ACME)
    # then
    assert response.status_code == 201
    assert Account.objects.count() == 1


def test_a_crash_rolls_the_work_back_and_frees_the_key(
    admin_api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the service writes, then the worker fails before answering
    real_account_create = account_services.account_create

    def create_then_crash(**kwargs: Any) -> Account:
        real_account_create(**kwargs)
        raise RuntimeError("worker died")

    monkeypatch.setattr(account_services, "account_create", create_then_crash)
    with pytest.raises(RuntimeError, match="worker died"):
        post_account(admin_api, ACME)
    assert Account.objects.count() == 0
    assert IdempotencyKey.objects.count() == 0
    # when
    monkeypatch.setattr(account_services, "account_create", real_account_create)
    retry = post_account(admin_api, ACME)
    # then
    assert retry.status_code == 201
    assert not retry.has_header("Idempotent-Replayed")
    assert Account.objects.count() == 1


def test_without_a_key_every_post_acts(admin_api: APIClient) -> None:
    post_account(admin_api, ACME, key=None)
    post_account(admin_api, ACME, key=None)
    assert Account.objects.count() == 2
    assert IdempotencyKey.objects.count() == 0


def test_an_overlong_key_is_refused(admin_api: APIClient) -> None:
    response = post_account(admin_api, ACME, key="k" * 256)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request has invalid fields: Idempotency-Key.",
        "errors": {"Idempotency-Key": ["An Idempotency-Key has at most 255 characters."]},
    }
    assert Account.objects.count() == 0


def test_a_patch_with_a_key_is_replayed(admin_api: APIClient) -> None:
    # given
    account = AccountFactory(name="Before")
    url = f"/api/v1/accounts/{account.pk}/"
    first = admin_api.patch(url, {"name": "After"}, format="json", headers={"Idempotency-Key": "p"})
    admin_api.patch(url, {"name": "Meanwhile"}, format="json")
    # when
    retry = admin_api.patch(url, {"name": "After"}, format="json", headers={"Idempotency-Key": "p"})
    # then
    assert retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true"
    account.refresh_from_db()
    assert account.name == "Meanwhile"


def test_purge_deletes_only_expired_keys(admin_user: Any) -> None:
    # given
    now = timezone.now()
    for key in ("old", "fresh"):
        IdempotencyKey.objects.create(
            user=admin_user,
            key=key,
            method="POST",
            path="/api/v1/accounts/",
            request_fingerprint="x",
        )
    IdempotencyKey.objects.filter(key="old").update(created_at=now - timedelta(hours=25))
    # when
    purged = purge_expired_idempotency_keys(now=now)
    # then
    assert purged == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_gets_409_while_the_first_runs(
    admin_user: Any, api_client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the first request is inside the service when its duplicate arrives
    inside_service, may_finish = threading.Event(), threading.Event()
    real_account_create = account_services.account_create

    def slow_account_create(**kwargs: Any) -> Account:
        inside_service.set()
        may_finish.wait(timeout=10)
        return real_account_create(**kwargs)

    monkeypatch.setattr(account_services, "account_create", slow_account_create)
    responses: dict[str, Any] = {}

    def first_request() -> None:
        try:
            responses["first"] = post_account(api_client_for(admin_user), ACME)
        finally:
            connection.close()

    worker = threading.Thread(target=first_request)
    worker.start()
    assert inside_service.wait(timeout=10)
    # when
    duplicate = post_account(api_client_for(admin_user), ACME)
    may_finish.set()
    worker.join(timeout=10)
    retry = post_account(api_client_for(admin_user), ACME)
    # then
    assert duplicate.status_code == 409
    assert responses["first"].status_code == 201
    assert retry.content == responses["first"].content
    assert Account.objects.count() == 1


def test_a_signed_in_browser_posting_a_form_gets_the_same_protection(admin_user: Any) -> None:
    # given: session authentication checks CSRF, which reads a multipart body itself
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    browser.get("/me/api-token/")
    csrf = browser.cookies["csrftoken"].value
    form = {"name": "Form Cloud", "currency": "EUR"}
    headers = {"Idempotency-Key": "form-1", "X-CSRFToken": csrf}
    # when
    first = browser.post("/api/v1/accounts/", form, headers=headers)
    retry = browser.post("/api/v1/accounts/", form, headers=headers)
    # then
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.content == first.content
    assert Account.objects.count() == 1


def test_a_multipart_retry_with_a_new_boundary_is_the_same_request(admin_api: APIClient) -> None:
    # given: client libraries choose a fresh boundary for every attempt
    def attempt(boundary: str) -> Any:
        return admin_api.post(
            "/api/v1/accounts/",
            encode_multipart(boundary, {"name": "Multipart Cloud"}),
            content_type=f"multipart/form-data; boundary={boundary}",
            headers={"Idempotency-Key": "mp-1"},
        )

    first = attempt("first-boundary-1a2b")
    # when
    retry = attempt("second-boundary-9z8y")
    # then
    assert first.status_code == 201
    assert retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true"
    assert Account.objects.count() == 1
