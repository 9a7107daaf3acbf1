"""GSD pages and API: integrations in setup, the GSD button and its ribbon, runs, permissions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from catalogue import gsd, services
from catalogue.models import GsdRun, GsdRunStatus, Integration, Product, ProductType
from tests.catalogue.test_gsd import FeedServer, good_feed, make_integration, serving

pytestmark = pytest.mark.django_db

TOKEN = "tok-9f1c2a7e"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with serving() as server:
        yield server


@pytest.fixture
def vendor(feed_server: FeedServer) -> Integration:
    return make_integration(feed_server.serve("/services", good_feed()), auth_token=TOKEN)


@pytest.fixture
def gsd_operator(make_user: Any) -> Any:
    return make_user("products.view", "products.edit", "products.run_gsd")


# ----------------------------------------------------------------- integrations in setup


def test_an_integration_is_registered_from_setup_and_its_token_never_shown(
    admin_client: Client,
) -> None:
    # when
    response = admin_client.post(
        reverse("catalogue:integration_create"),
        {
            "code": "nce",
            "name": "Microsoft NCE",
            "connector": "generic_json",
            "endpoint_url": "https://vendor.example/services",
            "auth_header": "Authorization",
            "auth_token": f"Bearer {TOKEN}",
            "timeout_seconds": "20",
            "is_active": "on",
        },
    )
    # then
    integration = Integration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == integration.get_absolute_url()
    assert (integration.auth_token, integration.timeout_seconds) == (f"Bearer {TOKEN}", 20)
    for url in (
        integration.get_absolute_url(),
        reverse("catalogue:integration_edit", args=[integration.pk]),
        reverse("catalogue:integration_list"),
    ):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert TOKEN not in page.content.decode()


def test_saving_an_integration_without_a_token_keeps_the_stored_one(
    admin_client: Client, vendor: Integration
) -> None:
    edit_url = reverse("catalogue:integration_edit", args=[vendor.pk])
    form = {
        "code": "vendor",
        "name": "Vendor renamed",
        "connector": "generic_json",
        "endpoint_url": vendor.endpoint_url,
        "auth_header": "X-Api-Key",
        "auth_token": "",
        "timeout_seconds": "5",
        "is_active": "on",
    }

    admin_client.post(edit_url, form)
    kept = Integration.objects.get(pk=vendor.pk)
    admin_client.post(edit_url, {**form, "remove_token": "on"})
    removed = Integration.objects.get(pk=vendor.pk)

    assert (kept.name, kept.auth_header, kept.auth_token) == ("Vendor renamed", "X-Api-Key", TOKEN)
    assert removed.auth_token == ""


def test_an_unknown_connector_is_refused_on_the_form(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("catalogue:integration_create"),
        {
            "code": "x",
            "name": "X",
            "connector": "telepathy",
            "endpoint_url": "https://vendor.example/",
            "timeout_seconds": "5",
        },
    )

    assert response.status_code == 200
    assert Integration.objects.count() == 0


def test_integrations_need_the_setup_right(
    make_user: Any, client_for: Any, vendor: Integration
) -> None:
    client = client_for(make_user("products.view", "products.run_gsd"))

    assert client.get(reverse("catalogue:integration_list")).status_code == 403
    assert client.get(reverse("catalogue:integration_create")).status_code == 403
    assert client.get(reverse("catalogue:integration_edit", args=[vendor.pk])).status_code == 403
    assert client.get(vendor.get_absolute_url()).status_code == 200


def test_the_integration_list_query_count_does_not_grow_with_rows(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    def add(number: int) -> None:
        integration = gsd.integration_create(
            actor=None,
            code=f"vendor-{number}",
            name=f"Vendor {number}",
            connector="generic_json",
            endpoint_url=f"https://vendor{number}.example/services",
        )
        services.product_type_create(
            actor=None, code=f"T{number}", name=f"Type {number}", integration=integration.code
        )
        GsdRun.objects.create(integration=integration, status=GsdRunStatus.COMPLETED)

    for number in range(3):
        add(number)
    url = reverse("catalogue:integration_list")
    admin_client.get(url)  # the layout's one-time organization set-up is not the list's cost
    with django_assert_max_num_queries(6) as few:
        first = admin_client.get(url)
    for number in range(3, 12):
        add(number)
    with django_assert_max_num_queries(len(few.captured_queries)):
        many = admin_client.get(url)

    assert first.status_code == many.status_code == 200
    assert "Vendor 11" in many.content.decode()
    assert "Completed" in many.content.decode()


# ---------------------------------------------------------------- the GSD button and runs


def test_the_button_runs_gsd_and_the_run_page_shows_counts_and_log(
    client_for: Any,
    gsd_operator: Any,
    vendor: Integration,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(gsd_operator)
    detail = client.get(vendor.get_absolute_url())
    assert 'id="gsd-button"' in detail.content.decode()
    assert "disabled" not in detail.content.decode().split('id="gsd-button"')[1].split(">")[0]
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("catalogue:integration_gsd_start", args=[vendor.pk]))
    # then
    run = GsdRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == run.get_absolute_url()
    page = client.get(run.get_absolute_url()).content.decode()
    assert "Completed" in page
    assert "Done: 6 created, 0 updated, 0 unchanged." in page
    assert "hx-trigger" not in page.split('id="gsd-run-status"')[1].split(">")[0]
    partial = client.get(run.get_absolute_url(), headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<div id="gsd-run-status"')
    assert Product.objects.count() == 4


def test_a_live_run_disables_the_button_and_shows_the_ribbon(
    client_for: Any, gsd_operator: Any, vendor: Integration
) -> None:
    # given: a queued run (no worker picked it up in this test)
    services.product_type_create(
        actor=None, code="M365", name="Microsoft 365", integration="vendor"
    )
    product_type = ProductType.objects.get(code="M365")
    live = gsd.gsd_start(actor=gsd_operator, integration=vendor, product_type=product_type)
    client = client_for(gsd_operator)
    # when
    pages = [
        client.get(vendor.get_absolute_url()).content.decode(),
        client.get(product_type.get_absolute_url()).content.decode(),
        client.get(
            reverse("catalogue:gsd_panel", args=[vendor.pk]) + f"?product_type={product_type.pk}",
            headers={"HX-Request": "true"},
        ).content.decode(),
    ]
    refused = client.post(reverse("catalogue:product_type_gsd_start", args=[product_type.pk]))
    # then
    for page in pages:
        assert 'id="gsd-in-progress"' in page
        assert f"run #{live.pk}" in page
        assert "disabled" in page.split('id="gsd-button"')[1].split(">")[0]
        assert 'hx-trigger="every 2s"' in page
    assert refused.status_code == 302
    assert GsdRun.objects.count() == 1
    followed = client.get(refused["Location"]).content.decode()
    assert "already in progress" in followed


def test_the_product_type_button_runs_only_that_type(
    client_for: Any,
    gsd_operator: Any,
    vendor: Integration,
    django_capture_on_commit_callbacks: Any,
) -> None:
    backup = services.product_type_create(
        actor=None, code="BACKUP", name="Backup", integration="vendor"
    )
    client = client_for(gsd_operator)
    page = client.get(backup.get_absolute_url()).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("catalogue:product_type_gsd_start", args=[backup.pk]))

    assert 'id="gsd-button"' in page
    run = GsdRun.objects.get()
    assert (run.status, run.product_type_code, run.created_count, run.updated_count) == (
        GsdRunStatus.COMPLETED,
        "BACKUP",
        1,
        1,
    )
    assert list(Product.objects.values_list("code", flat=True)) == ["BK-100"]


def test_the_product_type_form_picks_a_registered_integration(
    admin_client: Client, vendor: Integration
) -> None:
    page = admin_client.get(reverse("catalogue:product_type_create")).content.decode()

    assert '<option value="vendor">Vendor portal</option>' in page


def test_running_gsd_needs_its_own_right(
    make_user: Any, client_for: Any, vendor: Integration
) -> None:
    client = client_for(make_user("products.view", "products.edit"))

    page = client.get(vendor.get_absolute_url()).content.decode()
    response = client.post(reverse("catalogue:integration_gsd_start", args=[vendor.pk]))

    assert 'id="gsd-button"' not in page
    assert response.status_code == 403
    assert GsdRun.objects.count() == 0


def test_the_run_list_query_count_does_not_grow_with_rows(
    admin_client: Client, admin_user: Any, vendor: Integration, django_assert_max_num_queries: Any
) -> None:
    def add(count: int) -> None:
        for _ in range(count):
            GsdRun.objects.create(
                integration=vendor,
                requested_by=admin_user,
                status=GsdRunStatus.FAILED,
                log=[{"at": "", "level": "error", "message": "x" * 200}],
            )

    add(3)
    url = reverse("catalogue:gsd_run_list") + f"?integration={vendor.pk}"
    admin_client.get(url)  # the layout's one-time organization set-up is not the list's cost
    with django_assert_max_num_queries(8) as few:
        first = admin_client.get(url)
    add(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        many = admin_client.get(url)

    assert first.status_code == many.status_code == 200
    assert many.content.decode().count("status-failed") == 23


def test_the_integration_page_query_count_does_not_grow_with_runs(
    admin_client: Client, admin_user: Any, vendor: Integration, django_assert_max_num_queries: Any
) -> None:
    for _ in range(3):
        GsdRun.objects.create(
            integration=vendor, requested_by=admin_user, status=GsdRunStatus.COMPLETED
        )
    admin_client.get(vendor.get_absolute_url())
    with django_assert_max_num_queries(9) as few:
        admin_client.get(vendor.get_absolute_url())
    for _ in range(10):
        GsdRun.objects.create(
            integration=vendor, requested_by=admin_user, status=GsdRunStatus.COMPLETED
        )

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = admin_client.get(vendor.get_absolute_url())

    assert page.content.decode().count("status-completed") == 10 + 1


@pytest.mark.parametrize(
    "url_name",
    ["catalogue:integration_list", "catalogue:integration_create", "catalogue:gsd_run_list"],
)
def test_every_gsd_page_renders(admin_client: Client, url_name: str) -> None:
    assert admin_client.get(reverse(url_name)).status_code == 200


# ----------------------------------------------------------------------------------- API


def test_the_api_starts_a_run_and_reports_its_status(
    admin_api: APIClient, vendor: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    # when
    with django_capture_on_commit_callbacks(execute=True):
        started = admin_api.post("/api/v1/catalogue/gsd-runs/", {"integration": vendor.pk})
    run_id = started.json()["id"]
    status = admin_api.get(f"/api/v1/catalogue/gsd-runs/{run_id}/")
    listed = admin_api.get(f"/api/v1/catalogue/gsd-runs/?integration={vendor.pk}")
    # then
    assert started.status_code == 202, started.json()
    body = status.json()
    assert (
        body["status"],
        body["integration_code"],
        body["created_count"],
        body["updated_count"],
        body["skipped_count"],
        body["error_count"],
    ) == ("completed", "vendor", 6, 0, 0, 0)
    assert body["log"][-1]["message"] == "Done: 6 created, 0 updated, 0 unchanged."
    assert [row["id"] for row in listed.json()["results"]] == [run_id]
    assert "log" not in listed.json()["results"][0]


def test_the_api_starts_a_run_for_a_product_type(
    admin_api: APIClient, vendor: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    backup = services.product_type_create(
        actor=None, code="BACKUP", name="Backup", integration="vendor"
    )

    with django_capture_on_commit_callbacks(execute=True):
        started = admin_api.post("/api/v1/catalogue/gsd-runs/", {"product_type": backup.pk})

    assert started.status_code == 202, started.json()
    assert GsdRun.objects.get().product_type_code == "BACKUP"


def test_the_api_refuses_a_second_live_run_and_a_missing_right(
    admin_api: APIClient, api_client_for: Any, make_user: Any, vendor: Integration
) -> None:
    gsd.gsd_start(actor=None, integration=vendor)
    viewer = api_client_for(make_user("products.view"))

    second = admin_api.post("/api/v1/catalogue/gsd-runs/", {"integration": vendor.pk})
    forbidden = viewer.post("/api/v1/catalogue/gsd-runs/", {"integration": vendor.pk})
    nothing = admin_api.post("/api/v1/catalogue/gsd-runs/", {})

    assert second.status_code == 400
    assert "already in progress" in second.json()["errors"]["non_field_errors"][0]
    assert forbidden.status_code == 403
    assert nothing.status_code == 400
    assert GsdRun.objects.count() == 1
    assert viewer.get("/api/v1/catalogue/gsd-runs/").status_code == 200
