"""Secrets of the email channel, encrypted at rest with a key derived from the settings.

The key comes from ``NOTIFICATIONS_ENCRYPTION_KEY`` when set, else from ``SECRET_KEY``;
either is stretched with HKDF into a Fernet key, so any string works. Changing the
setting makes stored secrets unreadable: they have to be entered again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored secret was encrypted with another key."""


def _fernet() -> Fernet:
    material = getattr(settings, "NOTIFICATIONS_ENCRYPTION_KEY", "") or settings.SECRET_KEY
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"bss-notifications", info=b"email-secrets"
    ).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode() if secret else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable(
            "A stored email secret cannot be decrypted (the encryption key changed); "
            "enter it again in the email preferences."
        ) from error
