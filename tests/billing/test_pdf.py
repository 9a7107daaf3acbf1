"""Invoice PDFs: rendered after issue, in the currency culture, stored, downloaded with rights."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageDraw, ImageFont

from billing import services
from billing.models import ChargeKind, Invoice
from billing.pdf import render_invoice_pdf
from billing.services import CreditItem
from bss.setup.models import ExchangeRate
from bss.setup.organization.services import organization_update
from tests.billing.factories import BillingAddressFactory, CustomerFactory, ProductFactory
from tests.billing.helpers import charge, draft_invoice, issued_invoice

pytestmark = pytest.mark.django_db

D = Decimal
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="needs poppler-utils (pdftotext, pdftoppm)",
)


def pdf_text(content: bytes) -> str:
    finished = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    )
    return finished.stdout.decode()


def demo_logo() -> SimpleUploadedFile:
    image = Image.new("RGBA", (520, 120), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 4, 112, 116), radius=26, fill=(29, 78, 216, 255))
    draw.ellipse((22, 44, 70, 92), fill=(255, 255, 255, 255))
    draw.ellipse((44, 28, 94, 78), fill=(255, 255, 255, 255))
    draw.rectangle((34, 68, 92, 92), fill=(255, 255, 255, 255))
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 64)
    draw.text((136, 22), "cloudwave", font=font, fill=(30, 41, 59, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")


@pytest.fixture
def demo_invoice(eu_vat: None) -> Invoice:
    """A month of cloud services for a Greek logistics company, as the docs show it."""
    organization_update(
        actor=None, logo=demo_logo(), phone="+30 210 555 0100", date_format="d MMM yyyy"
    )
    services.billing_settings_update(
        actor=None,
        payment_instructions=(
            "Please pay {amount} by {due_date} to Cloudwave S.A., "
            "IBAN GR16 0110 1250 0000 0001 2300 695 (BIC ETHNGRAA), quoting {number}."
        ),
        footer="Cloudwave S.A. · General Commercial Registry 123456701000 · Marousi, Athens",
    )
    address = BillingAddressFactory(
        account__name="Aegean Logistics S.A.",
        account__number="ACC-000042",
        account__vat_number="EL998877665",
        company_name="Aegean Logistics S.A.",
        name="Accounts payable",
        street_address="Akti Miaouli 31",
        city="Piraeus",
        postal_code="185 35",
    )
    account = address.account
    suite = ProductFactory(code="M365-BS", name="Microsoft 365 Business Standard")
    backup = ProductFactory(code="BKP-GB", name="Cloud Backup")
    onboarding = ProductFactory(code="SRV-ONB", name="Onboarding & migration")
    return issued_invoice(
        account,
        charge(
            account,
            "292.50",
            product=suite,
            quantity="25",
            unit_price="11.70",
            description="Microsoft 365 Business Standard",
        ),
        charge(
            account,
            "32.08",
            product=suite,
            quantity="5",
            unit_price="11.70",
            kind=ChargeKind.PRORATED_CHARGE,
            start=date(2026, 7, 15),
            description="Microsoft 365 Business Standard, 5 seats added (17/31 days)",
        ),
        charge(
            account,
            "22.50",
            product=backup,
            quantity="500",
            unit_price="0.045",
            kind=ChargeKind.USAGE,
            start=date(2026, 6, 1),
            end=date(2026, 7, 1),
            description="Cloud Backup storage, GB-months",
        ),
        charge(
            account,
            "450.00",
            product=onboarding,
            discount="45.00",
            kind=ChargeKind.ONE_TIME,
            end=date(2026, 7, 2),
            description="Onboarding & migration (10 % project discount)",
        ),
        charge(
            account,
            "50.00",
            product=backup,
            kind=ChargeKind.SETUP_FEE,
            end=date(2026, 7, 2),
            description="Cloud Backup setup fee",
        ),
        on=date(2026, 7, 15),
    )


@needs_poppler
def test_the_pdf_shows_the_invoice_in_the_currency_culture(demo_invoice: Invoice) -> None:
    text = pdf_text(render_invoice_pdf(demo_invoice))

    assert "INVOICE" in text
    assert "INV-2026-000001" in text
    assert "Aegean Logistics S.A." in text
    assert "VAT number: EL998877665" in text
    # EUR is shown in its Greek culture: comma decimals, dot thousands, € after
    assert "802,08 €" in text
    assert "192,50 €" in text
    assert "994,58 €" in text
    assert "VAT 24 %" in text
    assert "15 Jul 2026 \u2013 31 Jul 2026" in text
    assert "1 Jun 2026 \u2013 30 Jun 2026" in text
    assert "Piraeus" in text
    assert "Greece" in text
    assert "Please pay 994,58 € by 14 Aug 2026" in text
    assert "quoting INV-2026-000001" in text
    assert "Page 1 / 1" in text


@needs_poppler
def test_the_demo_invoice_as_png_for_the_docs(demo_invoice: Invoice, tmp_path: Path) -> None:
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(render_invoice_pdf(demo_invoice))

    subprocess.run(
        ["pdftoppm", "-png", "-r", "110", "-singlefile", str(pdf), str(tmp_path / "invoice")],
        check=True,
    )

    png = tmp_path / "invoice.png"
    with Image.open(png) as image:
        assert image.size == (910, 1287)  # A4 at 110 dpi
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(png, SCREENSHOTS / "invoice.png")


@needs_poppler
def test_a_credit_note_and_a_second_currency_are_printed(
    eu_vat: None, usd_rate: ExchangeRate
) -> None:
    account = CustomerFactory(transaction_currency="USD", language="en")
    debit = issued_invoice(account, charge(account, "100.00"))
    credit = services.credit_invoice_create(
        actor=None,
        debit_invoice=debit,
        items=[CreditItem(line=debit.lines.get(), period_start=date(2026, 7, 17))],
    )
    credit = services.invoice_issue(actor=None, invoice=credit, invoice_date=date(2026, 7, 20))

    text = pdf_text(render_invoice_pdf(credit))

    assert "CREDIT NOTE" in text
    assert "CN-2026-000001" in text
    assert "Relates to invoice" in text
    assert "INV-2026-000001" in text
    assert "48,39 €" in text  # 100.00 * 15/31
    assert "In USD at 1 EUR = 1,0869565217 USD" in text
    assert "Total credited" in text
    assert "17/07/2026 \u2013 31/07/2026" in text  # the organization's default date format


def test_issuing_renders_and_stores_the_pdf_after_commit(
    eu_vat: None, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    account = CustomerFactory()
    draft = draft_invoice(account, charge(account, "60.00"))

    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_issue(actor=None, invoice=draft, invoice_date=date(2026, 7, 1))

    draft.refresh_from_db()
    assert draft.pdf.name == "invoices/2026/INV-2026-000001.pdf"
    stored = Path(media_root) / draft.pdf.name
    assert stored.read_bytes().startswith(b"%PDF-")
    assert draft.pdf_rendered_at is not None


def test_the_missing_pdf_task_catches_up(eu_vat: None) -> None:
    from billing.tasks import render_missing_pdfs

    account = CustomerFactory()
    invoice = issued_invoice(account, charge(account, "60.00"))
    assert not invoice.pdf

    assert render_missing_pdfs() == 1
    assert render_missing_pdfs() == 0
    invoice.refresh_from_db()
    assert invoice.pdf.name == "invoices/2026/INV-2026-000001.pdf"


def test_the_download_needs_the_right_and_the_account(
    eu_vat: None, make_user: Any, client_for: Any
) -> None:
    # given: an invoice of an account owned by someone else
    owner = make_user("invoices.view")
    stranger = make_user("invoices.view")
    account = CustomerFactory(owner=owner)
    invoice = issued_invoice(account, charge(account, "60.00"))
    draft = draft_invoice(account, charge(account, "5.00"))
    url = reverse("billing:invoice_pdf", args=[invoice.pk])

    # then
    response = client_for(owner).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="INV-2026-000001.pdf"'
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert client_for(stranger).get(url).status_code == 404
    assert client_for(make_user()).get(url).status_code == 403
    draft_url = reverse("billing:invoice_pdf", args=[draft.pk])
    assert client_for(owner).get(draft_url).status_code == 404
