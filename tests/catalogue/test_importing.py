"""Bulk import and update of products: every row checked first, then all written or none."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from openpyxl import Workbook

from bss.core.models import Event
from bss.setup.fields.services import custom_field_create
from catalogue import importing, services
from catalogue.models import ImportStatus, Product, ProductImport, ProductPlan, ProductPrice

pytestmark = pytest.mark.django_db

D = Decimal
HEADERS = ["SKU", "Product name", "Category", "Monthly price", "Annual price", "Currency"]


def xlsx(rows: list[list[Any]], headers: list[str] = HEADERS, sheet: str = "Products") -> bytes:
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    worksheet.append(headers)
    for row in rows:
        worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run(content: bytes, file_name: str = "products.xlsx", **options: Any) -> Any:
    mapping = options.pop("mapping", None)
    options.setdefault("currency", "EUR")
    options.setdefault("charge_type", "recurring_prepaid")
    job = importing.import_upload(actor=None, file_name=file_name, content=content, **options)
    if mapping is None:
        table = importing.read_table(content, file_name, job.sheet_name)
        mapping = importing.guess_mapping(table.headers, importing.targets_for(job.charge_type))
    importing.import_start(actor=None, job=job, mapping=mapping)
    return importing.import_run(job_id=job.pk)


def test_a_valid_file_creates_products_with_prices(admin_user: Any) -> None:
    # given
    services.category_create(actor=None, name="Productivity")
    family = services.product_type_create(actor=None, code="SUITE", name="Suites")
    content = xlsx(
        [
            ["OFF-B", "Office Basic", "Productivity", 6, 66, "EUR"],
            ["OFF-S", "Office Standard", "productivity", "12.50", None, "eur"],
        ]
    )
    # when
    job = importing.import_upload(
        actor=admin_user,
        file_name="products.xlsx",
        content=content,
        currency="EUR",
        charge_type="recurring_prepaid",
        product_type=family,
    )
    table = importing.read_table(content, job.file_name)
    mapping = importing.guess_mapping(table.headers, importing.targets_for(job.charge_type))
    importing.import_start(actor=admin_user, job=job, mapping=mapping)
    job = importing.import_run(job_id=job.pk)
    # then
    assert mapping == {
        "0": "code",
        "1": "name",
        "2": "category",
        "3": "price_monthly",
        "4": "price_annual",
        "5": "currency",
    }
    assert (job.status, job.created_count, job.updated_count, job.errors) == (
        ImportStatus.SUCCEEDED,
        2,
        0,
        [],
    )
    assert sorted(
        ProductPrice.objects.values_list("plan__product__code", "plan__billing_cycle", "price")
    ) == [
        ("OFF-B", "annual", D("66.0000")),
        ("OFF-B", "monthly", D("6.0000")),
        ("OFF-S", "monthly", D("12.5000")),
    ]
    basic = Product.objects.get(code="OFF-B")
    assert (basic.product_type, basic.category.name, basic.kind) == (
        family,
        "Productivity",
        "primary",
    )
    assert LogEntry.objects.get_for_object(basic).get().actor == admin_user
    assert Event.objects.get(name="product.imported").payload == {
        "created": 2,
        "updated": 0,
        "currency": "EUR",
    }


def test_a_bad_file_lists_every_error_and_writes_nothing() -> None:
    # given: wrong currency, text in a number column, a duplicate code, no name column
    content = xlsx(
        [
            ["A-1", "Productivity", 10, 100, "EUR"],
            ["A-2", "Productivity", 10, 100, "USD"],
            ["A-3", "Productivity", "ten", 100, "EUR"],
            ["A-1", "Productivity", 10, 100, "EUR"],
        ],
        headers=["SKU", "Category", "Monthly price", "Annual price", "Currency"],
    )
    services.category_create(actor=None, name="Productivity")
    # when
    job = run(content)
    # then
    assert job.status == ImportStatus.FAILED
    assert job.errors == [
        {"row": 1, "column": "Name", "reason": "Required column missing: map a column to it."},
        {
            "row": 3,
            "column": "Currency",
            "reason": "The prices of this row are in USD; this import is in EUR.",
        },
        {"row": 4, "column": "Monthly price", "reason": "“ten” is not a number."},
        {"row": 5, "column": "SKU", "reason": "Duplicate code A-1 (also on row 2)."},
    ]
    assert job.failure_reason == "4 error(s) found; nothing was imported."
    assert not Product.objects.exists()
    assert not ProductPlan.objects.exists()


def test_update_mode_matches_by_code_and_leaves_fixed_fields_alone() -> None:
    # given
    software = services.category_create(actor=None, name="Software")
    services.category_create(actor=None, name="Other")
    mail = services.product_create(
        actor=None, kind="primary", code="MAIL", name="Mailbox", category=software
    )
    services.plan_create(
        actor=None,
        product=mail,
        billing_cycle="monthly",
        charge_type="recurring_prepaid",
        prices={"EUR": services.PriceInput(price=D("4"), cost_price=D("2"))},
    )
    content = xlsx(
        [
            ["MAIL", "Mailbox 50 GB", "Other", "4.50", None, "EUR"],
            ["NEW", "New one", "", 3, None, ""],
        ]
    )
    # when
    job = run(content, match_by_code=True)
    # then
    assert (job.status, job.created_count, job.updated_count) == (ImportStatus.SUCCEEDED, 1, 1)
    mail.refresh_from_db()
    assert (mail.name, mail.category) == ("Mailbox 50 GB", software)
    price = ProductPrice.objects.get(plan__product=mail)
    assert (price.price, price.cost_price) == (D("4.5000"), D("2.0000"))
    assert ProductPlan.objects.filter(product=mail).count() == 1
    assert LogEntry.objects.get_for_object(mail).order_by("-pk").first().changes == {
        "name": ["Mailbox", "Mailbox 50 GB"]
    }


def test_more_than_one_match_is_an_error_for_that_row() -> None:
    for code in ("MAIL-1", "MAIL-2"):
        services.product_create(actor=None, kind="primary", code=code, name="Mailbox")
    content = xlsx([["", "Mailbox", "", 5, None, ""]])

    job = run(content, match_by_code=False, match_by_name=True)

    assert job.errors == [
        {
            "row": 2,
            "column": "SKU, Product name",
            "reason": "No unique combination of identifiers found: 2 products match.",
        }
    ]
    assert not ProductPlan.objects.exists()


def test_a_code_taken_by_a_product_that_does_not_match_is_refused() -> None:
    services.product_create(actor=None, kind="primary", code="MAIL", name="Mailbox")

    job = run(
        xlsx([["MAIL", "Other mailbox", "", 5, None, ""]]), match_by_code=False, match_by_name=True
    )

    assert job.errors == [
        {"row": 2, "column": "SKU", "reason": "The code MAIL is already used by another product."}
    ]


def test_csv_with_semicolons_decimal_commas_and_addons() -> None:
    content = (
        b"Code;Name;Primary or add-on;Attaches to;Price (monthly);Taxable\n"
        b"SUITE;Suite;primary;;12,50;yes\n"
        b"STORAGE;Extra storage;add-on;SUITE;2;no\n"
    )

    job = run(content, file_name="catalogue.csv")

    assert job.status == ImportStatus.SUCCEEDED, job.errors
    storage = Product.objects.get(code="STORAGE")
    assert (storage.kind, storage.is_taxable) == ("addon", False)
    assert list(storage.primary_products.values_list("code", flat=True)) == ["SUITE"]
    assert ProductPrice.objects.get(plan__product__code="SUITE").price == D("12.5")


def test_custom_fields_are_imported_and_checked() -> None:
    custom_field_create(
        actor=None, entity="product", label="Seats included", field_type="integer", code="seats"
    )
    content = xlsx(
        [["A", "Alpha", 3], ["B", "Beta", "many"]], headers=["Code", "Name", "Seats included"]
    )

    refused = run(content)
    accepted = run(xlsx([["A", "Alpha", 3]], headers=["Code", "Name", "Seats included"]))

    assert refused.errors == [
        {"row": 3, "column": "Seats included", "reason": "Seats included must be a whole number."}
    ]
    assert accepted.status == ImportStatus.SUCCEEDED
    assert Product.objects.get(code="A").custom_data == {"seats": 3}


def test_one_time_pricing_uses_the_one_time_plan() -> None:
    content = xlsx([["SETUP", "Onboarding", 450]], headers=["Code", "Name", "Price (one-time)"])

    job = run(content, charge_type="one_time")

    assert job.status == ImportStatus.SUCCEEDED
    plan = ProductPlan.objects.get()
    assert (plan.billing_cycle, plan.charge_type) == ("one_time", "one_time")


def test_a_run_is_claimed_once() -> None:
    job = run(xlsx([["A", "Alpha", "", 1, None, ""]]))

    again = importing.import_run(job_id=job.pk)

    assert again.status == ImportStatus.SUCCEEDED
    assert Product.objects.count() == 1


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"file_name": "products.pdf"}, {"file": ["Upload an .xlsx or .csv file."]}),
        ({"currency": "CHF"}, {"currency": ["CHF is not an active currency of the organization."]}),
        (
            {"sheet_name": "Prices"},
            {"sheet_name": ["The workbook has no sheet 'Prices'; it has Products."]},
        ),
        (
            {"content": b"not a workbook"},
            {"file": ["The file cannot be read as a spreadsheet: File is not a zip file"]},
        ),
    ],
)
def test_upload_refusals(options: dict[str, Any], expected: Any) -> None:
    values = {
        "file_name": "products.xlsx",
        "content": xlsx([["A", "Alpha", "", 1, None, ""]]),
        "currency": "EUR",
        "charge_type": "recurring_prepaid",
        **options,
    }

    with pytest.raises(ValidationError) as refused:
        importing.import_upload(actor=None, **values)

    assert refused.value.message_dict == expected


def test_a_mapping_with_a_field_twice_is_refused() -> None:
    job = importing.import_upload(
        actor=None,
        file_name="products.xlsx",
        content=xlsx([["A", "Alpha", "", 1, None, ""]]),
        currency="EUR",
        charge_type="recurring_prepaid",
    )

    with pytest.raises(ValidationError) as refused:
        importing.import_start(actor=None, job=job, mapping={"0": "code", "1": "code"})

    assert refused.value.message_dict == {"mapping": ["More than one column is mapped to code."]}


# -------------------------------------------------------------------------------- pages


def test_the_import_wizard_from_upload_to_result(
    admin_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    content = xlsx([["A-1", "Alpha", "", 10, 100, "EUR"], ["A-2", "Beta", "", "ten", None, "EUR"]])
    # when: step 1
    uploaded = admin_client.post(
        reverse("catalogue:import_upload"),
        {
            "file": SimpleUploadedFile("products.xlsx", content),
            "currency": "EUR",
            "charge_type": "recurring_prepaid",
            "match_by_code": "on",
        },
    )
    job = ProductImport.objects.get()
    # when: step 2 shows a preview with guessed columns, then runs the job
    mapping_page = admin_client.get(reverse("catalogue:import_mapping", args=[job.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        started = admin_client.post(
            reverse("catalogue:import_mapping", args=[job.pk]),
            {
                "column_0": "code",
                "column_1": "name",
                "column_3": "price_monthly",
                "column_4": "price_annual",
                "column_5": "currency",
            },
        )
    # when: step 3
    result = admin_client.get(job.get_absolute_url())
    polled = admin_client.get(job.get_absolute_url(), HTTP_HX_REQUEST="true")
    # then
    assert uploaded.status_code == 302
    assert uploaded.url == reverse("catalogue:import_mapping", args=[job.pk])
    assert mapping_page.context["form"]["column_3"].initial == "price_monthly"
    assert b"Alpha" in mapping_page.content
    assert started.url == job.get_absolute_url()
    body = result.content.decode()
    assert "“ten” is not a number." in body
    assert "1 error(s) found; nothing was imported." in body
    assert b"<html" not in polled.content
    assert not Product.objects.exists()


def test_an_unreadable_upload_stays_on_the_form(admin_client: Any) -> None:
    response = admin_client.post(
        reverse("catalogue:import_upload"),
        {
            "file": SimpleUploadedFile("products.xlsx", b"not a workbook"),
            "currency": "EUR",
            "charge_type": "recurring_prepaid",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        "The file cannot be read as a spreadsheet: File is not a zip file"
    ]
    assert not ProductImport.objects.exists()


def test_importing_needs_its_own_right(make_user: Any, client_for: Any) -> None:
    client = client_for(make_user("products.view", "products.create", "products.edit"))

    assert client.get(reverse("catalogue:import_upload")).status_code == 403


def test_the_benchmark_command_imports_and_rolls_back() -> None:
    out = io.StringIO()

    call_command("benchmark_product_import", rows=50, currency="EUR", stdout=out)

    assert out.getvalue().startswith("50 rows imported in ")
    assert "rolled back" in out.getvalue()
    assert not Product.objects.exists()
