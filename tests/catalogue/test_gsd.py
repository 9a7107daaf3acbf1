"""Get Services Definition against a real HTTP server on loopback.

A good feed creates types, products, plans and prices; the same feed again changes
nothing; a changed price updates that product only; every failing or malformed feed ends
the run failed with the reason and leaves the catalogue exactly as it was.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from bss.core.models import Event
from catalogue import gsd, services
from catalogue.models import (
    GsdRun,
    GsdRunStatus,
    Integration,
    Product,
    ProductPlan,
    ProductPrice,
    ProductType,
)

pytestmark = pytest.mark.django_db

D = Decimal


# ------------------------------------------------------------------- the vendor's server


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    delay: float = 0.0


@dataclass
class FeedServer:
    """A vendor endpoint: ``serve(path, ...)`` sets what a path answers."""

    base_url: str
    routes: dict[str, Route] = field(default_factory=dict)
    seen_headers: list[dict[str, str]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def serve(
        self,
        path: str,
        data: Any = None,
        *,
        status: int = 200,
        raw: bytes | None = None,
        delay: float = 0.0,
    ) -> str:
        body = raw if raw is not None else json.dumps(data).encode()
        self.routes[path] = Route(status=status, body=body, delay=delay)
        return self.base_url + path


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.seen_headers.append(dict(self.headers.items()))
            route = server.routes.get(self.path, Route(status=404, body=b"{}"))
            if route.delay:
                server.release.wait(route.delay)
            try:
                self.send_response(route.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on a slow answer, as it should

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving() -> Iterator[FeedServer]:
    """A vendor endpoint on a free loopback port, for the length of the block."""
    holder = FeedServer(base_url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(holder))
    httpd.daemon_threads = True
    holder.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield holder
    finally:
        holder.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with serving() as server:
        yield server


# ----------------------------------------------------------------------------- the feeds


def good_feed() -> dict[str, Any]:
    return {
        "product_types": [
            {
                "code": "M365",
                "name": "Microsoft 365",
                "description": "Productivity suites",
                "tax_code": "SW052000",
                "properties": {"vendor": "Microsoft", "seats": 300},
                "products": [
                    {
                        "code": "M365-BB",
                        "name": "Business Basic",
                        "description": "Web and mobile apps",
                        "unit": "license",
                        "max_quantity": 300,
                        "plans": [
                            {
                                "billing_cycle": "monthly",
                                "commitment_months": 12,
                                "prices": {
                                    "EUR": {"price": "5.60", "cost_price": "4.48"},
                                    "USD": {"price": 6.1},
                                },
                            },
                            {
                                "billing_cycle": "annual",
                                "commitment_months": 12,
                                "prices": {"EUR": {"price": "60.00"}},
                            },
                        ],
                    },
                    {
                        "code": "M365-BS",
                        "name": "Business Standard",
                        "plans": [
                            {
                                "billing_cycle": "monthly",
                                "prices": {"EUR": {"price": "11.70"}, "jpy": {"price": 1800}},
                            }
                        ],
                    },
                    {
                        "code": "M365-PHONE",
                        "name": "Teams Phone",
                        "addon_of": ["M365-BB", "M365-BS"],
                        "plans": [{"billing_cycle": "monthly", "prices": {"EUR": {"price": "7"}}}],
                    },
                ],
            },
            {
                "code": "BACKUP",
                "name": "Cloud backup",
                "products": [
                    {
                        "code": "BK-100",
                        "name": "Backup 100 GB",
                        "unit": "GB",
                        "plans": [
                            {
                                "billing_cycle": "monthly",
                                "charge_type": "recurring_ppu",
                                "prices": {"EUR": {"price": "0.0450"}},
                            },
                            {
                                "billing_cycle": "one_time",
                                "prices": {"EUR": {"price": "99.00", "setup_fee": "15"}},
                            },
                        ],
                    }
                ],
            },
        ]
    }


def find_product(feed: dict[str, Any], code: str) -> dict[str, Any]:
    return next(p for t in feed["product_types"] for p in t["products"] if p.get("code") == code)


def catalogue_snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every catalogue value a run may write, to compare before and after."""
    return {
        "types": sorted(
            ProductType.objects.values_list(
                "code", "name", "description", "integration", "tax_code", "updated_at"
            )
        ),
        "products": sorted(
            Product.objects.values_list(
                "code",
                "kind",
                "name",
                "description",
                "unit_of_measure",
                "max_quantity",
                "product_type__code",
                "updated_at",
            )
        ),
        "attachments": sorted(
            Product.primary_products.through.objects.values_list(
                "from_product__code", "to_product__code"
            )
        ),
        "plans": sorted(
            ProductPlan.objects.values_list(
                "product__code", "billing_cycle", "commitment_months", "charge_type", "updated_at"
            )
        ),
        "prices": sorted(
            ProductPrice.objects.values_list(
                "plan__product__code",
                "plan__billing_cycle",
                "currency",
                "price",
                "cost_price",
                "setup_fee",
                "updated_at",
            )
        ),
        "audit": sorted(LogEntry.objects.values_list("pk", flat=True)),
    }


# ------------------------------------------------------------------------------ helpers


def make_integration(url: str, **fields: Any) -> Integration:
    values: dict[str, Any] = {
        "code": "vendor",
        "name": "Vendor portal",
        "connector": "generic_json",
        "endpoint_url": url,
        "timeout_seconds": 5,
    }
    values.update(fields)
    token = values.pop("auth_token", "")
    return gsd.integration_create(actor=None, auth_token=token, **values)


@pytest.fixture
def run_gsd(django_capture_on_commit_callbacks: Any) -> Callable[..., GsdRun]:
    """Start a run the way the pages do and let the (eager) task run after commit."""

    def run(integration: Integration, actor: Any = None, **kwargs: Any) -> GsdRun:
        with django_capture_on_commit_callbacks(execute=True):
            started = gsd.gsd_start(actor=actor, integration=integration, **kwargs)
        return GsdRun.objects.get(pk=started.pk)

    return run


def last_event_id() -> int:
    return Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def messages_of(run: GsdRun) -> list[str]:
    return [line["message"] for line in run.log]


# ----------------------------------------------------------------------- a good feed


def test_a_good_feed_creates_types_products_plans_and_prices(
    feed_server: FeedServer, run_gsd: Callable[..., GsdRun], admin_user: Any
) -> None:
    # given
    integration = make_integration(feed_server.serve("/services", good_feed()))
    # when
    run = run_gsd(integration, actor=admin_user)
    # then
    assert run.status == GsdRunStatus.COMPLETED, run.log
    assert (run.created_count, run.updated_count, run.skipped_count, run.error_count) == (
        6,
        0,
        0,
        0,
    )
    assert (run.total_items, run.processed_items, run.failure_reason) == (6, 6, "")
    assert sorted(
        ProductType.objects.values_list("code", "name", "integration", "tax_code", "properties")
    ) == [
        ("BACKUP", "Cloud backup", "vendor", "", {}),
        ("M365", "Microsoft 365", "vendor", "SW052000", {"vendor": "Microsoft", "seats": 300}),
    ]
    assert sorted(
        Product.objects.values_list(
            "code", "kind", "name", "unit_of_measure", "max_quantity", "product_type__code"
        )
    ) == [
        ("BK-100", "primary", "Backup 100 GB", "GB", None, "BACKUP"),
        ("M365-BB", "primary", "Business Basic", "license", 300, "M365"),
        ("M365-BS", "primary", "Business Standard", "unit", None, "M365"),
        ("M365-PHONE", "addon", "Teams Phone", "unit", None, "M365"),
    ]
    phone = Product.objects.get(code="M365-PHONE")
    assert sorted(phone.primary_products.values_list("code", flat=True)) == ["M365-BB", "M365-BS"]
    assert sorted(
        ProductPrice.objects.values_list(
            "plan__product__code",
            "plan__billing_cycle",
            "plan__commitment_months",
            "plan__charge_type",
            "currency",
            "price",
            "cost_price",
            "setup_fee",
        )
    ) == [
        ("BK-100", "monthly", 0, "recurring_ppu", "EUR", D("0.0450"), None, D("0")),
        ("BK-100", "one_time", 0, "one_time", "EUR", D("99.0000"), None, D("15.0000")),
        ("M365-BB", "annual", 12, "recurring_prepaid", "EUR", D("60.0000"), None, D("0")),
        ("M365-BB", "monthly", 12, "recurring_prepaid", "EUR", D("5.6000"), D("4.4800"), D("0")),
        ("M365-BB", "monthly", 12, "recurring_prepaid", "USD", D("6.1000"), None, D("0")),
        ("M365-BS", "monthly", 0, "recurring_prepaid", "EUR", D("11.7000"), None, D("0")),
        ("M365-BS", "monthly", 0, "recurring_prepaid", "JPY", D("1800.0000"), None, D("0")),
        ("M365-PHONE", "monthly", 0, "recurring_prepaid", "EUR", D("7.0000"), None, D("0")),
    ]
    assert messages_of(run)[-1] == "Done: 6 created, 0 updated, 0 unchanged."
    assert "Product M365-PHONE: created." in messages_of(run)
    basic = Product.objects.get(code="M365-BB")
    assert LogEntry.objects.get_for_object(basic).get().actor == admin_user
    assert Event.objects.filter(name="product.created").count() == 4
    assert Event.objects.get(name="gsd_run.completed").payload == {
        "integration": "vendor",
        "product_type": "",
        "created": 6,
        "updated": 0,
        "unchanged": 0,
        "errors": 0,
    }


def test_running_the_same_feed_again_changes_nothing(
    feed_server: FeedServer, run_gsd: Callable[..., GsdRun]
) -> None:
    # given
    integration = make_integration(feed_server.serve("/services", good_feed()))
    run_gsd(integration)
    before = catalogue_snapshot()
    events_before = last_event_id()
    # when
    again = run_gsd(integration)
    # then
    assert again.status == GsdRunStatus.COMPLETED, again.log
    assert (again.created_count, again.updated_count, again.skipped_count) == (0, 0, 6)
    assert catalogue_snapshot() == before
    assert list(Event.objects.filter(pk__gt=events_before).values_list("name", flat=True)) == [
        "gsd_run.queued",
        "gsd_run.completed",
    ]
    assert "Product M365-BB: unchanged." in messages_of(again)


def test_a_changed_price_updates_that_product_only(
    feed_server: FeedServer, run_gsd: Callable[..., GsdRun]
) -> None:
    # given
    feed = good_feed()
    integration = make_integration(feed_server.serve("/services", feed))
    run_gsd(integration)
    counts = (ProductPlan.objects.count(), ProductPrice.objects.count())
    changed = copy.deepcopy(feed)
    find_product(changed, "M365-BB")["plans"][0]["prices"]["EUR"]["price"] = "5.90"
    feed_server.serve("/services", changed)
    # when
    run = run_gsd(integration)
    # then
    assert (run.created_count, run.updated_count, run.skipped_count) == (0, 1, 5)
    assert ProductPrice.objects.get(
        plan__product__code="M365-BB", plan__billing_cycle="monthly", currency="EUR"
    ).price == D("5.9000")
    assert (ProductPlan.objects.count(), ProductPrice.objects.count()) == counts
    assert "Product M365-BB: updated (EUR monthly 12 months price)." in messages_of(run)
    # The cost price the feed gave earlier stays when the new feed leaves it alone.
    assert ProductPrice.objects.get(
        plan__product__code="M365-BB", plan__billing_cycle="monthly", currency="EUR"
    ).cost_price == D("4.4800")


def test_new_fields_plans_currencies_and_attachments_update_existing_records(
    feed_server: FeedServer, run_gsd: Callable[..., GsdRun]
) -> None:
    # given
    feed = good_feed()
    integration = make_integration(feed_server.serve("/services", feed))
    run_gsd(integration)
    changed = copy.deepcopy(feed)
    changed["product_types"][1]["name"] = "Cloud backup & restore"
    find_product(changed, "M365-BS")["plans"].append(
        {"billing_cycle": "annual", "prices": {"EUR": {"price": "140.40"}}}
    )
    find_product(changed, "M365-BS")["plans"][0]["prices"]["GBP"] = {"price": "9.90"}
    find_product(changed, "M365-PHONE")["addon_of"] = ["M365-BS"]
    feed_server.serve("/services", changed)
    # when
    run = run_gsd(integration)
    # then
    assert (run.created_count, run.updated_count, run.skipped_count) == (0, 3, 3)
    assert ProductType.objects.get(code="BACKUP").name == "Cloud backup & restore"
    assert sorted(
        ProductPrice.objects.filter(plan__product__code="M365-BS").values_list(
            "plan__billing_cycle", "currency", "price"
        )
    ) == [
        ("annual", "EUR", D("140.4000")),
        ("monthly", "EUR", D("11.7000")),
        ("monthly", "GBP", D("9.9000")),
        ("monthly", "JPY", D("1800.0000")),
    ]
    phone = Product.objects.get(code="M365-PHONE")
    assert list(phone.primary_products.values_list("code", flat=True)) == ["M365-BS"]


def test_a_run_for_one_product_type_touches_only_that_type(
    feed_server: FeedServer, run_gsd: Callable[..., GsdRun]
) -> None:
    # given
    integration = make_integration(feed_server.serve("/services", good_feed()))
    backup = services.product_type_create(
        actor=None, code="BACKUP", name="Backup", integration="vendor"
    )
    # when
    run = run_gsd(integration, product_type=backup)
    # then
    assert run.status == GsdRunStatus.COMPLETED, run.log
    assert (run.product_type_code, run.created_count, run.updated_count) == ("BACKUP", 1, 1)
    assert sorted(ProductType.objects.values_list("code", "name")) == [("BACKUP", "Cloud backup")]
    assert list(Product.objects.values_list("code", flat=True)) == ["BK-100"]


def test_the_token_is_sent_in_its_header(
    feed_server: FeedServer, run_gsd: Callable[..., GsdRun]
) -> None:
    integration = make_integration(
        feed_server.serve("/services", good_feed()),
        auth_header="X-Api-Key",
        auth_token="s3cret-token",
    )

    run = run_gsd(integration)

    assert run.status == GsdRunStatus.COMPLETED
    headers = feed_server.seen_headers[-1]
    assert (headers["X-Api-Key"], headers["Accept"]) == ("s3cret-token", "application/json")
    assert "s3cret-token" not in json.dumps(run.log)


def test_a_task_delivered_twice_runs_once(
    feed_server: FeedServer, run_gsd: Callable[..., GsdRun]
) -> None:
    integration = make_integration(feed_server.serve("/services", good_feed()))
    run = run_gsd(integration)
    log_length = len(run.log)

    again = gsd.gsd_execute(run_id=run.pk)

    assert (again.status, again.created_count, len(again.log)) == (
        GsdRunStatus.COMPLETED,
        6,
        log_length,
    )
    assert len(feed_server.seen_headers) == 1


# ------------------------------------------------------------------- failing feeds


def _unreachable_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/services"


def _bad_feed(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    feed = good_feed()
    # Valid changes ride along with the bad item: they must not be written either.
    find_product(feed, "M365-BB")["plans"][0]["prices"]["EUR"]["price"] = "9.99"
    feed["product_types"][0]["products"].append(
        {"code": "M365-NEW", "name": "New edition", "plans": []}
    )
    mutate(feed)
    return feed


def _drop_code(feed: dict[str, Any]) -> None:
    del find_product(feed, "M365-BS")["code"]


def _inactive_currency(feed: dict[str, Any]) -> None:
    find_product(feed, "M365-BS")["plans"][0]["prices"]["CHF"] = {"price": "10"}


def _text_price(feed: dict[str, Any]) -> None:
    find_product(feed, "BK-100")["plans"][0]["prices"]["EUR"]["price"] = "ten"


def _unknown_addon_target(feed: dict[str, Any]) -> None:
    find_product(feed, "M365-PHONE")["addon_of"] = ["M365-E5"]


def _too_many_decimals(feed: dict[str, Any]) -> None:
    find_product(feed, "BK-100")["plans"][0]["prices"]["EUR"]["price"] = "0.04501"


def _duplicate_code(feed: dict[str, Any]) -> None:
    feed["product_types"][1]["products"].append({"code": "M365-BB", "name": "Again"})


@pytest.mark.parametrize(
    ("setup_route", "reason"),
    [
        pytest.param(
            lambda s: s.serve("/services", {"error": "boom"}, status=500),
            "The endpoint answered HTTP 500 Internal Server Error. Nothing was changed.",
            id="http-500",
        ),
        pytest.param(
            lambda s: s.serve("/services", good_feed(), delay=3),
            "The endpoint did not answer within 1 seconds. Nothing was changed.",
            id="timeout",
        ),
        pytest.param(
            lambda s: s.serve("/services", raw=b'{"product_types": [}'),
            "The feed is not valid JSON: Expecting value: line 1 column 20 (char 19). "
            "Nothing was changed.",
            id="invalid-json",
        ),
        pytest.param(
            lambda s: s.serve("/services", {"services": []}),
            "The feed is not a service definition: it needs a “product_types” list at the "
            "top. Nothing was changed.",
            id="not-a-feed",
        ),
        pytest.param(
            lambda s: s.serve("/services", _bad_feed(_drop_code)),
            "The feed is invalid: 1 problem(s) found. Nothing was changed.",
            id="product-without-code",
        ),
        pytest.param(
            lambda s: s.serve("/services", _bad_feed(_text_price)),
            "The feed is invalid: 1 problem(s) found. Nothing was changed.",
            id="text-price",
        ),
        pytest.param(
            lambda s: s.serve("/services", _bad_feed(_too_many_decimals)),
            "The feed is invalid: 1 problem(s) found. Nothing was changed.",
            id="five-decimals",
        ),
        pytest.param(
            lambda s: s.serve("/services", _bad_feed(_duplicate_code)),
            "The feed is invalid: 1 problem(s) found. Nothing was changed.",
            id="duplicate-code",
        ),
        pytest.param(
            lambda s: s.serve("/services", _bad_feed(_inactive_currency)),
            "The feed is invalid: 1 problem(s) found. Nothing was changed.",
            id="inactive-currency",
        ),
        pytest.param(
            lambda s: s.serve("/services", _bad_feed(_unknown_addon_target)),
            "The feed is invalid: 1 problem(s) found. Nothing was changed.",
            id="unknown-addon-target",
        ),
        pytest.param(
            lambda s: _unreachable_url(),
            None,
            id="connection-refused",
        ),
    ],
)
def test_a_failing_feed_fails_the_run_and_changes_nothing(
    feed_server: FeedServer,
    run_gsd: Callable[..., GsdRun],
    setup_route: Callable[[FeedServer], str],
    reason: str | None,
) -> None:
    # given: the good feed is already in the catalogue, and the vendor now answers badly
    url = feed_server.serve("/services", good_feed())
    integration = make_integration(url, timeout_seconds=1)
    run_gsd(integration)
    bad_url = setup_route(feed_server)
    if bad_url != url:
        gsd.integration_update(actor=None, integration=integration, endpoint_url=bad_url)
    before = catalogue_snapshot()
    events_before = last_event_id()
    # when
    run = run_gsd(integration)
    # then
    assert run.status == GsdRunStatus.FAILED
    if reason is not None:
        assert run.failure_reason == reason
    else:
        assert run.failure_reason.startswith("The endpoint cannot be reached: ")
    assert run.error_count >= 1
    assert (run.created_count, run.updated_count, run.skipped_count) == (0, 0, 0)
    assert messages_of(run)[-1] == run.failure_reason
    assert catalogue_snapshot() == before
    assert list(Event.objects.filter(pk__gt=events_before).values_list("name", flat=True)) == [
        "gsd_run.queued",
        "gsd_run.failed",
    ]


def test_every_problem_of_a_feed_is_logged_with_its_place(
    feed_server: FeedServer, run_gsd: Callable[..., GsdRun]
) -> None:
    # given
    feed = good_feed()
    del find_product(feed, "M365-BS")["code"]
    find_product(feed, "BK-100")["plans"][0]["prices"]["EUR"]["price"] = "ten"
    find_product(feed, "BK-100")["plans"][1]["charge_type"] = "recurring_prepaid"
    find_product(feed, "M365-BB")["max_quantity"] = 0
    feed["product_types"][1]["name"] = ""
    integration = make_integration(feed_server.serve("/services", feed))
    # when
    run = run_gsd(integration)
    # then
    assert run.error_count == 5
    assert [line["message"] for line in run.log if line["level"] == "error"] == [
        "product_types[0].products[0].max_quantity: must be a whole number of at least 1.",
        "product_types[0].products[1]: “code” is missing.",
        "product_types[1].name: must not be empty.",
        "product_types[1].products[0].plans[0].prices.EUR.price: “ten” is not a number.",
        "product_types[1].products[0].plans[1].charge_type: a one-time charge uses the "
        "one_time cycle only.",
        "The feed is invalid: 5 problem(s) found. Nothing was changed.",
    ]
    assert ProductType.objects.count() == 0


def test_a_type_of_another_integration_or_a_product_of_another_type_is_refused(
    feed_server: FeedServer, run_gsd: Callable[..., GsdRun]
) -> None:
    # given
    integration = make_integration(feed_server.serve("/services", good_feed()))
    services.product_type_create(actor=None, code="BACKUP", name="Backup", integration="other")
    hosting = services.product_type_create(actor=None, code="HOST", name="Hosting")
    services.product_create(
        actor=None, kind="primary", code="M365-BS", name="Standard", product_type=hosting
    )
    before = catalogue_snapshot()
    # when
    run = run_gsd(integration)
    # then
    assert run.status == GsdRunStatus.FAILED
    assert [line["message"] for line in run.log if line["level"] == "error"][:2] == [
        "Product M365-BS: it already exists under HOST, not M365.",
        "Product type BACKUP: it already exists and is linked to the integration other.",
    ]
    assert catalogue_snapshot() == before


def test_a_product_whose_kind_differs_is_refused(
    feed_server: FeedServer, run_gsd: Callable[..., GsdRun]
) -> None:
    feed = good_feed()
    integration = make_integration(feed_server.serve("/services", feed))
    run_gsd(integration)
    find_product(feed, "M365-PHONE").pop("addon_of")
    feed_server.serve("/services", feed)

    run = run_gsd(integration)

    assert run.status == GsdRunStatus.FAILED
    assert (
        "Product M365-PHONE: it is an add-on here and the feed makes it a primary product."
        in messages_of(run)
    )


# ------------------------------------------------------------------------ concurrency


def test_a_second_run_is_refused_while_one_is_live(feed_server: FeedServer) -> None:
    # given: a run queued and not yet picked up by a worker
    integration = make_integration(feed_server.serve("/services", good_feed()))
    first = gsd.gsd_start(actor=None, integration=integration)
    # when
    with pytest.raises(ValidationError) as refused:
        gsd.gsd_start(actor=None, integration=integration)
    # then
    assert refused.value.messages == [
        f"A Get Services Definition run of Vendor portal is already in progress "
        f"(run #{first.pk}); wait for it to finish."
    ]
    assert list(GsdRun.objects.values_list("pk", "status")) == [(first.pk, "queued")]


def test_the_database_itself_refuses_two_live_runs(feed_server: FeedServer) -> None:
    integration = make_integration(feed_server.serve("/services", good_feed()))
    GsdRun.objects.create(integration=integration, status=GsdRunStatus.RUNNING)

    with pytest.raises(IntegrityError), transaction.atomic():
        GsdRun.objects.create(integration=integration, status=GsdRunStatus.QUEUED)

    GsdRun.objects.create(integration=integration, status=GsdRunStatus.COMPLETED)
    assert GsdRun.objects.count() == 2


def test_a_finished_run_lets_the_next_one_start(
    feed_server: FeedServer, run_gsd: Callable[..., GsdRun]
) -> None:
    integration = make_integration(feed_server.serve("/services", good_feed()))
    first = run_gsd(integration)

    second = run_gsd(integration)

    assert (first.status, second.status) == (GsdRunStatus.COMPLETED, GsdRunStatus.COMPLETED)


def test_an_abandoned_run_no_longer_blocks_the_integration(feed_server: FeedServer) -> None:
    # given: a run whose worker died long ago
    integration = make_integration(feed_server.serve("/services", good_feed()))
    stuck = GsdRun.objects.create(integration=integration, status=GsdRunStatus.RUNNING)
    GsdRun.objects.filter(pk=stuck.pk).update(
        started_at=timezone.now() - gsd.STALE_AFTER - timedelta(seconds=1)
    )
    # when
    fresh = gsd.gsd_start(actor=None, integration=integration)
    # then
    stuck.refresh_from_db()
    assert (stuck.status, stuck.failure_reason) == (
        GsdRunStatus.FAILED,
        "Abandoned: the job stopped before it finished.",
    )
    assert fresh.status == GsdRunStatus.QUEUED


def test_an_inactive_integration_cannot_run(feed_server: FeedServer) -> None:
    integration = make_integration(feed_server.serve("/services", good_feed()), is_active=False)

    with pytest.raises(ValidationError, match="is not active"):
        gsd.gsd_start(actor=None, integration=integration)

    assert GsdRun.objects.count() == 0


# ----------------------------------------------------------------------- integrations


def test_an_integration_keeps_its_token_until_replaced_or_removed() -> None:
    integration = gsd.integration_create(
        actor=None,
        code="nce",
        name="Microsoft NCE",
        connector="generic_json",
        endpoint_url="https://vendor.example/services",
        auth_token="  first-token ",
    )

    gsd.integration_update(actor=None, integration=integration, name="NCE", auth_token=None)
    kept = Integration.objects.get(pk=integration.pk).auth_token
    gsd.integration_update(actor=None, integration=integration, auth_token="second")
    replaced = Integration.objects.get(pk=integration.pk).auth_token
    gsd.integration_update(actor=None, integration=integration, auth_token="")
    removed = Integration.objects.get(pk=integration.pk).auth_token

    assert (kept, replaced, removed) == ("first-token", "second", "")
    assert "first-token" not in json.dumps(list(LogEntry.objects.values_list("changes", flat=True)))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"connector": "telepathy"}, "Unknown connector 'telepathy'."),
        (
            {"endpoint_url": "ftp://vendor.example/feed"},
            "The endpoint must be an http or https address.",
        ),
        ({"timeout_seconds": 0}, "The timeout is between 1 and 300 seconds."),
        ({"auth_header": "", "auth_token": "x"}, "Name the header that carries the token."),
    ],
)
def test_an_integration_with_bad_settings_is_refused(fields: dict[str, Any], message: str) -> None:
    values = {
        "code": "nce",
        "name": "NCE",
        "connector": "generic_json",
        "endpoint_url": "https://vendor.example/services",
        **fields,
    }
    token = values.pop("auth_token", "")

    with pytest.raises(ValidationError) as refused:
        gsd.integration_create(actor=None, auth_token=token, **values)

    assert message in refused.value.messages
    assert Integration.objects.count() == 0


def test_the_code_of_an_integration_in_use_cannot_change() -> None:
    integration = gsd.integration_create(
        actor=None,
        code="nce",
        name="NCE",
        connector="generic_json",
        endpoint_url="https://vendor.example/services",
    )
    services.product_type_create(actor=None, code="M365", name="Microsoft 365", integration="nce")

    with pytest.raises(ValidationError) as refused:
        gsd.integration_update(actor=None, integration=integration, code="nce2")

    assert refused.value.messages == [
        "The product types Microsoft 365 use the code nce; it cannot change."
    ]
    assert Integration.objects.get().code == "nce"
