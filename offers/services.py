"""Every write of the Offers module: statuses, offers and items, copy, share, respond, convert.

Lines are priced with the orders' resolver call (``orders.services.price_line``) and
totalled with ``orders.totals``, so an offer and the order it becomes agree to the cent.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from bss.core.audit import acting_as
from bss.core.consent import record_consent
from bss.core.events import emit_event
from bss.core.models import ConsentRecord
from bss.core.numbering import next_number
from bss.setup.fields.values import account_context_of, validate_custom_data
from catalogue.models import PriceList, Product, ProductPlan
from offers.models import Offer, OfferItem, OfferStatus, OfferStatusType, OfferTemplate, Response
from orders import services as order_services
from orders.models import Order
from orders.totals import compute_totals

LINK_SALT = "offers.share-link"
DEFAULT_VALIDITY_DAYS = 30
# A shared link never lives longer than this, even for an offer valid for a year.
LINK_LIFETIME_DAYS = 60
OFFER_FIELDS = (
    "name",
    "billing_account",
    "price_list",
    "billing_plan",
    "offer_date",
    "valid_until",
    "owner",
    "permission_rule",
    "terms",
    "notes",
)
ITEM_FIELDS = ("quantity", "unit_price", "discount_percent", "friendly_name", "parent_item")
STATUS_FIELDS = ("name", "status_type", "is_active", "is_default", "is_draft", "color", "position")

# Offer status transitions, by type. Lost offers are final; converted offers too.
TRANSITIONS: dict[str, frozenset[str]] = {
    OfferStatusType.IN_PROGRESS: frozenset(
        {OfferStatusType.IN_PROGRESS, OfferStatusType.ACCEPTED, OfferStatusType.LOST}
    ),
    OfferStatusType.ACCEPTED: frozenset({OfferStatusType.IN_PROGRESS, OfferStatusType.LOST}),
    OfferStatusType.LOST: frozenset(),
}


def offer_payload(offer: Offer, **extra: Any) -> dict[str, Any]:
    return {
        "offer_id": offer.pk,
        "number": offer.number,
        "account_id": offer.account_id,
        "status": offer.status.name,
        **extra,
    }


# ------------------------------------------------------------------------------ statuses


def default_status(status_type: str) -> OfferStatus:
    found = (
        OfferStatus.objects.filter(status_type=status_type, is_active=True, is_draft=False)
        .order_by("-is_default", "position", "pk")
        .first()
    )
    if found is None:
        raise ValidationError(
            _("There is no active offer status of type %(type)s.")
            % {"type": OfferStatusType(status_type).label}
        )
    return found


def starting_status() -> OfferStatus:
    """New offers start in a "not yet sent" status if there is one, else the default in-progress."""
    draft = (
        OfferStatus.objects.filter(
            status_type=OfferStatusType.IN_PROGRESS, is_active=True, is_draft=True
        )
        .order_by("position", "pk")
        .first()
    )
    return draft or default_status(OfferStatusType.IN_PROGRESS)


def _check_one_active_of_each_type(changed: OfferStatus | None, *, deleting: bool = False) -> None:
    for status_type in OfferStatusType.values:
        remaining = OfferStatus.objects.filter(status_type=status_type, is_active=True)
        if changed is not None and changed.pk:
            remaining = remaining.exclude(pk=changed.pk)
        stays = (
            changed is not None
            and not deleting
            and changed.is_active
            and changed.status_type == status_type
        )
        if not stays and not remaining.exists():
            raise ValidationError(
                {
                    "is_active": _("At least one active status of type %(type)s must remain.")
                    % {"type": OfferStatusType(status_type).label}
                }
            )


def _save_offer_status(status: OfferStatus) -> OfferStatus:
    if status.is_draft and status.status_type != OfferStatusType.IN_PROGRESS:
        raise ValidationError(
            {"is_draft": _("Only an in-progress status can mean 'not yet sent'.")}
        )
    if status.is_draft and status.is_default:
        raise ValidationError({"is_default": _("A 'not yet sent' status cannot be the default.")})
    if status.is_default and not status.is_active:
        raise ValidationError({"is_default": _("The default status must be active.")})
    _check_one_active_of_each_type(status)
    if OfferStatus.objects.filter(name__iexact=status.name).exclude(pk=status.pk).exists():
        raise ValidationError({"name": _("Another offer status has this name.")})
    if status.is_default:
        OfferStatus.objects.filter(status_type=status.status_type, is_default=True).exclude(
            pk=status.pk
        ).update(is_default=False)
    status.save()
    return status


@transaction.atomic
def offer_status_create(*, actor: Any, **fields: Any) -> OfferStatus:
    with acting_as(actor):
        return _save_offer_status(
            OfferStatus(**{k: v for k, v in fields.items() if k in STATUS_FIELDS})
        )


@transaction.atomic
def offer_status_update(*, actor: Any, status: OfferStatus, **fields: Any) -> OfferStatus:
    with acting_as(actor):
        status = OfferStatus.objects.select_for_update().get(pk=status.pk)
        for name, value in fields.items():
            if name in STATUS_FIELDS:
                setattr(status, name, value)
        return _save_offer_status(status)


@transaction.atomic
def offer_status_delete(*, actor: Any, status: OfferStatus) -> None:
    with acting_as(actor):
        status = OfferStatus.objects.select_for_update().get(pk=status.pk)
        _check_one_active_of_each_type(status, deleting=True)
        if status.offers.exists():
            raise ValidationError(
                _("%(name)s is used by offers; deactivate it instead.") % {"name": status}
            )
        status.delete()


# -------------------------------------------------------------------------------- offers


def lock_offer(offer: Offer) -> Offer:
    # No join while locking (see orders.services.lock_order).
    return Offer.objects.select_for_update().get(pk=offer.pk)


def _require_editable(offer: Offer) -> None:
    if offer.converted_order_id is not None:
        raise ValidationError(
            _("Offer %(number)s was converted to an order and can no longer change.")
            % {"number": offer.number}
        )
    if offer.status.status_type == OfferStatusType.LOST:
        raise ValidationError(
            _("Offer %(number)s is lost and can no longer change.") % {"number": offer.number}
        )


def _check_dates(offer_date: date, valid_until: date) -> None:
    if valid_until < offer_date:
        raise ValidationError({"valid_until": _("An offer cannot expire before its date.")})


def _check_price_list(price_list: PriceList | None, currency: str) -> None:
    if price_list is not None and price_list.currency != currency:
        raise ValidationError(
            {
                "price_list": _("The price list %(name)s is in %(list)s, the offer in %(offer)s.")
                % {"name": price_list.name, "list": price_list.currency, "offer": currency}
            }
        )


@transaction.atomic
def offer_create(
    *,
    actor: Any,
    account: Account,
    billing_account: Account | None = None,
    name: str = "",
    price_list: PriceList | None = None,
    billing_plan: str = Offer.BillingPlan.MONTHLY,
    offer_date: date | None = None,
    valid_until: date | None = None,
    owner: Any = None,
    permission_rule: Any = None,
    terms: str = "",
    notes: str = "",
    custom_data: dict[str, Any] | None = None,
) -> Offer:
    with acting_as(actor):
        billing_account = billing_account or order_services.default_billing_account(account)
        order_services.check_billing_account(account, billing_account)
        currency = billing_account.currency
        _check_price_list(price_list, currency)
        offer_date = offer_date or timezone.localdate()
        valid_until = valid_until or offer_date + timedelta(days=DEFAULT_VALIDITY_DAYS)
        _check_dates(offer_date, valid_until)
        if billing_plan not in Offer.BillingPlan.values:
            raise ValidationError({"billing_plan": _("Choose monthly, annual or triennial.")})
        cleaned_custom_data = validate_custom_data(
            "offer", custom_data or {}, account_context=account_context_of(account)
        )
        number = next_number("offers.offer", prefix="OFF-")
        return Offer.objects.create(
            number=number,
            name=(name or "").strip() or f"{account.name} {number}",
            account=account,
            billing_account=billing_account,
            currency=currency,
            price_list=price_list,
            billing_plan=billing_plan,
            offer_date=offer_date,
            valid_until=valid_until,
            status=starting_status(),
            owner=owner or (actor if getattr(actor, "is_authenticated", False) else account.owner),
            permission_rule=permission_rule,
            terms=terms or "",
            notes=notes or "",
            custom_data=cleaned_custom_data,
        )


@transaction.atomic
def offer_update(
    *, actor: Any, offer: Offer, custom_data: dict[str, Any] | None = None, **fields: Any
) -> Offer:
    with acting_as(actor):
        offer = lock_offer(offer)
        _require_editable(offer)
        changed = []
        for name, value in fields.items():
            if name not in OFFER_FIELDS:
                raise ValidationError({name: _("This field cannot be changed here.")})
            if name == "name":
                value = (value or "").strip() or offer.name
            if name in ("terms", "notes"):
                value = value or ""
            if getattr(offer, name) != value:
                setattr(offer, name, value)
                changed.append(name)
        if "billing_account" in changed:
            order_services.check_billing_account(offer.account, offer.billing_account)
            if offer.billing_account.currency != offer.currency and offer.items.exists():
                raise ValidationError(
                    {"billing_account": _("The offer has items priced in another currency.")}
                )
            offer.currency = offer.billing_account.currency
            changed.append("currency")
        _check_price_list(offer.price_list, offer.currency)
        _check_dates(offer.offer_date, offer.valid_until)
        if custom_data is not None:
            new_custom_data = validate_custom_data(
                "offer",
                custom_data,
                account_context=account_context_of(offer.account),
                existing=offer.custom_data,
            )
            if new_custom_data != offer.custom_data:
                offer.custom_data = new_custom_data
                changed.append("custom_data")
        if changed:
            offer.save(update_fields=[*changed, "updated_at"])
        return offer


@transaction.atomic
def offer_delete(*, actor: Any, offer: Offer) -> None:
    with acting_as(actor):
        offer = lock_offer(offer)
        if offer.converted_order_id is not None:
            raise ValidationError(
                _("Offer %(number)s was converted to an order and cannot be deleted.")
                % {"number": offer.number}
            )
        offer.delete()


# --------------------------------------------------------------------------------- items


def refresh_totals(offer: Offer) -> Offer:
    items = list(offer.items.select_related("product", "plan"))
    totals = compute_totals(items, currency=offer.currency, billing_account=offer.billing_account)
    offer.net_total = totals.net_total
    offer.discount_total = totals.discount_total
    offer.tax_total = totals.tax_total
    offer.gross_total = totals.gross_total
    offer.monthly_run_rate = totals.monthly_run_rate
    offer.save(
        update_fields=[
            "net_total",
            "discount_total",
            "tax_total",
            "gross_total",
            "monthly_run_rate",
            "updated_at",
        ]
    )
    return offer


@transaction.atomic
def offer_item_add(
    *,
    actor: Any,
    offer: Offer,
    product: Product,
    plan: ProductPlan,
    quantity: int = 1,
    unit_price: Decimal | None = None,
    discount_percent: Decimal = Decimal(0),
    friendly_name: str = "",
    parent_item: OfferItem | None = None,
    priced_like: Any = None,
) -> OfferItem:
    with acting_as(actor):
        offer = lock_offer(offer)
        _require_editable(offer)
        discount_percent = Decimal(discount_percent or 0)
        order_services.check_line_values(
            order=offer,
            product=product,
            plan=plan,
            quantity=quantity,
            discount_percent=discount_percent,
            parent_item=parent_item,
            action="new",
        )
        last = offer.items.order_by("-position").values_list("position", flat=True).first()
        item = OfferItem(
            offer=offer,
            position=(last or 0) + 1,
            parent_item=parent_item,
            product=product,
            plan=plan,
            quantity=quantity,
            discount_percent=discount_percent,
            friendly_name=friendly_name or "",
        )
        if priced_like is not None:
            order_services.copy_price(item, priced_like)
        else:
            order_services.price_line(
                item, actor=actor, record=offer, on_date=offer.offer_date, unit_price=unit_price
            )
        item.save()
        refresh_totals(offer)
        return item


@transaction.atomic
def offer_item_update(*, actor: Any, item: OfferItem, **fields: Any) -> OfferItem:
    with acting_as(actor):
        offer = lock_offer(item.offer)
        _require_editable(offer)
        item = (
            OfferItem.objects.select_for_update().select_related("product", "plan").get(pk=item.pk)
        )
        unknown = set(fields) - set(ITEM_FIELDS)
        if unknown:
            raise ValidationError(
                {name: _("This field cannot be changed here.") for name in unknown}
            )
        unit_price = fields.pop("unit_price", item.unit_price if item.is_price_overridden else None)
        for name, value in fields.items():
            setattr(item, name, value)
        item.discount_percent = Decimal(item.discount_percent or 0)
        order_services.check_line_values(
            order=offer,
            product=item.product,
            plan=item.plan,
            quantity=item.quantity,
            discount_percent=item.discount_percent,
            parent_item=item.parent_item,
            action="new",
        )
        order_services.price_line(
            item, actor=actor, record=offer, on_date=offer.offer_date, unit_price=unit_price
        )
        item.save()
        refresh_totals(offer)
        return item


@transaction.atomic
def offer_item_remove(*, actor: Any, item: OfferItem) -> Offer:
    with acting_as(actor):
        offer = lock_offer(item.offer)
        _require_editable(offer)
        item.delete()
        return refresh_totals(offer)


# ------------------------------------------------------------------------ status, copy


@transaction.atomic
def offer_set_status(*, actor: Any, offer: Offer, status: OfferStatus) -> Offer:
    with acting_as(actor):
        offer = lock_offer(offer)
        _require_editable(offer)
        if not status.is_active:
            raise ValidationError(
                {"status": _("The status %(name)s is not active.") % {"name": status}}
            )
        if (
            status.pk != offer.status_id
            and status.status_type not in TRANSITIONS[offer.status.status_type]
        ):
            raise ValidationError(
                {
                    "status": _("An offer cannot go from %(current)s to %(target)s.")
                    % {"current": offer.status, "target": status}
                }
            )
        previous_type = offer.status.status_type
        offer.status = status
        offer.save(update_fields=["status", "updated_at"])
        if status.status_type != previous_type and status.status_type == OfferStatusType.ACCEPTED:
            emit_event(
                "offer.accepted",
                actor=actor,
                aggregate=offer,
                payload=offer_payload(offer, by="staff"),
            )
        if status.status_type != previous_type and status.status_type == OfferStatusType.LOST:
            emit_event(
                "offer.declined",
                actor=actor,
                aggregate=offer,
                payload=offer_payload(offer, by="staff"),
            )
        return offer


@transaction.atomic
def offer_copy(*, actor: Any, offer: Offer) -> Offer:
    """A new offer with the same account, terms and lines, priced as the original was."""
    with acting_as(actor):
        today = timezone.localdate()
        validity = max((offer.valid_until - offer.offer_date).days, 1)
        copy = offer_create(
            actor=actor,
            account=offer.account,
            billing_account=offer.billing_account,
            name=_("%(name)s (copy)") % {"name": offer.name},
            price_list=offer.price_list,
            billing_plan=offer.billing_plan,
            offer_date=today,
            valid_until=today + timedelta(days=validity),
            permission_rule=offer.permission_rule,
            terms=offer.terms,
            notes=offer.notes,
            custom_data=dict(offer.custom_data or {}),
        )
        copy.copied_from = offer
        with acting_as(actor):
            copy.save(update_fields=["copied_from"])
        created: dict[int, OfferItem] = {}
        for line in offer.items.order_by("parent_item_id", "position").select_related(
            "product", "plan"
        ):
            created[line.pk] = offer_item_add(
                actor=actor,
                offer=copy,
                product=line.product,
                plan=line.plan,
                quantity=line.quantity,
                discount_percent=line.discount_percent,
                friendly_name=line.friendly_name,
                parent_item=created.get(line.parent_item_id) if line.parent_item_id else None,
                priced_like=line,
            )
        copy.refresh_from_db()
        return copy


# -------------------------------------------------------------------------- sharing


def link_token(offer: Offer) -> str:
    return signing.dumps({"offer": offer.pk, "key": offer.link_key}, salt=LINK_SALT, compress=True)


@dataclass(frozen=True)
class LinkLookup:
    offer: Offer | None
    is_expired: bool = False


def offer_from_token(token: str) -> LinkLookup:
    """The offer a public link opens; a bad signature or a revoked key opens nothing."""
    try:
        data = signing.loads(token, salt=LINK_SALT)
    except signing.BadSignature:
        return LinkLookup(None)
    offer = (
        Offer.objects.select_related("account", "billing_account", "status", "owner")
        .filter(pk=data.get("offer"))
        .first()
    )
    if offer is None or not offer.link_key or offer.link_key != data.get("key"):
        return LinkLookup(None)
    expired = offer.link_expires_at is None or offer.link_expires_at <= timezone.now()
    return LinkLookup(offer, is_expired=expired)


def _link_expiry(offer: Offer) -> datetime:
    """The end of the offer's last valid day, but no later than the configured link lifetime."""
    end_of_validity = timezone.make_aware(
        datetime.combine(offer.valid_until + timedelta(days=1), time.min)
    )
    longest = timezone.now() + timedelta(days=LINK_LIFETIME_DAYS)
    return min(end_of_validity, longest)


@dataclass(frozen=True)
class ShareResult:
    offer: Offer
    link: str
    recipients: list[str]


@transaction.atomic
def offer_share(
    *,
    actor: Any,
    offer: Offer,
    contacts: list[Any] = (),  # type: ignore[assignment]
    create_link: bool = True,
    message: str = "",
    base_url: str | None = None,
) -> ShareResult:
    """Share the offer: a signed, expiring link and/or an email with the PDF to contacts.

    A "not yet sent" offer moves to the default in-progress status. The email is the
    notification of the ``offer.shared`` event, made after the commit, so a rolled-back
    share sends nothing.
    """
    with acting_as(actor):
        offer = lock_offer(offer)
        _require_editable(offer)
        if offer.status.status_type != OfferStatusType.IN_PROGRESS:
            raise ValidationError(
                _("Only an offer in progress can be shared; this one is %(status)s.")
                % {"status": offer.status.name}
            )
        if offer.valid_until < timezone.localdate():
            raise ValidationError(
                {"valid_until": _("The offer has expired; extend its validity first.")}
            )
        if not offer.items.exists():
            raise ValidationError(_("Add at least one item before sharing the offer."))
        recipients = [contact.email for contact in contacts]
        foreign = [contact for contact in contacts if contact.account_id != offer.account_id]
        if foreign:
            raise ValidationError(
                {
                    "contacts": _("%(name)s is not a contact of %(account)s.")
                    % {"name": foreign[0], "account": offer.account.name}
                }
            )
        if not recipients and not create_link:
            raise ValidationError(_("Choose contacts to email, or create a link, or both."))
        update = ["shared_at", "updated_at"]
        if offer.status.is_draft:
            offer.status = default_status(OfferStatusType.IN_PROGRESS)
            update.append("status")
        offer.shared_at = timezone.now()
        if create_link or recipients:
            if not offer.link_key:
                offer.link_key = secrets.token_urlsafe(16)
                update.append("link_key")
            offer.link_expires_at = _link_expiry(offer)
            update.append("link_expires_at")
        offer.save(update_fields=update)
        link = public_url(offer, base_url=base_url)
        # The notification "offer-shared" (notifications/system.py) is the one email: it
        # goes to these recipients, after commit, through the email preferences and log.
        emit_event(
            "offer.shared",
            actor=actor,
            aggregate=offer,
            payload=offer_payload(
                offer,
                recipients=recipients,
                message=message.strip(),
                link=link,
                link_expires_at=offer.link_expires_at.isoformat(),
            ),
        )
        return ShareResult(offer=offer, link=link, recipients=recipients)


def public_url(offer: Offer, *, base_url: str | None = None) -> str:
    from django.urls import reverse

    base = (base_url or settings.SITE_URL).rstrip("/")
    return base + reverse("offers:public", kwargs={"token": link_token(offer)})


@transaction.atomic
def offer_revoke_link(*, actor: Any, offer: Offer) -> Offer:
    with acting_as(actor):
        offer = lock_offer(offer)
        offer.link_key = ""
        offer.link_expires_at = None
        offer.save(update_fields=["link_key", "link_expires_at", "updated_at"])
        return offer


@transaction.atomic
def offer_respond(
    *,
    offer: Offer,
    response: str,
    name: str,
    ip_address: str | None,
    user_agent: str = "",
    note: str = "",
) -> Offer:
    """The customer accepts or declines through the public link (no signed-in user)."""
    offer = lock_offer(offer)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Type your full name to sign the response.")})
    if response not in Response.values:
        raise ValidationError({"response": _("Accept or decline the offer.")})
    if offer.response:
        raise ValidationError(
            _("This offer was already %(response)s on %(when)s.")
            % {
                "response": offer.get_response_display().lower(),
                "when": timezone.localtime(offer.responded_at).strftime("%Y-%m-%d %H:%M"),
            }
        )
    if offer.link_expires_at is None or offer.link_expires_at <= timezone.now():
        raise ValidationError(_("This link has expired; ask your contact for a new one."))
    if (
        offer.converted_order_id is not None
        or offer.status.status_type != OfferStatusType.IN_PROGRESS
    ):
        raise ValidationError(_("This offer is no longer open for a response."))
    accepted = response == Response.ACCEPTED
    offer.status = default_status(OfferStatusType.ACCEPTED if accepted else OfferStatusType.LOST)
    offer.response = response
    offer.responded_at = timezone.now()
    offer.responder_name = name[:200]
    offer.responder_ip = ip_address or None
    offer.response_note = (note or "").strip()
    offer.save(
        update_fields=[
            "status",
            "response",
            "responded_at",
            "responder_name",
            "responder_ip",
            "response_note",
            "updated_at",
        ]
    )
    payload = offer_payload(offer, by="customer", name=offer.responder_name)
    if accepted:
        record_consent(
            kind=ConsentRecord.Kind.OFFER_ACCEPTANCE,
            subject=_("Offer %(number)s: %(name)s") % {"number": offer.number, "name": offer.name},
            account_id=offer.account_id,
            account_name=offer.account.name,
            contact_name=offer.responder_name,
            reference=offer.number,
            source="offer link",
            ip_address=ip_address,
            user_agent=user_agent,
            accepted_at=offer.responded_at,
        )
        emit_event("offer.accepted", aggregate=offer, payload=payload)
    else:
        emit_event("offer.declined", aggregate=offer, payload=payload)
    return offer


# ------------------------------------------------------------------------------ convert


@transaction.atomic
def offer_convert(*, actor: Any, offer: Offer) -> Order:
    """Turn an accepted offer into an order with the same lines and prices, exactly once."""
    with acting_as(actor):
        offer = lock_offer(offer)
        if offer.converted_order_id is not None:
            raise ValidationError(
                _("Offer %(number)s was already converted to order %(order)s.")
                % {"number": offer.number, "order": offer.converted_order.number}
            )
        if offer.status.status_type != OfferStatusType.ACCEPTED:
            raise ValidationError(
                _("Only an accepted offer can be converted; this one is %(status)s.")
                % {"status": offer.status.name}
            )
        if not offer.items.exists():
            raise ValidationError(_("The offer has no items to order."))
        order = order_services.order_create(
            actor=actor,
            account=offer.account,
            billing_account=offer.billing_account,
            name=offer.name,
            price_list=offer.price_list,
            owner=offer.owner,
            permission_rule=offer.permission_rule,
            notes=_("From offer %(number)s.") % {"number": offer.number},
        )
        order_services.copy_items(
            actor=actor, order=order, lines=list(offer.items.select_related("product", "plan"))
        )
        offer.converted_order = order
        offer.converted_at = timezone.now()
        # Under the actor again: the nested order services ended auditlog's actor context.
        with acting_as(actor):
            offer.save(update_fields=["converted_order", "converted_at", "updated_at"])
        emit_event(
            "offer.converted",
            actor=actor,
            aggregate=offer,
            payload=offer_payload(offer, order_id=order.pk, order_number=order.number),
        )
        order.refresh_from_db()
        return order


# ------------------------------------------------------------------------------ template


def offer_template() -> OfferTemplate:
    found = OfferTemplate.objects.filter(pk=OfferTemplate.SINGLETON_PK).first()
    return found or OfferTemplate(pk=OfferTemplate.SINGLETON_PK)


TEMPLATE_FIELDS = (
    "primary_color",
    "accent_color",
    "show_logo",
    "header_text",
    "footer_text",
    "terms",
    "show_signature_block",
)


@transaction.atomic
def offer_template_update(*, actor: Any, **fields: Any) -> OfferTemplate:
    with acting_as(actor):
        template = offer_template()
        for name, value in fields.items():
            if name not in TEMPLATE_FIELDS:
                raise ValidationError({name: _("This field cannot be changed here.")})
            if name.endswith("_color") and not _is_hex_color(value):
                raise ValidationError({name: _("Enter a colour like #1f3a5f.")})
            setattr(template, name, value)
        template.save()
        return template


def _is_hex_color(value: str) -> bool:
    return (
        isinstance(value, str)
        and len(value) == 7
        and value.startswith("#")
        and all(char in "0123456789abcdefABCDEF" for char in value[1:])
    )
