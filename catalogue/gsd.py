"""Get Services Definition: read a vendor's catalogue and bring ours in line with it.

An ``Integration`` (registered in setup) names a connector kind and an endpoint. A
connector turns the vendor's answer into a ``Feed`` (product types, products, plans,
prices); the sync here is the same for every connector. A run goes through four steps,
all recorded on its ``GsdRun`` (status, counts and a log a page polls):

1. ``gsd_start`` queues the run. Only one run per integration may be queued or running:
   a partial unique index refuses the second one, even from two servers at once.
2. The task claims the run with a conditional update and the connector fetches the feed
   over HTTP, outside any database transaction, with a timeout and a size limit.
3. The whole feed is checked, first its shape, then against the database (active
   currencies, codes owned by another integration or product type, add-on targets).
   Any problem fails the run with every reason listed, and nothing is written.
4. Product types, products, plans and prices are created or updated through
   ``catalogue.services`` in ONE transaction. Records the feed describes exactly as
   stored are counted as unchanged and not written at all, so a second run of the same
   feed changes nothing. GSD never deletes or retires anything.

The generic JSON connector (``generic_json``) GETs the endpoint and expects::

    {
      "product_types": [
        {
          "code": "M365",                      required, at most 60 characters
          "name": "Microsoft 365",             required, at most 150
          "description": "...",                optional
          "tax_code": "SW052000",              optional, at most 60
          "properties": {"any": "object"},     optional
          "products": [
            {
              "code": "M365-BB",               required, at most 60, unique in the feed
              "name": "Business Basic",        required, at most 200
              "description": "...",            optional
              "unit": "license",               optional unit of measure, at most 40
              "addon_of": ["M365-BS"],         optional: codes of the primary products this
                                               add-on attaches to; without it the product
                                               is a primary product
              "min_quantity": 1,               optional whole number, at least 1
              "max_quantity": 300,             optional whole number or null
              "plans": [
                {
                  "billing_cycle": "monthly",  monthly | annual | triennial | one_time
                  "commitment_months": 12,     optional: 0 (default), 1, 12 or 36
                  "charge_type": "recurring_prepaid",
                                               optional: one_time | recurring_prepaid |
                                               recurring_ppu; default one_time for the
                                               one_time cycle, else recurring_prepaid
                  "prices": {
                    "EUR": {"price": "5.60", "cost_price": "4.48", "setup_fee": "0"},
                    "USD": {"price": 6.1}
                  }
                }
              ]
            }
          ]
        }
      ]
    }

Amounts are JSON numbers or numeric strings, zero or more, with at most 4 decimals;
currencies must be active currencies of the organization. A key left out never changes
what is stored (a missing description keeps ours; a missing cost price keeps ours), and
keys the connector does not know are ignored. A plan is identified by its billing cycle,
commitment and charge type; a plan or a currency the feed does not mention is kept.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from http.client import HTTPException
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bss.core.audit import acting_as
from bss.core.events import emit_event
from catalogue import selectors, services
from catalogue.models import (
    GSD_LIVE_STATUSES,
    BillingCycle,
    ChargeType,
    CommitmentTerm,
    GsdRun,
    GsdRunStatus,
    Integration,
    Product,
    ProductKind,
    ProductPlan,
    ProductPrice,
    ProductType,
)

logger = logging.getLogger(__name__)

MAX_FEED_BYTES = 20 * 1024 * 1024
READ_CHUNK_BYTES = 64 * 1024
MAX_PROBLEMS_KEPT = 200
MAX_LOG_LINES = 2000
PROGRESS_WRITE_SECONDS = 0.5
# The task's hard limit, and when a run still queued or running counts as abandoned.
GSD_TIME_LIMIT = 10 * 60
STALE_AFTER = timedelta(seconds=GSD_TIME_LIMIT + 60)
MAX_AMOUNT = Decimal("1e14")
KIND_PHRASES = {
    ProductKind.PRIMARY: "a primary product",
    ProductKind.ADDON: "an add-on",
    ProductKind.BUNDLE: "a bundle",
}
AMOUNT_PLACES = 4

INTEGRATION_FIELDS = (
    "code",
    "name",
    "connector",
    "endpoint_url",
    "auth_header",
    "timeout_seconds",
    "is_active",
)


class FeedError(Exception):
    """The feed cannot be used; ``problems`` lists every reason found."""

    def __init__(self, summary: str, problems: Iterable[str] = ()) -> None:
        super().__init__(summary)
        self.summary = summary
        self.problems = list(problems)


# ---------------------------------------------------------------------------- the feed


@dataclass(frozen=True)
class FeedPrice:
    """A plan's price in one currency; ``values`` holds only the amounts the feed gave."""

    currency: str
    values: dict[str, Decimal]


@dataclass(frozen=True)
class FeedPlan:
    billing_cycle: str
    commitment_months: int
    charge_type: str
    prices: tuple[FeedPrice, ...]

    @property
    def identity(self) -> tuple[str, int, str]:
        return (self.billing_cycle, self.commitment_months, self.charge_type)

    @property
    def label(self) -> str:
        parts = [self.billing_cycle]
        if self.commitment_months:
            parts.append(f"{self.commitment_months} months")
        if self.charge_type == ChargeType.RECURRING_PAY_PER_USE:
            parts.append("pay-per-use")
        return " ".join(parts)


@dataclass(frozen=True)
class FeedProduct:
    code: str
    fields: dict[str, Any]
    addon_of: tuple[str, ...]
    plans: tuple[FeedPlan, ...]

    @property
    def kind(self) -> str:
        return ProductKind.ADDON if self.addon_of else ProductKind.PRIMARY


@dataclass(frozen=True)
class FeedType:
    code: str
    fields: dict[str, Any]
    products: tuple[FeedProduct, ...]


@dataclass(frozen=True)
class Feed:
    product_types: tuple[FeedType, ...]

    def only(self, type_code: str) -> Feed:
        return Feed(tuple(t for t in self.product_types if t.code == type_code))

    @property
    def product_count(self) -> int:
        return sum(len(feed_type.products) for feed_type in self.product_types)


class _Shape:
    """Reads the raw JSON into a ``Feed``, collecting every problem with its location."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, reason: str) -> None:
        self.problems.append(f"{where}: {reason}")

    def text(
        self, raw: Mapping[str, Any], key: str, where: str, *, max_length: int, required: bool
    ) -> str | None:
        if key not in raw or raw[key] is None:
            if required:
                self.fail(where, f"“{key}” is missing.")
            return None
        value = raw[key]
        if not isinstance(value, str):
            self.fail(f"{where}.{key}", "must be text.")
            return None
        value = value.strip()
        if required and not value:
            self.fail(f"{where}.{key}", "must not be empty.")
            return None
        if len(value) > max_length:
            self.fail(f"{where}.{key}", f"is longer than {max_length} characters.")
            return None
        return value

    def whole(self, raw: Mapping[str, Any], key: str, where: str, *, minimum: int) -> int | None:
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(f"{where}.{key}", f"must be a whole number of at least {minimum}.")
            return None
        return value

    def amount(self, value: Any, where: str) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            self.fail(where, "must be a number.")
            return None
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            self.fail(where, f"“{value}” is not a number.")
            return None
        if not number.is_finite() or number < 0 or number >= MAX_AMOUNT:
            self.fail(where, f"“{value}” is not an amount of zero or more.")
            return None
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > AMOUNT_PLACES:
            self.fail(where, f"“{value}” has more than {AMOUNT_PLACES} decimals.")
            return None
        return number.quantize(Decimal(1).scaleb(-AMOUNT_PLACES))

    def listing(self, raw: Mapping[str, Any], key: str, where: str) -> list[Any]:
        value = raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(f"{where}.{key}", "must be a list.")
            return []
        return value

    def feed(self, data: Any) -> Feed:
        if not isinstance(data, dict) or not isinstance(data.get("product_types"), list):
            raise FeedError(
                "The feed is not a service definition: it needs a “product_types” list at the top."
            )
        types: list[FeedType] = []
        type_codes: set[str] = set()
        product_codes: set[str] = set()
        for index, raw in enumerate(data["product_types"]):
            where = f"product_types[{index}]"
            if not isinstance(raw, dict):
                self.fail(where, "must be an object.")
                continue
            feed_type = self.product_type(raw, where, product_codes)
            if feed_type is None:
                continue
            if feed_type.code in type_codes:
                self.fail(f"{where}.code", f"the product type {feed_type.code} appears twice.")
                continue
            type_codes.add(feed_type.code)
            types.append(feed_type)
        if self.problems:
            raise FeedError(_problem_summary(len(self.problems)), self.problems)
        return Feed(tuple(types))

    def product_type(
        self, raw: Mapping[str, Any], where: str, product_codes: set[str]
    ) -> FeedType | None:
        code = self.text(raw, "code", where, max_length=60, required=True)
        name = self.text(raw, "name", where, max_length=150, required=True)
        fields: dict[str, Any] = {"name": name}
        description = self.text(raw, "description", where, max_length=10_000, required=False)
        if description is not None:
            fields["description"] = description
        tax_code = self.text(raw, "tax_code", where, max_length=60, required=False)
        if tax_code is not None:
            fields["tax_code"] = tax_code
        if raw.get("properties") is not None:
            if isinstance(raw["properties"], dict):
                fields["properties"] = _plain_json(raw["properties"])
            else:
                self.fail(f"{where}.properties", "must be an object.")
        products: list[FeedProduct] = []
        for index, raw_product in enumerate(self.listing(raw, "products", where)):
            product_where = f"{where}.products[{index}]"
            if not isinstance(raw_product, dict):
                self.fail(product_where, "must be an object.")
                continue
            product = self.product(raw_product, product_where)
            if product is None:
                continue
            if product.code in product_codes:
                self.fail(f"{product_where}.code", f"the product {product.code} appears twice.")
                continue
            product_codes.add(product.code)
            products.append(product)
        if code is None or name is None:
            return None
        return FeedType(code=code, fields=fields, products=tuple(products))

    def product(self, raw: Mapping[str, Any], where: str) -> FeedProduct | None:
        code = self.text(raw, "code", where, max_length=60, required=True)
        name = self.text(raw, "name", where, max_length=200, required=True)
        fields: dict[str, Any] = {"name": name}
        description = self.text(raw, "description", where, max_length=10_000, required=False)
        if description is not None:
            fields["description"] = description
        unit = self.text(raw, "unit", where, max_length=40, required=False)
        if unit == "":
            self.fail(f"{where}.unit", "must not be empty.")
        elif unit is not None:
            fields["unit_of_measure"] = unit
        if raw.get("min_quantity") is not None:
            minimum = self.whole(raw, "min_quantity", where, minimum=1)
            if minimum is not None:
                fields["min_quantity"] = minimum
        if "max_quantity" in raw:
            maximum = (
                None
                if raw["max_quantity"] is None
                else self.whole(raw, "max_quantity", where, minimum=1)
            )
            fields["max_quantity"] = maximum
            minimum = fields.get("min_quantity", 1)
            if maximum is not None and maximum < minimum:
                self.fail(f"{where}.max_quantity", "is below the minimum quantity.")
        addon_of: list[str] = []
        for index, target in enumerate(self.listing(raw, "addon_of", where)):
            if not isinstance(target, str) or not target.strip():
                self.fail(f"{where}.addon_of[{index}]", "must be a product code.")
            elif target.strip() == code:
                self.fail(f"{where}.addon_of[{index}]", "an add-on cannot attach to itself.")
            elif target.strip() not in addon_of:
                addon_of.append(target.strip())
        plans: list[FeedPlan] = []
        for index, raw_plan in enumerate(self.listing(raw, "plans", where)):
            plan_where = f"{where}.plans[{index}]"
            if not isinstance(raw_plan, dict):
                self.fail(plan_where, "must be an object.")
                continue
            plan = self.plan(raw_plan, plan_where)
            if plan is None:
                continue
            if any(other.identity == plan.identity for other in plans):
                self.fail(plan_where, f"the {plan.label} plan appears twice.")
                continue
            plans.append(plan)
        if code is None or name is None:
            return None
        return FeedProduct(code=code, fields=fields, addon_of=tuple(addon_of), plans=tuple(plans))

    def plan(self, raw: Mapping[str, Any], where: str) -> FeedPlan | None:
        ok = True
        cycle = raw.get("billing_cycle")
        if cycle not in BillingCycle.values:
            self.fail(
                f"{where}.billing_cycle",
                f"must be one of {', '.join(BillingCycle.values)}; got {cycle!r}.",
            )
            ok = False
        commitment = raw.get("commitment_months", 0)
        if isinstance(commitment, bool) or commitment not in CommitmentTerm.values:
            self.fail(
                f"{where}.commitment_months",
                f"must be one of {', '.join(map(str, CommitmentTerm.values))}; got {commitment!r}.",
            )
            ok = False
        default_charge = (
            ChargeType.ONE_TIME if cycle == BillingCycle.ONE_TIME else ChargeType.RECURRING_PREPAID
        )
        charge_type = raw.get("charge_type", default_charge)
        if charge_type not in ChargeType.values:
            self.fail(
                f"{where}.charge_type",
                f"must be one of {', '.join(ChargeType.values)}; got {charge_type!r}.",
            )
            ok = False
        elif ok and (charge_type == ChargeType.ONE_TIME) != (cycle == BillingCycle.ONE_TIME):
            self.fail(f"{where}.charge_type", "a one-time charge uses the one_time cycle only.")
            ok = False
        prices: list[FeedPrice] = []
        raw_prices = raw.get("prices") or {}
        if not isinstance(raw_prices, dict):
            self.fail(f"{where}.prices", "must be an object keyed by currency code.")
            raw_prices = {}
        for currency, raw_price in raw_prices.items():
            price_where = f"{where}.prices.{currency}"
            code = str(currency).strip().upper()
            if len(code) != 3 or not code.isalpha():
                self.fail(price_where, "the key must be a three-letter currency code.")
                ok = False
                continue
            if any(price.currency == code for price in prices):
                self.fail(price_where, f"{code} appears twice.")
                ok = False
                continue
            if not isinstance(raw_price, dict):
                self.fail(price_where, "must be an object with a “price”.")
                ok = False
                continue
            if raw_price.get("price") is None:
                self.fail(price_where, "“price” is missing.")
                ok = False
                continue
            values: dict[str, Decimal] = {}
            for key in ("price", "cost_price", "setup_fee"):
                if raw_price.get(key) is None:
                    continue
                amount = self.amount(raw_price[key], f"{price_where}.{key}")
                if amount is None:
                    ok = False
                else:
                    values[key] = amount
            prices.append(FeedPrice(currency=code, values=values))
        if not ok:
            return None
        return FeedPlan(
            billing_cycle=cycle,
            commitment_months=commitment,
            charge_type=charge_type,
            prices=tuple(prices),
        )


def _plain_json(value: Any) -> Any:
    """Decimals read from the feed as JSON numbers again, for a JSONField."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(key): _plain_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_json(item) for item in value]
    return value


def _problem_summary(count: int) -> str:
    return f"The feed is invalid: {count} problem(s) found."


def parse_feed(data: Any) -> Feed:
    """The feed of the generic JSON shape (see the module docstring), or ``FeedError``."""
    return _Shape().feed(data)


# ---------------------------------------------------------------------------- connectors


class Connector(ABC):
    """Reads one vendor's service definitions. Subclasses register with ``register_connector``."""

    kind: str
    label: Any

    @abstractmethod
    def fetch(self, integration: Integration) -> Feed:
        """The vendor's whole feed; raise ``FeedError`` with the reason when it cannot."""


CONNECTORS: dict[str, Connector] = {}


def register_connector(connector: Connector) -> None:
    CONNECTORS[connector.kind] = connector


def get_connector(kind: str) -> Connector | None:
    return CONNECTORS.get(kind)


def connector_choices() -> list[tuple[str, str]]:
    return sorted(((kind, str(c.label)) for kind, c in CONNECTORS.items()), key=lambda c: c[1])


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise HTTPError(newurl, code, "redirect to a non-HTTP address refused", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def fetch_json(
    url: str, *, headers: Mapping[str, str], secret_headers: Mapping[str, str], timeout: int
) -> Any:
    """GET ``url`` and parse its JSON body; every failure is a ``FeedError`` with the reason.

    ``timeout`` bounds the whole download, not just each socket read, so a server that
    trickles bytes cannot hold the worker. Secret headers are not sent on to a redirect.
    """
    if urlsplit(url).scheme not in ("http", "https"):
        raise FeedError(f"The endpoint {url} is not an http or https address.")
    request = urllib.request.Request(url, headers=dict(headers), method="GET")
    for name, value in secret_headers.items():
        request.add_unredirected_header(name, value)
    opener = urllib.request.build_opener(_HttpOnlyRedirects)
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    too_slow = FeedError(f"The endpoint did not answer within {timeout} seconds.")
    try:
        with opener.open(request, timeout=timeout) as response:
            while chunk := response.read(READ_CHUNK_BYTES):
                size += len(chunk)
                if size > MAX_FEED_BYTES:
                    raise FeedError(
                        f"The feed is larger than {MAX_FEED_BYTES // (1024 * 1024)} MB."
                    )
                if time.monotonic() > deadline:
                    raise too_slow
                chunks.append(chunk)
    except HTTPError as error:
        error.close()
        raise FeedError(f"The endpoint answered HTTP {error.code} {error.reason}.") from None
    except TimeoutError:
        raise too_slow from None
    except URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise too_slow from None
        raise FeedError(f"The endpoint cannot be reached: {error.reason}.") from None
    except (HTTPException, OSError) as error:
        raise FeedError(f"The connection to the endpoint failed: {error}.") from None
    try:
        return json.loads(b"".join(chunks), parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise FeedError(f"The feed is not valid JSON: {error}.") from None


class GenericJsonConnector(Connector):
    kind = "generic_json"
    label = _("Generic JSON feed")

    def fetch(self, integration: Integration) -> Feed:
        secret = (
            {integration.auth_header: integration.auth_token}
            if integration.auth_token and integration.auth_header
            else {}
        )
        data = fetch_json(
            integration.endpoint_url,
            headers={"Accept": "application/json", "User-Agent": "bss-gsd/1"},
            secret_headers=secret,
            timeout=integration.timeout_seconds,
        )
        return parse_feed(data)


# -------------------------------------------------------------------------- integrations


def _check_integration(integration: Integration, *, old_code: str | None) -> None:
    if get_connector(integration.connector) is None:
        raise ValidationError({"connector": f"Unknown connector {integration.connector!r}."})
    if urlsplit(integration.endpoint_url).scheme not in ("http", "https"):
        raise ValidationError({"endpoint_url": "The endpoint must be an http or https address."})
    if not 1 <= integration.timeout_seconds <= 300:
        raise ValidationError({"timeout_seconds": "The timeout is between 1 and 300 seconds."})
    if integration.auth_token and not integration.auth_header.strip():
        raise ValidationError({"auth_header": "Name the header that carries the token."})
    if old_code is not None and old_code != integration.code:
        used_by = list(
            ProductType.objects.filter(integration=old_code)
            .order_by("name")[:5]
            .values_list("name", flat=True)
        )
        if used_by:
            raise ValidationError(
                {
                    "code": f"The product types {', '.join(used_by)} use the code {old_code}; "
                    "it cannot change."
                }
            )


def _save_integration(
    actor: Any, integration: Integration, update_fields: list[str] | None
) -> None:
    integration.full_clean(validate_constraints=False)
    with acting_as(actor):
        integration.save(update_fields=update_fields)


@transaction.atomic
def integration_create(*, actor: Any, auth_token: str = "", **fields: Any) -> Integration:
    """Register a vendor system; the token is stored as entered and never shown again."""
    unknown = set(fields) - set(INTEGRATION_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown integration fields: {', '.join(sorted(unknown))}")
    integration = Integration(auth_token=auth_token.strip(), **fields)
    _check_integration(integration, old_code=None)
    _save_integration(actor, integration, None)
    emit_event(
        "integration.created",
        actor=actor,
        aggregate=integration,
        payload={"code": integration.code, "connector": integration.connector},
    )
    return integration


@transaction.atomic
def integration_update(
    *, actor: Any, integration: Integration, auth_token: str | None = None, **fields: Any
) -> Integration:
    """Change the settings; ``auth_token`` None keeps the stored token and "" removes it."""
    unknown = set(fields) - set(INTEGRATION_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown integration fields: {', '.join(sorted(unknown))}")
    old_code = integration.code
    if auth_token is not None:
        fields["auth_token"] = auth_token.strip()
    changed = [name for name, value in fields.items() if getattr(integration, name) != value]
    if not changed:
        return integration
    for name in changed:
        setattr(integration, name, fields[name])
    _check_integration(integration, old_code=old_code)
    _save_integration(actor, integration, [*changed, "updated_at"])
    emit_event(
        "integration.updated",
        actor=actor,
        aggregate=integration,
        payload={"code": integration.code, "fields": sorted(changed)},
    )
    return integration


def integration_of(product_type: ProductType) -> Integration | None:
    if not product_type.integration:
        return None
    return Integration.objects.filter(code=product_type.integration).first()


# ------------------------------------------------------------------------- starting runs


def live_run(integration: Integration) -> GsdRun | None:
    return (
        GsdRun.objects.filter(integration=integration, status__in=GSD_LIVE_STATUSES)
        .order_by("-pk")
        .first()
    )


def _fail_abandoned(integration: Integration) -> None:
    """Free the slot of a run whose worker died: the task's time limit is long past."""
    cutoff = timezone.now() - STALE_AFTER
    GsdRun.objects.filter(
        Q(status=GsdRunStatus.QUEUED, created_at__lt=cutoff)
        | Q(status=GsdRunStatus.RUNNING, started_at__lt=cutoff),
        integration=integration,
    ).update(
        status=GsdRunStatus.FAILED,
        finished_at=timezone.now(),
        failure_reason="Abandoned: the job stopped before it finished.",
    )


@transaction.atomic
def gsd_start(
    *, actor: Any, integration: Integration, product_type: ProductType | None = None
) -> GsdRun:
    """Queue a run of ``integration``, for all its types or for ``product_type`` only."""
    if not integration.is_active:
        raise ValidationError(f"The integration {integration.name} is not active.")
    if get_connector(integration.connector) is None:
        raise ValidationError(
            f"The integration {integration.name} uses the unknown connector "
            f"{integration.connector!r}."
        )
    if product_type is not None and product_type.integration != integration.code:
        raise ValidationError(
            f"The product type {product_type.name} is not linked to {integration.name}."
        )
    _fail_abandoned(integration)
    try:
        # The savepoint keeps the caller's transaction usable after a refused insert.
        with transaction.atomic():
            run = GsdRun.objects.create(
                integration=integration,
                product_type_code=product_type.code if product_type is not None else "",
                requested_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:
        running = live_run(integration)
        number = f" (run #{running.pk})" if running is not None else ""
        raise ValidationError(
            f"A Get Services Definition run of {integration.name} is already in progress"
            f"{number}; wait for it to finish."
        ) from None
    emit_event(
        "gsd_run.queued",
        actor=actor,
        aggregate=run,
        payload={"integration": integration.code, "product_type": run.product_type_code},
    )
    transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from catalogue.tasks import run_gsd

    try:
        run_gsd.delay(run_id)
    except Exception as error:
        # Without a broker the run would stay queued and block the integration.
        logger.exception("GSD run %s could not be queued", run_id)
        GsdRun.objects.filter(pk=run_id, status=GsdRunStatus.QUEUED).update(
            status=GsdRunStatus.FAILED,
            finished_at=timezone.now(),
            failure_reason=f"The job could not be queued: {error}",
        )


# ------------------------------------------------------------------------------ planning


@dataclass
class PriceStep:
    currency: str
    values: dict[str, Decimal]
    existing: ProductPrice | None

    @property
    def changed(self) -> bool:
        if self.existing is None:
            return True
        return any(getattr(self.existing, key) != value for key, value in self.values.items())


@dataclass
class PlanStep:
    feed: FeedPlan
    position: int
    existing: ProductPlan | None
    prices: list[PriceStep]


@dataclass
class ProductStep:
    feed: FeedProduct
    type_code: str
    existing: Product | None
    changes: dict[str, Any]
    attachments_changed: bool
    plans: list[PlanStep]

    @property
    def outcome(self) -> str:
        if self.existing is None:
            return "created"
        if (
            self.changes
            or self.attachments_changed
            or any(
                plan.existing is None or any(p.changed for p in plan.prices) for plan in self.plans
            )
        ):
            return "updated"
        return "unchanged"

    def describe(self) -> str:
        what = [*self.changes]
        if self.attachments_changed:
            what.append("attaches to")
        for plan in self.plans:
            if plan.existing is None:
                what.append(f"new {plan.feed.label} plan")
                continue
            what += [
                f"{price.currency} {plan.feed.label} price"
                for price in plan.prices
                if price.changed
            ]
        return ", ".join(what)


@dataclass
class TypeStep:
    feed: FeedType
    existing: ProductType | None
    changes: dict[str, Any]

    @property
    def outcome(self) -> str:
        if self.existing is None:
            return "created"
        return "updated" if self.changes else "unchanged"


@dataclass
class SyncPlan:
    types: list[TypeStep] = field(default_factory=list)
    products: list[ProductStep] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _Progress:
    """Writes the checked count at most twice a second, outside any transaction."""

    def __init__(self, run: GsdRun) -> None:
        self.run = run
        self.done = 0
        self._written_at = 0.0

    def advance(self) -> None:
        self.done += 1
        if time.monotonic() - self._written_at >= PROGRESS_WRITE_SECONDS:
            self._written_at = time.monotonic()
            GsdRun.objects.filter(pk=self.run.pk).update(processed_items=self.done)


def _changes(record: Any, wanted: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in wanted.items() if getattr(record, name) != value}


def plan_sync(feed: Feed, integration: Integration, progress: _Progress | None = None) -> SyncPlan:
    """Compare the feed with the database; collect every problem instead of stopping."""
    plan = SyncPlan()
    currencies = set(selectors.active_currency_codes())
    type_codes = [feed_type.code for feed_type in feed.product_types]
    existing_types = {t.code: t for t in ProductType.objects.filter(code__in=type_codes)}
    codes = [p.code for feed_type in feed.product_types for p in feed_type.products]
    existing_products = {
        product.code: product
        for product in selectors.product_with_pricing(
            Product.objects.filter(code__in=codes)
        ).prefetch_related("primary_products")
    }
    targets = {code for t in feed.product_types for p in t.products for code in p.addon_of}
    known_kinds = dict(
        Product.objects.filter(code__in=targets - set(codes)).values_list("code", "kind")
    )
    feed_kinds = {p.code: p.kind for t in feed.product_types for p in t.products}

    for feed_type in feed.product_types:
        existing_type = existing_types.get(feed_type.code)
        if existing_type is not None and existing_type.integration != integration.code:
            owner = (
                f"linked to the integration {existing_type.integration}"
                if existing_type.integration
                else "maintained by hand"
            )
            plan.problems.append(
                f"Product type {feed_type.code}: it already exists and is {owner}."
            )
        plan.types.append(
            TypeStep(
                feed=feed_type,
                existing=existing_type,
                changes=_changes(existing_type, feed_type.fields) if existing_type else {},
            )
        )
        if progress is not None:
            progress.advance()
        for feed_product in feed_type.products:
            step = _plan_product(
                plan, feed_type, feed_product, existing_type, existing_products, currencies
            )
            for target in feed_product.addon_of:
                kind = feed_kinds.get(target) or known_kinds.get(target)
                if kind is None:
                    plan.problems.append(
                        f"Product {feed_product.code}: no product {target} to attach to."
                    )
                elif kind != ProductKind.PRIMARY:
                    plan.problems.append(
                        f"Product {feed_product.code}: {target} is not a primary product, so "
                        "an add-on cannot attach to it."
                    )
            plan.products.append(step)
            if progress is not None:
                progress.advance()
    return plan


def _plan_product(
    plan: SyncPlan,
    feed_type: FeedType,
    feed_product: FeedProduct,
    existing_type: ProductType | None,
    existing_products: dict[str, Product],
    currencies: set[str],
) -> ProductStep:
    where = f"Product {feed_product.code}"
    existing = existing_products.get(feed_product.code)
    changes: dict[str, Any] = {}
    attachments_changed = False
    if existing is not None:
        if existing_type is None or existing.product_type_id != existing_type.pk:
            current = existing.product_type.code if existing.product_type else "no product type"
            plan.problems.append(
                f"{where}: it already exists under {current}, not {feed_type.code}."
            )
        if existing.kind != feed_product.kind:
            plan.problems.append(
                f"{where}: it is {KIND_PHRASES[existing.kind]} here and the feed makes it "
                f"{KIND_PHRASES[feed_product.kind]}."
            )
        changes = _changes(existing, feed_product.fields)
        if "min_quantity" in changes and "max_quantity" not in feed_product.fields:
            maximum = existing.max_quantity
            if maximum is not None and maximum < changes["min_quantity"]:
                plan.problems.append(
                    f"{where}: the minimum quantity exceeds our maximum {maximum}."
                )
        current_targets = {p.code for p in existing.primary_products.all()}
        attachments_changed = current_targets != set(feed_product.addon_of)
    existing_plans = {
        (p.billing_cycle, p.commitment_months, p.charge_type): p
        for p in (existing.plans.all() if existing is not None else [])
    }
    plan_steps: list[PlanStep] = []
    for position, feed_plan in enumerate(feed_product.plans):
        existing_plan = existing_plans.get(feed_plan.identity)
        existing_prices = (
            {price.currency: price for price in existing_plan.prices.all()}
            if existing_plan is not None
            else {}
        )
        price_steps = []
        for feed_price in feed_plan.prices:
            if feed_price.currency not in currencies:
                plan.problems.append(
                    f"{where}, {feed_plan.label} plan: {feed_price.currency} is not an active "
                    "currency of the organization."
                )
            price_steps.append(
                PriceStep(
                    currency=feed_price.currency,
                    values=feed_price.values,
                    existing=existing_prices.get(feed_price.currency),
                )
            )
        plan_steps.append(
            PlanStep(feed=feed_plan, position=position, existing=existing_plan, prices=price_steps)
        )
    return ProductStep(
        feed=feed_product,
        type_code=feed_type.code,
        existing=existing,
        changes=changes,
        attachments_changed=attachments_changed,
        plans=plan_steps,
    )


# ------------------------------------------------------------------------------- writing


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    lines: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        if outcome == "created":
            self.created += 1
        elif outcome == "updated":
            self.updated += 1
        else:
            self.unchanged += 1


def _price_input(step: PriceStep) -> services.PriceInput:
    existing = step.existing
    return services.PriceInput(
        price=step.values["price"],
        cost_price=step.values.get("cost_price", existing.cost_price if existing else None),
        setup_fee=step.values.get("setup_fee", existing.setup_fee if existing else Decimal(0)),
        volume_discount=existing.volume_discount if existing else None,
    )


def write_sync(plan: SyncPlan, integration: Integration, actor: Any) -> Outcome:
    """Apply a checked plan through the catalogue services; the caller holds the transaction."""
    outcome = Outcome()
    for type_step in plan.types:
        result = type_step.outcome
        if type_step.existing is None:
            services.product_type_create(
                actor=actor,
                code=type_step.feed.code,
                integration=integration.code,
                **type_step.feed.fields,
            )
        elif type_step.changes:
            services.product_type_update(
                actor=actor, product_type=type_step.existing, **type_step.changes
            )
        outcome.count(result)
        outcome.lines.append(f"Product type {type_step.feed.code}: {result}.")

    types = {
        t.code: t for t in ProductType.objects.filter(code__in=[s.feed.code for s in plan.types])
    }
    written: dict[str, Product] = {}
    # Primary products first: an add-on of the same run attaches to them.
    ordered = sorted(plan.products, key=lambda step: step.feed.kind != ProductKind.PRIMARY)
    for step in ordered:
        primaries = _primaries(step.feed.addon_of, written)
        product = step.existing
        result = step.outcome
        if product is None:
            product = services.product_create(
                actor=actor,
                primary_products=primaries,
                kind=step.feed.kind,
                code=step.feed.code,
                product_type=types[step.type_code],
                **step.feed.fields,
            )
        elif step.changes or step.attachments_changed:
            services.product_update(
                actor=actor,
                product=product,
                primary_products=primaries if step.attachments_changed else None,
                **step.changes,
            )
        written[product.code] = product
        for plan_step in step.plans:
            _write_plan(actor, product, plan_step)
        outcome.count(result)
        detail = f" ({step.describe()})" if result == "updated" else ""
        outcome.lines.append(f"Product {step.feed.code}: {result}{detail}.")
    return outcome


def _primaries(codes: tuple[str, ...], written: dict[str, Product]) -> list[Product]:
    missing = [code for code in codes if code not in written]
    found = dict(written)
    found.update({p.code: p for p in Product.objects.filter(code__in=missing)})
    return [found[code] for code in codes]


def _write_plan(actor: Any, product: Product, step: PlanStep) -> None:
    if step.existing is None:
        services.plan_create(
            actor=actor,
            product=product,
            prices={price.currency: _price_input(price) for price in step.prices},
            billing_cycle=step.feed.billing_cycle,
            commitment_months=step.feed.commitment_months,
            charge_type=step.feed.charge_type,
            position=step.position,
        )
        return
    for price in step.prices:
        if price.changed:
            services.price_set(
                actor=actor, plan=step.existing, currency=price.currency, price=_price_input(price)
            )


# ------------------------------------------------------------------------------ running


def _claim(run_id: int) -> bool:
    """Queued to running with a conditional update: a redelivered task finds nothing to do."""
    return bool(
        GsdRun.objects.filter(pk=run_id, status=GsdRunStatus.QUEUED).update(
            status=GsdRunStatus.RUNNING, started_at=timezone.now(), processed_items=0
        )
    )


def _line(level: str, message: str) -> dict[str, str]:
    return {"at": timezone.now().isoformat(timespec="seconds"), "level": level, "message": message}


def _note(run: GsdRun, message: str, level: str = "info") -> None:
    run.log = [*run.log, _line(level, message)][-MAX_LOG_LINES:]
    GsdRun.objects.filter(pk=run.pk).update(log=run.log, updated_at=timezone.now())


def _finish(run: GsdRun, *, status: str, lines: list[dict[str, str]], **fields: Any) -> None:
    log = [*run.log, *lines]
    if len(log) > MAX_LOG_LINES:
        dropped = len(log) - MAX_LOG_LINES + 1
        log = [*log[: MAX_LOG_LINES - 1], _line("info", f"… {dropped} more lines not kept.")]
    values = {"status": status, "finished_at": timezone.now(), "log": log, **fields}
    GsdRun.objects.filter(pk=run.pk).update(**values, updated_at=timezone.now())
    for name, value in values.items():
        setattr(run, name, value)
    emit_event(
        f"gsd_run.{status}",
        actor=run.requested_by,
        aggregate=run,
        payload={
            "integration": run.integration.code,
            "product_type": run.product_type_code,
            "created": run.created_count,
            "updated": run.updated_count,
            "unchanged": run.skipped_count,
            "errors": run.error_count,
        },
    )


@transaction.atomic
def _fail(run: GsdRun, reason: str, problems: Iterable[str] = ()) -> None:
    """End the run failed; every path here has written nothing to the catalogue."""
    reason = f"{reason} Nothing was changed."
    problems = list(problems)
    lines = [_line("error", problem) for problem in problems[:MAX_PROBLEMS_KEPT]]
    if len(problems) > MAX_PROBLEMS_KEPT:
        lines.append(_line("error", f"… and {len(problems) - MAX_PROBLEMS_KEPT} more problems."))
    lines.append(_line("error", reason))
    _finish(
        run,
        status=GsdRunStatus.FAILED,
        lines=lines,
        failure_reason=reason,
        error_count=max(1, len(problems)),
        created_count=0,
        updated_count=0,
        skipped_count=0,
    )


def gsd_execute(*, run_id: int) -> GsdRun:
    """Run a queued GSD run (the Celery task's body); safe to call twice for one run."""
    if not _claim(run_id):
        return GsdRun.objects.get(pk=run_id)
    run = GsdRun.objects.select_related("integration", "requested_by").get(pk=run_id)
    try:
        _execute(run)
    except Exception as error:
        # A bug must not leave the run "running" and the integration blocked until the
        # stale cut-off; the write transaction, if any, is already rolled back.
        logger.exception("GSD run %s failed", run.pk)
        _fail(run, f"The run stopped on an unexpected error ({error}).")
    return run


def _execute(run: GsdRun) -> None:
    integration = run.integration
    connector = get_connector(integration.connector)
    if connector is None or not integration.is_active:
        _fail(run, "The integration is inactive or its connector is gone.")
        return
    _note(
        run,
        f"Fetching the service definitions of {integration.name} from {integration.endpoint_url}.",
    )
    try:
        feed = connector.fetch(integration)
    except FeedError as error:
        _fail(run, error.summary, error.problems)
        return
    if run.product_type_code:
        feed = feed.only(run.product_type_code)
        if not feed.product_types:
            _fail(
                run,
                f"The feed has no product type {run.product_type_code}.",
            )
            return
    total = len(feed.product_types) + feed.product_count
    run.total_items = total
    GsdRun.objects.filter(pk=run.pk).update(total_items=total)
    _note(
        run,
        f"The feed is well-formed: {len(feed.product_types)} product type(s), "
        f"{feed.product_count} product(s). Checking them against the catalogue.",
    )
    sync = plan_sync(feed, integration, _Progress(run))
    if sync.problems:
        _fail(run, _problem_summary(len(sync.problems)), sync.problems)
        return
    try:
        with transaction.atomic():
            outcome = write_sync(sync, integration, run.requested_by)
            summary = (
                f"Done: {outcome.created} created, {outcome.updated} updated, "
                f"{outcome.unchanged} unchanged."
            )
            _finish(
                run,
                status=GsdRunStatus.COMPLETED,
                lines=[*(_line("info", line) for line in outcome.lines), _line("info", summary)],
                processed_items=total,
                created_count=outcome.created,
                updated_count=outcome.updated,
                skipped_count=outcome.unchanged,
                error_count=0,
            )
    except (ValidationError, DatabaseError) as error:
        # The catalogue changed between the check and the write (a code taken meanwhile)
        # or a service refused a value: the transaction is gone, so nothing was written.
        logger.warning("GSD run %s refused while writing: %s", run.pk, error)
        reasons = error.messages if isinstance(error, ValidationError) else [str(error)]
        _fail(run, "The catalogue refused the feed.", reasons)
