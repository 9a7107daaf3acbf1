"""Invitations: a new user without a password gets a link to choose one."""

from __future__ import annotations

from allauth.account.forms import ResetPasswordForm
from django.http import HttpRequest

from bss.setup.models import User


def send_invitation(request: HttpRequest, user: User) -> None:
    """Send allauth's password-set email; the link works once and expires like a reset."""
    form = ResetPasswordForm(data={"email": user.email})
    if form.is_valid():
        form.save(request)
