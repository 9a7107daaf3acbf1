"""A real SMTP server (aiosmtpd) on loopback with STARTTLS and AUTH, a fake OAuth/Graph
HTTP server, billing fixtures to issue real invoices, and the system notifications
put back after a transactional test flushed them."""

from __future__ import annotations

import base64
import datetime
import email
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notifications import services
from notifications.models import NotificationTemplate, TemplateText
from notifications.system import install_system_templates
from tests.api.conftest import admin_api, api_client_for
from tests.billing.conftest import currencies, media_root, seller

__all__ = ["admin_api", "api_client_for", "currencies", "media_root", "seller"]

SMTP_USER = "bss-mailer"
SMTP_PASSWORD = "s3cret-Mail-pass"
GOOGLE_ACCESS_TOKEN = "ya29.fake-google-access"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, made now."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    mail_from: str
    recipients: list[str]
    message: EmailMessage
    login: str

    @property
    def subject(self) -> str:
        return str(email.header.make_header(email.header.decode_header(self.message["Subject"])))

    def html(self) -> str:
        for part in self.message.walk():
            if part.get_content_type() == "text/html":
                return part.get_payload(decode=True).decode()
        return ""

    def attachments(self) -> list[tuple[str, bytes]]:
        return [
            (part.get_filename(), part.get_payload(decode=True))
            for part in self.message.walk()
            if part.get_filename()
        ]


class Handler:
    """Keeps every accepted message; addresses may be set to be refused, 4xx or 5xx."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = (
            session.auth_data.login.decode()
            if isinstance(session.auth_data, LoginPassword)
            else str(session.auth_data or "")
        )
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                recipients=list(envelope.rcpt_tos),
                message=email.message_from_bytes(envelope.original_content),
                login=login,
            )
        )
        return f"250 2.0.0 queued as Q{len(self.received)}"

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        raw = base64.b64decode(args[1]).decode() if len(args) > 1 else ""
        fields = dict(part.split("=", 1) for part in raw.split("\x01") if "=" in part)
        accepted = fields.get("auth") == f"Bearer {GOOGLE_ACCESS_TOKEN}"
        return AuthResult(success=accepted, handled=False, auth_data=fields.get("user", ""))


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    if isinstance(auth_data, LoginPassword):
        ok = auth_data.login.decode() == SMTP_USER and auth_data.password.decode() == SMTP_PASSWORD
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return AuthResult(success=False, handled=False)


class SmtpServer:
    """aiosmtpd on a fixed loopback port, requiring STARTTLS and AUTH; stop() and start()
    again on the same port model a mail server outage."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.port = free_port()
        self.handler = Handler()
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> None:
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self.context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=_authenticator,
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server(certificate: tuple[Path, Path], settings: Any) -> Iterator[SmtpServer]:
    settings.NOTIFICATIONS_SMTP_CA_FILE = str(certificate[0])
    server = SmtpServer(*certificate)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_channel(smtp_server: SmtpServer, db: None) -> Any:
    """Email preferences pointing at the loopback server: STARTTLS and a password."""
    return services.email_settings_update(
        actor=None,
        protocol="smtp",
        sender_email="billing@cloudwave.example",
        sender_name="Cloudwave Billing",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_security="starttls",
        smtp_username=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
    )


@pytest.fixture(autouse=True)
def _system_templates(request: pytest.FixtureRequest) -> None:
    """A transactional test flushed the rows the migration made; put them back."""
    if {"transactional_db", "live_server"} & set(request.fixturenames) or (
        (marker := request.node.get_closest_marker("django_db"))
        and marker.kwargs.get("transaction")
    ):
        request.getfixturevalue("transactional_db")
        install_system_templates(NotificationTemplate, TemplateText)


@pytest.fixture(autouse=True)
def _eager_tasks(settings: Any) -> None:
    from bss.celery import app

    app.conf.task_always_eager = True


# ------------------------------------------------------------------ fake OAuth / Graph


@dataclass
class FakeHttp:
    """Answers token and sendMail calls like Google's and Microsoft's services."""

    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)
    send_status: int = 202
    token_status: int = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def fake_http(settings: Any) -> Iterator[FakeHttp]:
    state = FakeHttp(port=free_port())

    class Answer(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            state.requests.append(
                {
                    "path": self.path,
                    "body": body,
                    "authorization": self.headers.get("Authorization", ""),
                }
            )
            if self.path.endswith("/token"):
                status = state.token_status
                token = (
                    GOOGLE_ACCESS_TOKEN
                    if "refresh_token" in body or "authorization_code" in body
                    else "ms-graph-token"
                )
                answer = {
                    "access_token": token,
                    "expires_in": 3600,
                    "refresh_token": "google-refresh-1",
                }
                payload = json.dumps(
                    answer if status == 200 else {"error": "invalid_client"}
                ).encode()
            else:
                status = state.send_status
                payload = b"" if status == 202 else b'{"error": {"code": "ErrorAccessDenied"}}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", state.port), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.NOTIFICATIONS_MS_LOGIN_URL = state.url
    settings.NOTIFICATIONS_MS_GRAPH_URL = state.url
    settings.NOTIFICATIONS_GOOGLE_TOKEN_URL = f"{state.url}/google/token"
    settings.NOTIFICATIONS_GOOGLE_AUTH_URL = f"{state.url}/google/auth"
    yield state
    server.shutdown()
    server.server_close()
