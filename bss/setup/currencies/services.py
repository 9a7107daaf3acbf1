"""Every write to currencies and exchange rates goes through here."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import pycountry
from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_name, is_currency
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.setup.models import Currency, ExchangeRate, Organization
from bss.setup.organization.selectors import forget_cached_organization

RATE_PLACES = Decimal("0.00000001")
# ISO codes that name no money (no currency, test transactions).
NOT_MONEY = {"XXX", "XTS"}


def _validated_code(code: str) -> str:
    code = (code or "").strip().upper()
    if (
        len(code) != 3
        or not code.isalpha()
        or code in NOT_MONEY
        or not is_currency(code)
        or pycountry.currencies.get(alpha_3=code) is None
    ):
        raise ValidationError(
            {"code": _("%(code)s is not an ISO 4217 currency code.") % {"code": code or "—"}}
        )
    return code


def _validated_culture(culture: str) -> str:
    culture = (culture or "").strip().replace("-", "_")
    try:
        Locale.parse(culture)
    except (UnknownLocaleError, ValueError, TypeError) as error:
        raise ValidationError(
            {
                "culture": _("%(culture)s is not a known locale, e.g. el_GR.")
                % {"culture": culture or "—"}
            }
        ) from error
    return culture


def _validated_rate(rate: Decimal) -> Decimal:
    if isinstance(rate, bool) or not isinstance(rate, Decimal | int):
        raise ValidationError({"rate": _("The rate must be a decimal number.")})
    rate = Decimal(rate)
    if not rate.is_finite() or rate <= 0:
        raise ValidationError({"rate": _("The rate must be greater than zero.")})
    if rate != rate.quantize(RATE_PLACES):
        raise ValidationError({"rate": _("The rate may have at most 8 decimal places.")})
    return rate


def _home_currency_id() -> int | None:
    return Organization.objects.filter(pk=1).values_list("home_currency_id", flat=True).first()


@transaction.atomic
def currency_create(
    *, actor: Any, code: str, name: str = "", culture: str = "en_US", is_active: bool = True
) -> Currency:
    code = _validated_code(code)
    if Currency.objects.filter(code=code).exists():
        raise ValidationError({"code": _("%(code)s is already in the list.") % {"code": code}})
    culture = _validated_culture(culture)
    name = (name or "").strip() or get_currency_name(code, locale="en")
    with acting_as(actor):
        currency = Currency.objects.create(
            code=code, name=name, culture=culture, is_active=is_active
        )
    emit_event("currency.created", actor=actor, aggregate=currency, payload={"code": code})
    return currency


@transaction.atomic
def currency_update(*, actor: Any, currency: Currency, **fields: Any) -> Currency:
    editable = {"name", "culture", "is_active"}
    unknown = set(fields) - editable
    if unknown:
        raise ValidationError(
            f"These currency fields cannot be changed: {', '.join(sorted(unknown))}"
        )
    currency = Currency.objects.select_for_update().get(pk=currency.pk)
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip() or get_currency_name(
            currency.code, locale="en"
        )
    if "culture" in fields:
        fields["culture"] = _validated_culture(fields["culture"])
    if fields.get("is_active") is False and currency.pk == _home_currency_id():
        raise ValidationError(
            {"is_active": _("The home currency cannot be deactivated; pick another home first.")}
        )
    changed = [name for name, value in fields.items() if getattr(currency, name) != value]
    if changed:
        with acting_as(actor):
            for name in changed:
                setattr(currency, name, fields[name])
            currency.save(update_fields=changed)
        emit_event(
            "currency.updated",
            actor=actor,
            aggregate=currency,
            payload={"code": currency.code, "fields": changed},
        )
        forget_cached_organization()
        transaction.on_commit(forget_cached_organization)
    return currency


def _rounded_rate(value: Decimal, *, currency: str, day: date) -> Decimal:
    rate = value.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
    if rate <= 0:
        raise ValidationError(
            {
                "home_currency": _("The %(code)s rate of %(day)s would round to zero.")
                % {"code": currency, "day": day.isoformat()}
            }
        )
    return rate


def _rebase_rates(*, old_home: Currency, new_home: Currency) -> None:
    """Re-express every stored rate against ``new_home``, date by date.

    A rate r(C, d) against the old home becomes r(C, d) / r(new home, d), where the new
    home's rate is the one valid on day d; the old home gets 1 / r(new home, d) for each
    day the new home had a rate, and the new home's own rows go (its rate is now 1).
    """
    base_rates = list(ExchangeRate.objects.filter(currency=new_home).order_by("valid_from"))
    others = list(ExchangeRate.objects.exclude(currency=new_home).select_related("currency"))
    if not others and not base_rates:
        return
    if not base_rates:
        raise ValidationError(
            {
                "home_currency": _(
                    "%(new)s has no exchange rate to %(old)s; add one first so the other rates "
                    "can be converted."
                )
                % {"new": new_home.code, "old": old_home.code}
            }
        )

    def base_on(day: date) -> Decimal:
        valid = [rate.rate for rate in base_rates if rate.valid_from <= day]
        if not valid:
            raise ValidationError(
                {
                    "home_currency": _(
                        "%(new)s has no exchange rate on or before %(day)s, the start of a "
                        "%(old)s-based rate to convert."
                    )
                    % {"new": new_home.code, "day": day.isoformat(), "old": old_home.code}
                }
            )
        return valid[-1]

    with localcontext() as context:
        context.prec = 40
        for rate in others:
            rate.rate = _rounded_rate(
                rate.rate / base_on(rate.valid_from),
                currency=rate.currency.code,
                day=rate.valid_from,
            )
            rate.save(update_fields=["rate"])
        for base in base_rates:
            ExchangeRate.objects.create(
                currency=old_home,
                valid_from=base.valid_from,
                rate=_rounded_rate(
                    Decimal(1) / base.rate, currency=old_home.code, day=base.valid_from
                ),
            )
    ExchangeRate.objects.filter(pk__in=[base.pk for base in base_rates]).delete()


@transaction.atomic
def currency_set_home(*, actor: Any, currency: Currency) -> Currency:
    """Make ``currency`` the home currency; existing rates are re-based onto it."""
    from bss.setup.organization.services import organization_create_default

    organization_create_default()
    organization = (
        Organization.objects.select_for_update(of=("self",))
        .select_related("home_currency")
        .get(pk=1)
    )
    currency = Currency.objects.get(pk=currency.pk)
    if not currency.is_active:
        raise ValidationError(
            {"home_currency": _("%(code)s is not active.") % {"code": currency.code}}
        )
    old_home = organization.home_currency
    if old_home is not None and old_home.pk == currency.pk:
        return currency
    with acting_as(actor):
        if old_home is not None:
            _rebase_rates(old_home=old_home, new_home=currency)
        else:
            ExchangeRate.objects.filter(currency=currency).delete()
        organization.home_currency = currency
        organization.save(update_fields=["home_currency", "updated_at"])
    emit_event(
        "organization.home_currency_changed",
        actor=actor,
        aggregate=organization,
        payload={"from": old_home.code if old_home else None, "to": currency.code},
    )
    forget_cached_organization()
    transaction.on_commit(forget_cached_organization)
    return currency


@transaction.atomic
def exchange_rate_set(
    *, actor: Any, currency: Currency, valid_from: date, rate: Decimal
) -> ExchangeRate:
    """The rate of ``currency`` from ``valid_from`` on; a second rate for the same day replaces the first."""
    rate = _validated_rate(rate)
    if not isinstance(valid_from, date):
        raise ValidationError({"valid_from": _("Enter the date the rate is valid from.")})
    if currency.pk == _home_currency_id():
        raise ValidationError(
            {
                "currency": _("%(code)s is the home currency; its rate is always 1.")
                % {"code": currency.code}
            }
        )
    with acting_as(actor):
        exchange_rate, created = ExchangeRate.objects.update_or_create(
            currency=currency, valid_from=valid_from, defaults={"rate": rate}
        )
    emit_event(
        "exchange_rate.set",
        actor=actor,
        aggregate=exchange_rate,
        payload={
            "currency": currency.code,
            "valid_from": valid_from.isoformat(),
            "rate": str(rate),
            "created": created,
        },
    )
    return exchange_rate


@transaction.atomic
def exchange_rate_delete(*, actor: Any, exchange_rate: ExchangeRate) -> None:
    payload = {
        "currency": exchange_rate.currency.code,
        "valid_from": exchange_rate.valid_from.isoformat(),
    }
    with acting_as(actor):
        exchange_rate.delete()
    emit_event("exchange_rate.deleted", actor=actor, payload=payload)
