"""Sending one email through the organization's channel: SMTP, Google or Office 365.

Every failure is sorted into transient (the server or network may recover: connection
refused, timeouts, SMTP 4xx, HTTP 429 and 5xx) or permanent (SMTP 5xx, rejected
credentials, HTTP 4xx); the dispatcher retries the first kind and gives up on the
second. The endpoints of Google's and Microsoft's OAuth 2.0 token services and of
Microsoft Graph are settings, so a deployment (or a test) can point them elsewhere.
"""

from __future__ import annotations

import base64
import json
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.utils.html import strip_tags

from notifications.crypto import SecretUnreadable, decrypt
from notifications.models import EmailProtocol, EmailSettings, SmtpSecurity

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
GOOGLE_SCOPE = "https://mail.google.com/"


class SendError(Exception):
    transient = False


class TransientSendError(SendError):
    transient = True


class PermanentSendError(SendError):
    transient = False


@dataclass
class OutgoingEmail:
    from_address: str
    to: list[str]
    subject: str
    html: str
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)
    message_id: str = ""

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]

    def mime_bytes(self) -> bytes:
        headers = {"Message-ID": self.message_id} if self.message_id else {}
        message = EmailMultiAlternatives(
            subject=self.subject,
            body=strip_tags(self.html),
            from_email=self.from_address,
            to=self.to,
            cc=self.cc,
            bcc=self.bcc,
            headers=headers,
        )
        message.attach_alternative(self.html, "text/html")
        for filename, content, mimetype in self.attachments:
            message.attach(filename, content, mimetype)
        return message.message().as_bytes(linesep="\r\n")


def sender_of(channel: EmailSettings) -> str:
    from email.utils import formataddr

    address = channel.sender_email or settings.DEFAULT_FROM_EMAIL
    return formataddr((channel.sender_name, address)) if channel.sender_name else address


def send(channel: EmailSettings, email: OutgoingEmail) -> str:
    """Send the email; return the server's answer or raise a SendError."""
    if not email.recipients:
        raise PermanentSendError("The message has no recipient.")
    try:
        if channel.protocol == EmailProtocol.OFFICE365:
            return _send_graph(channel, email)
        if channel.protocol == EmailProtocol.GOOGLE:
            token = google_access_token(channel)
            return _send_smtp(channel, email, xoauth2_token=token)
        return _send_smtp(channel, email)
    except SecretUnreadable as error:
        raise PermanentSendError(str(error)) from error


# ------------------------------------------------------------------------ SMTP


def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=settings.NOTIFICATIONS_SMTP_CA_FILE or None)


def _xoauth2(user: str, token: str) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def _send_smtp(channel: EmailSettings, email: OutgoingEmail, *, xoauth2_token: str = "") -> str:
    host = channel.smtp_host or ("smtp.gmail.com" if xoauth2_token else "")
    if not host:
        raise PermanentSendError("No mail server is set in the email preferences.")
    timeout = settings.NOTIFICATIONS_SMTP_TIMEOUT
    try:
        if channel.smtp_security == SmtpSecurity.TLS:
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                host, channel.smtp_port, timeout=timeout, context=_tls_context()
            )
        else:
            connection = smtplib.SMTP(host, channel.smtp_port, timeout=timeout)
    except ssl.SSLCertVerificationError as error:
        raise PermanentSendError(f"TLS certificate of {host} refused: {error}") from error
    except (OSError, smtplib.SMTPException) as error:
        raise _classified(error) from error
    try:
        connection.ehlo()
        if channel.smtp_security == SmtpSecurity.STARTTLS:
            connection.starttls(context=_tls_context())
            connection.ehlo()
        user = channel.smtp_username or channel.sender_email
        if xoauth2_token:
            token = xoauth2_token
            connection.auth(
                "XOAUTH2", lambda challenge=None: _xoauth2(user, token) if challenge is None else ""
            )
        elif channel.smtp_password_encrypted:
            _login(connection, user, decrypt(channel.smtp_password_encrypted))
        return _transmit(connection, email)
    except ssl.SSLCertVerificationError as error:
        raise PermanentSendError(f"TLS certificate of {host} refused: {error}") from error
    except (OSError, smtplib.SMTPException) as error:
        raise _classified(error) from error
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()


def _login(connection: smtplib.SMTP, user: str, password: str) -> None:
    """One mechanism, PLAIN before LOGIN: a refused password is not tried again elsewhere."""
    advertised = connection.esmtp_features.get("auth", "").upper().split()
    connection.user, connection.password = user, password
    for mechanism, method in (("PLAIN", connection.auth_plain), ("LOGIN", connection.auth_login)):
        if mechanism in advertised:
            connection.auth(mechanism, method)
            return
    connection.login(user, password)


def _transmit(connection: smtplib.SMTP, email: OutgoingEmail) -> str:
    """MAIL, RCPT and DATA by hand, to keep the server's answer to DATA."""
    from email.utils import parseaddr

    sender = parseaddr(email.from_address)[1] or email.from_address
    code, answer = connection.mail(sender)
    if code != 250:
        connection.rset()
        raise smtplib.SMTPSenderRefused(code, answer, sender)
    refused: dict[str, tuple[int, bytes]] = {}
    for recipient in email.recipients:
        code, answer = connection.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, answer)
    if len(refused) == len(email.recipients):
        connection.rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    code, answer = connection.data(email.mime_bytes())
    if code != 250:
        connection.rset()
        raise smtplib.SMTPDataError(code, answer)
    text = f"{code} {answer.decode(errors='replace')}"
    if refused:
        text += "; refused: " + ", ".join(
            f"{address} ({reply[0]} {reply[1].decode(errors='replace')})"
            for address, reply in refused.items()
        )
    return text


def _classified(error: Exception) -> SendError:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [reply[0] for reply in error.recipients.values()]
        detail = "; ".join(
            f"{address}: {reply[0]} {reply[1].decode(errors='replace')}"
            for address, reply in error.recipients.items()
        )
        transient = any(400 <= code < 500 for code in codes)
        return (TransientSendError if transient else PermanentSendError)(
            f"Recipients refused: {detail}"
        )
    if isinstance(error, smtplib.SMTPResponseException):
        message = error.smtp_error
        text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
        kind = TransientSendError if 400 <= error.smtp_code < 500 else PermanentSendError
        return kind(f"{error.smtp_code} {text}")
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return PermanentSendError(f"The mail server does not support this: {error}")
    if isinstance(error, (smtplib.SMTPServerDisconnected, OSError)):
        return TransientSendError(f"{error.__class__.__name__}: {error}")
    return PermanentSendError(f"{error.__class__.__name__}: {error}")


# ------------------------------------------------------------------------ HTTP


def _http(
    url: str, *, form: dict[str, str] | None = None, body: Any = None, token: str = ""
) -> tuple[int, str]:
    headers = {"Accept": "application/json"}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.NOTIFICATIONS_SMTP_TIMEOUT) as reply:
            return reply.status, reply.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as error:
        raise TransientSendError(f"{url} cannot be reached: {error}") from error


def _http_failure(what: str, status: int, text: str) -> SendError:
    kind = TransientSendError if status == 429 or status >= 500 else PermanentSendError
    return kind(f"{what} answered HTTP {status}: {text[:500]}")


def _token(what: str, url: str, form: dict[str, str], cache_key: str) -> str:
    cached = cache.get(cache_key)
    if cached:
        return str(cached)
    status, text = _http(url, form=form)
    if status != 200:
        raise _http_failure(what, status, text)
    try:
        answer = json.loads(text)
        token = str(answer["access_token"])
    except (ValueError, KeyError, TypeError) as error:
        raise PermanentSendError(f"{what} gave no access token: {text[:300]}") from error
    lifetime = int(answer.get("expires_in") or 0) - 60
    if lifetime > 0:
        cache.set(cache_key, token, lifetime)
    return token


def google_access_token(channel: EmailSettings) -> str:
    if not channel.refresh_token_encrypted:
        raise PermanentSendError("Google is not authorized yet: run the authorization step.")
    return _token(
        "Google's token service",
        settings.NOTIFICATIONS_GOOGLE_TOKEN_URL,
        {
            "client_id": channel.client_id,
            "client_secret": decrypt(channel.client_secret_encrypted),
            "refresh_token": decrypt(channel.refresh_token_encrypted),
            "grant_type": "refresh_token",
        },
        f"notifications:google-token:{channel.updated_at.timestamp()}",
    )


def google_exchange_code(channel: EmailSettings, code: str, redirect_uri: str) -> str:
    """Trade the authorization code for a refresh token (the callback of the consent page)."""
    status, text = _http(
        settings.NOTIFICATIONS_GOOGLE_TOKEN_URL,
        form={
            "client_id": channel.client_id,
            "client_secret": decrypt(channel.client_secret_encrypted),
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
        },
    )
    if status != 200:
        raise _http_failure("Google's token service", status, text)
    try:
        return str(json.loads(text)["refresh_token"])
    except (ValueError, KeyError, TypeError) as error:
        raise PermanentSendError(f"Google gave no refresh token: {text[:300]}") from error


def google_authorization_url(channel: EmailSettings, redirect_uri: str, state: str) -> str:
    query = urllib.parse.urlencode(
        {
            "client_id": channel.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": GOOGLE_SCOPE,
            "access_type": "offline",
            "prompt": "consent",
            "state": state,
            "login_hint": channel.sender_email,
        }
    )
    return f"{settings.NOTIFICATIONS_GOOGLE_AUTH_URL}?{query}"


def office365_access_token(channel: EmailSettings) -> str:
    if not (channel.tenant_id and channel.client_id and channel.client_secret_encrypted):
        raise PermanentSendError("Office 365 needs the tenant id, client id and secret.")
    tenant = urllib.parse.quote(channel.tenant_id, safe="")
    return _token(
        "Microsoft's token service",
        f"{settings.NOTIFICATIONS_MS_LOGIN_URL.rstrip('/')}/{tenant}/oauth2/v2.0/token",
        {
            "client_id": channel.client_id,
            "client_secret": decrypt(channel.client_secret_encrypted),
            "scope": GRAPH_SCOPE,
            "grant_type": "client_credentials",
        },
        f"notifications:ms-token:{channel.updated_at.timestamp()}",
    )


def _graph_recipients(addresses: list[str]) -> list[dict[str, Any]]:
    return [{"emailAddress": {"address": address}} for address in addresses]


def _send_graph(channel: EmailSettings, email: OutgoingEmail) -> str:
    if not channel.sender_email:
        raise PermanentSendError("Office 365 needs the sender email address.")
    token = office365_access_token(channel)
    message: dict[str, Any] = {
        "subject": email.subject,
        "body": {"contentType": "HTML", "content": email.html},
        "toRecipients": _graph_recipients(email.to),
        "ccRecipients": _graph_recipients(email.cc),
        "bccRecipients": _graph_recipients(email.bcc),
        "attachments": [
            {
                "@odata.type": "#microsoft.graph.fileAttachment",
                "name": filename,
                "contentType": mimetype,
                "contentBytes": base64.b64encode(content).decode(),
            }
            for filename, content, mimetype in email.attachments
        ],
    }
    if email.message_id:
        message["internetMessageId"] = email.message_id
    sender = urllib.parse.quote(channel.sender_email, safe="@")
    url = f"{settings.NOTIFICATIONS_MS_GRAPH_URL.rstrip('/')}/v1.0/users/{sender}/sendMail"
    status, text = _http(url, body={"message": message, "saveToSentItems": False}, token=token)
    if status not in (200, 202):
        raise _http_failure("Microsoft Graph", status, text)
    return f"HTTP {status} Accepted by Microsoft Graph"
