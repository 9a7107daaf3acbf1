"""Rebate arithmetic: how much a period's net invoiced amount earns under a term's tiers.

Tiers are half-open ranges ``[from, to)`` of the net amount, contiguous from 0, each
with a percent. Above the upper bound of the highest tier its percent still applies.

* **scale**: each tier's percent applies to the slice of the amount inside the tier
  (0-10,000 at 3 % and 10,000-30,000 at 7 %: 25,000 earns 300 + 1,050 = 1,350);
* **continuous**: the percent of the tier the whole amount falls in applies to all of
  it (25,000 earns 7 % = 1,750).

Each tier's share is rounded half-up to the currency's minor unit and the rebate is the
sum of the rounded shares, as every total in the project is. A zero or negative net
amount earns nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from bss.core.money import quantize

HUNDRED = Decimal(100)
SCALE = "scale"
CONTINUOUS = "continuous"


@dataclass(frozen=True)
class Tier:
    from_amount: Decimal
    to_amount: Decimal | None
    percent: Decimal


def check_tiers(tiers: Sequence[Tier]) -> list[Tier]:
    """The tiers sorted, or a ValidationError naming what is wrong with them."""
    if not tiers:
        raise ValidationError({"tiers": _("A rebate term needs at least one tier.")})
    ordered = sorted(tiers, key=lambda tier: tier.from_amount)
    if ordered[0].from_amount != 0:
        raise ValidationError({"tiers": _("The first tier starts at 0.")})
    for position, tier in enumerate(ordered, start=1):
        if not Decimal(0) <= tier.percent <= HUNDRED:
            raise ValidationError(
                {"tiers": _("Tier %(n)d: the percent is between 0 and 100.") % {"n": position}}
            )
        if tier.to_amount is not None and tier.to_amount <= tier.from_amount:
            raise ValidationError(
                {"tiers": _("Tier %(n)d: “to” must be above “from”.") % {"n": position}}
            )
        if position < len(ordered):
            following = ordered[position]
            if tier.to_amount is None:
                raise ValidationError(
                    {"tiers": _("Only the last tier may be open-ended (no “to”).")}
                )
            if following.from_amount != tier.to_amount:
                raise ValidationError(
                    {
                        "tiers": _(
                            "Tiers must follow on without gaps or overlaps: tier %(n)d ends at "
                            "%(end)s, the next starts at %(start)s."
                        )
                        % {"n": position, "end": tier.to_amount, "start": following.from_amount}
                    }
                )
    return ordered


def rebate_amount(
    net_amount: Decimal, *, tiers: Sequence[Tier], mode: str, currency: str
) -> Decimal:
    """The rebate ``net_amount`` earns under ``tiers`` in ``mode`` (scale or continuous)."""
    if mode not in (SCALE, CONTINUOUS):
        raise ValueError(f"Unknown rebate mode {mode!r}.")
    ordered = check_tiers(tiers)
    if net_amount <= 0:
        return quantize(Decimal(0), currency)
    if mode == CONTINUOUS:
        reached = ordered[0]
        for tier in ordered:
            if net_amount >= tier.from_amount:
                reached = tier
        return quantize(net_amount * reached.percent / HUNDRED, currency)
    total = Decimal(0)
    for position, tier in enumerate(ordered):
        if net_amount <= tier.from_amount:
            break
        is_last = position == len(ordered) - 1
        top = net_amount if is_last or tier.to_amount is None else min(net_amount, tier.to_amount)
        total += quantize((top - tier.from_amount) * tier.percent / HUNDRED, currency)
    return total
