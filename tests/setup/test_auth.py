"""Local sign-in through allauth, lockout by axes, password reset and change, TOTP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _fresh_axes() -> None:
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()


def sign_in(client: Client, email: str, password: str) -> Any:
    return client.post("/auth/login/", {"login": email, "password": password})


def test_login_page_renders() -> None:
    response = Client().get("/auth/login/")
    assert response.status_code == 200
    assert b'name="login"' in response.content


def test_user_signs_in_with_email_and_lands_on_dashboard(make_user: Any) -> None:
    user = make_user(email="dana@test.example")
    client = Client()
    response = sign_in(client, "dana@test.example", PASSWORD)
    assert response.status_code == 302
    assert response.url == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert dashboard.wsgi_request.user == user


def test_wrong_password_is_refused(make_user: Any) -> None:
    make_user(email="dana@test.example")
    response = sign_in(Client(), "dana@test.example", "wrong")
    assert response.status_code == 200
    assert b"not correct" in response.content or b"incorrect" in response.content.lower()


def test_deactivated_user_cannot_sign_in(make_user: Any) -> None:
    make_user(email="gone@test.example", is_active=False)
    client = Client()
    sign_in(client, "gone@test.example", PASSWORD)
    assert client.get("/").status_code == 302


def test_address_is_locked_after_repeated_failures(make_user: Any, settings: Any) -> None:
    make_user(email="dana@test.example")
    client = Client(REMOTE_ADDR="10.9.8.7")
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "dana@test.example", "wrong")
    locked = sign_in(client, "dana@test.example", PASSWORD)
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    other_address = sign_in(Client(REMOTE_ADDR="10.9.8.8"), "dana@test.example", PASSWORD)
    assert other_address.status_code == 302


def test_password_reset_sends_a_link(make_user: Any) -> None:
    make_user(email="dana@test.example")
    response = Client().post("/auth/password/reset/", {"email": "dana@test.example"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dana@test.example"]
    assert "/auth/password/reset/key/" in mail.outbox[0].body


def test_password_change(make_user: Any, client_for: Any) -> None:
    user = make_user(email="dana@test.example")
    client = client_for(user)
    response = client.post(
        "/auth/password/change/",
        {
            "oldpassword": PASSWORD,
            "password1": "a-new-long-passphrase",
            "password2": "a-new-long-passphrase",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-new-long-passphrase")


def current_totp(secret: str) -> str:
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    counter = next(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counter))


def test_totp_two_factor_is_activated_and_then_required(make_user: Any) -> None:
    # given a user signed in with their password (recent authentication)
    make_user(email="dana@test.example")
    client = Client()
    sign_in(client, "dana@test.example", PASSWORD)
    # allauth asks for the password again before a security change
    assert client.get("/auth/2fa/totp/activate/").url.startswith("/auth/reauthenticate/")
    client.post("/auth/reauthenticate/", {"password": PASSWORD})
    activate = client.get("/auth/2fa/totp/activate/")
    assert activate.status_code == 200
    secret = (
        re.search(rb'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', activate.content)
        .group(1)
        .decode()
    )
    # when they confirm a code from their authenticator app
    confirmed = client.post("/auth/2fa/totp/activate/", {"code": current_totp(secret)})
    assert confirmed.status_code == 302
    client.post("/auth/logout/")
    # then the next sign-in asks for the code before opening the portal
    second = Client()
    response = sign_in(second, "dana@test.example", PASSWORD)
    assert response.status_code == 302
    assert response.url == "/auth/2fa/authenticate/"
    assert second.get("/").status_code == 302
    second.post("/auth/2fa/authenticate/", {"code": current_totp(secret)})
    assert second.get("/").status_code == 200


def test_logout(make_user: Any, client_for: Any) -> None:
    client = client_for(make_user())
    client.post("/auth/logout/")
    assert client.get("/").status_code == 302


def test_self_signup_is_closed() -> None:
    response = Client().get("/auth/signup/")
    assert b'name="password1"' not in response.content
