"""Every write to assets: create (from order execution or by hand), edit pricing, cancel, expire.

An asset is a one-off or asset-type purchase. It is billed once: creating it makes
billing record a one-time charge, keyed by the asset and its pricing version, and
invoice it on the order day or the next billing day as the account chooses. An edit of
its pricing raises the version; billing then credits the old price (a credit invoice
linked to the original debit invoice) and bills the new one over the same period.

A canceled or expired asset keeps every field read-only except its custom fields.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.selectors import billing_profile, can_order, quote_for_account
from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.money import quantize_unit_price
from bss.core.numbering import next_number
from bss.setup.fields.values import account_context_of, validate_custom_data
from catalogue.models import Product, ProductPlan, ProductTypeCategory
from catalogue.pricing import require_plan_of
from subscriptions import asset_hooks
from subscriptions.asset_hooks import AssetChange
from subscriptions.models import Asset, AssetStatus

HUNDRED = Decimal(100)
ASSET_ENTITY = "asset"


def _payload(asset: Asset, **extra: Any) -> dict[str, Any]:
    return {
        "asset_id": asset.pk,
        "code": asset.code,
        "account_id": asset.account_id,
        "status": asset.status,
        **extra,
    }


def _check_discount(discount_percent: Decimal) -> None:
    if not Decimal(0) <= discount_percent <= HUNDRED:
        raise ValidationError({"discount_percent": _("A discount is a percent from 0 to 100.")})


def _check_unit_price(unit_price: Decimal) -> None:
    if unit_price < 0:
        raise ValidationError({"unit_price": _("A unit price cannot be negative.")})


def _is_asset_product(product: Product, plan: ProductPlan) -> bool:
    product_type = product.product_type
    is_asset_type = (
        product_type is not None and product_type.type_category == ProductTypeCategory.ASSET
    )
    return is_asset_type or not plan.is_recurring


def _lock(asset: Asset) -> Asset:
    return (
        Asset.objects.select_for_update(of=("self",))
        .select_related("account", "product", "plan")
        .get(pk=asset.pk)
    )


def _require_active(asset: Asset, what: str) -> None:
    if asset.status != AssetStatus.ACTIVE:
        raise ValidationError(
            {
                "status": _(
                    "Asset %(code)s is %(status)s: only its custom fields can change, not %(what)s."
                )
                % {"code": asset.code, "status": asset.get_status_display(), "what": what}
            }
        )


def asset_create(
    *,
    actor: Any,
    account: Account,
    product: Product,
    plan: ProductPlan,
    quantity: int,
    unit_price: Decimal | None = None,
    discount_percent: Decimal = Decimal(0),
    purchase_date: date,
    start_date: date | None = None,
    expiration_date: date | None = None,
    origin_order_item_id: int | None = None,
    custom_data: dict[str, Any] | None = None,
) -> Asset:
    """Create an asset and its one-time charge; a second call for an order item returns the first."""
    if origin_order_item_id is not None:
        existing = Asset.objects.filter(origin_order_item_id=origin_order_item_id).first()
        if existing is not None:
            return existing
    require_plan_of(product, plan)
    if not _is_asset_product(product, plan):
        raise ValidationError(
            {
                "product": _(
                    "%(product)s is a recurring service: it becomes a subscription, not an asset."
                )
                % {"product": product.name}
            }
        )
    if not can_order(account):
        raise ValidationError(
            {
                "account": _("%(account)s may not order: it is inactive or ordering is off.")
                % {"account": account.name}
            }
        )
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ValidationError({"quantity": _("The quantity is a whole number of at least 1.")})
    discount_percent = Decimal(discount_percent)
    _check_discount(discount_percent)
    start = start_date or purchase_date
    if expiration_date is not None and expiration_date <= start:
        raise ValidationError(
            {"expiration_date": _("The expiration date comes after the start date.")}
        )
    if unit_price is None:
        quote = quote_for_account(
            account, product=product, plan=plan, quantity=quantity, on_date=purchase_date
        )
        unit_price = quote.unit_price
    unit_price = quantize_unit_price(Decimal(unit_price))
    _check_unit_price(unit_price)
    cleaned_custom_data = validate_custom_data(
        ASSET_ENTITY, custom_data or {}, account_context=account_context_of(account)
    )
    profile = billing_profile(account)
    with transaction.atomic(), acting_as(actor):
        asset = Asset.objects.create(
            code=next_number("asset", prefix="AST-", padding=7),
            account=account,
            billing_account_id=profile.billing_account_id,
            product=product,
            plan=plan,
            quantity=quantity,
            currency=profile.currency,
            unit_price=unit_price,
            discount_percent=discount_percent,
            purchase_date=purchase_date,
            start_date=start,
            expiration_date=expiration_date,
            origin_order_item_id=origin_order_item_id,
            custom_data=cleaned_custom_data,
        )
        asset_hooks.asset_changed(AssetChange(asset=asset, kind=asset_hooks.CREATED, actor=actor))
        emit_event("asset.created", actor=actor, aggregate=asset, payload=_payload(asset))
    return asset


def asset_edit_pricing(
    *,
    actor: Any,
    asset: Asset,
    unit_price: Decimal,
    discount_percent: Decimal,
) -> Asset:
    """Re-price an active asset: billing credits the old price and bills the new one."""
    unit_price = quantize_unit_price(Decimal(unit_price))
    discount_percent = Decimal(discount_percent)
    _check_unit_price(unit_price)
    _check_discount(discount_percent)
    with transaction.atomic(), acting_as(actor):
        asset = _lock(asset)
        _require_active(asset, _("its pricing"))
        if (asset.unit_price, asset.discount_percent) == (unit_price, discount_percent):
            raise ValidationError(
                {"unit_price": _("The new pricing is the same as the current one.")}
            )
        change = AssetChange(
            asset=asset,
            kind=asset_hooks.REPRICED,
            actor=actor,
            old_unit_price=asset.unit_price,
            old_discount_percent=asset.discount_percent,
            old_pricing_version=asset.pricing_version,
        )
        asset.unit_price = unit_price
        asset.discount_percent = discount_percent
        asset.pricing_version += 1
        asset.save(
            update_fields=["unit_price", "discount_percent", "pricing_version", "updated_at"]
        )
        asset_hooks.asset_changed(change)
        emit_event(
            "asset.repriced",
            actor=actor,
            aggregate=asset,
            payload=_payload(
                asset,
                old_unit_price=str(change.old_unit_price),
                new_unit_price=str(unit_price),
                pricing_version=asset.pricing_version,
            ),
        )
    return asset


def asset_cancel(*, actor: Any, asset: Asset, reason: str = "") -> Asset:
    """Cancel an active asset; nothing is refunded (a one-off purchase)."""
    with transaction.atomic(), acting_as(actor):
        asset = _lock(asset)
        _require_active(asset, _("its status"))
        asset.status = AssetStatus.CANCELED
        asset.save(update_fields=["status", "updated_at"])
        asset_hooks.asset_changed(
            AssetChange(
                asset=asset, kind=asset_hooks.CANCELED, actor=actor, details={"reason": reason}
            )
        )
        emit_event(
            "asset.canceled", actor=actor, aggregate=asset, payload=_payload(asset, reason=reason)
        )
    return asset


def asset_expire(*, actor: Any, asset: Asset, today: date | None = None) -> bool:
    """Expire an active asset whose expiration date has come; True if it expired now."""
    today = today or timezone.localdate()
    with transaction.atomic(), acting_as(actor):
        asset = _lock(asset)
        if asset.status != AssetStatus.ACTIVE or asset.expiration_date is None:
            return False
        if asset.expiration_date > today:
            return False
        asset.status = AssetStatus.EXPIRED
        asset.save(update_fields=["status", "updated_at"])
        emit_event("asset.expired", actor=actor, aggregate=asset, payload=_payload(asset))
    return True


def assets_expire_due(*, actor: Any = None, today: date | None = None) -> int:
    """The daily job: every active asset past its expiration date expires, once."""
    today = today or timezone.localdate()
    due = Asset.objects.filter(
        status=AssetStatus.ACTIVE, expiration_date__isnull=False, expiration_date__lte=today
    ).order_by("pk")
    return sum(
        1 for asset in list(due.only("pk")) if asset_expire(actor=actor, asset=asset, today=today)
    )


def asset_update(
    *,
    actor: Any,
    asset: Asset,
    expiration_date: date | None,
    custom_data: dict[str, Any] | None = None,
) -> Asset:
    """Change the expiration date (active assets only) and custom fields (any status)."""
    with transaction.atomic(), acting_as(actor):
        asset = _lock(asset)
        fields = ["updated_at"]
        if expiration_date != asset.expiration_date:
            _require_active(asset, _("its expiration date"))
            if expiration_date is not None and expiration_date <= asset.start_date:
                raise ValidationError(
                    {"expiration_date": _("The expiration date comes after the start date.")}
                )
            asset.expiration_date = expiration_date
            fields.append("expiration_date")
        if custom_data is not None:
            asset.custom_data = validate_custom_data(
                ASSET_ENTITY,
                custom_data,
                account_context=account_context_of(asset.account),
                existing=asset.custom_data,
            )
            fields.append("custom_data")
        asset.save(update_fields=fields)
    return asset
