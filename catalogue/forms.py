"""Forms of the catalogue pages: they parse input; the services check the rules and write.

``ServiceModelForm`` skips Django's model validation on purpose: the service validates the
whole record (and the settings it derives) and its errors come back on the named fields.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bss.setup.fields.forms import CustomFieldsFormMixin
from bss.setup.organization.selectors import home_currency_code
from catalogue import gsd, services
from catalogue.models import (
    Category,
    ChargeType,
    Integration,
    PriceList,
    PriceListItem,
    PriceMethod,
    Product,
    ProductGroup,
    ProductKind,
    ProductPlan,
    ProductType,
    Promotion,
    VolumeDiscount,
    VolumeMode,
)
from catalogue.selectors import active_currency_codes, plans_priced_in

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def currency_choices() -> list[tuple[str, str]]:
    return [(code, code) for code in active_currency_codes()]


class ServiceModelForm(forms.ModelForm):
    def _post_clean(self) -> None:
        """The service validates the record; see the module docstring."""

    def service_fields(self) -> dict[str, Any]:
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name in self._meta.fields and name not in self.m2m_names()
        }

    def m2m_names(self) -> set[str]:
        return {field.name for field in self._meta.model._meta.many_to_many}

    def system_field_rows(self) -> list[forms.BoundField]:
        return list(self)

    def custom_field_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return []


class CustomFieldsModelForm(CustomFieldsFormMixin, ServiceModelForm):
    """A catalogue form that also carries the entity's custom fields to its service."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_custom_fields(stored=self._stored_custom_data())

    def _stored_custom_data(self) -> dict[str, Any] | None:
        return None if self.instance.pk is None else dict(self.instance.custom_data or {})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.clean_custom_data(account_context=None, existing=self._stored_custom_data())
        return cleaned

    def service_fields(self) -> dict[str, Any]:
        return {**super().service_fields(), "custom_data": self.custom_data_input}


class CategoryForm(ServiceModelForm):
    class Meta:
        model = Category
        fields = ["name", "parent", "position", "description", "publish_to_storefront"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class ProductGroupForm(ServiceModelForm):
    class Meta:
        model = ProductGroup
        fields = ["name", "description", "position", "publish_to_storefront", "products"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "products": forms.SelectMultiple(attrs={"size": 8}),
        }


class ProductTypeForm(ServiceModelForm):
    class Meta:
        model = ProductType
        fields = list(services.PRODUCT_TYPE_FIELDS)
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "properties": forms.Textarea(attrs={"rows": 3}),
        }


class ProductForm(CustomFieldsModelForm):
    custom_field_entity = services.PRODUCT_ENTITY

    class Meta:
        model = Product
        fields = [
            "kind",
            "code",
            "name",
            "description",
            "product_type",
            "category",
            "unit_of_measure",
            "is_taxable",
            "min_quantity",
            "max_quantity",
            "publish_to_storefront",
            "single_subscription",
            "terms_of_use_url",
            "primary_products",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "primary_products": forms.SelectMultiple(attrs={"size": 6}),
        }
        labels = {"name": _("Name (customer-facing)")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        primaries = Product.objects.filter(kind=ProductKind.PRIMARY)
        if self.instance.pk:
            primaries = primaries.exclude(pk=self.instance.pk)
            self.fields["kind"].disabled = True
            self.fields["code"].disabled = True
        self.fields["primary_products"].queryset = primaries
        self.fields["primary_products"].help_text = _(
            "For an add-on: the primary products it attaches to."
        )


class PlanForm(ServiceModelForm):
    """A billing plan and, beside it, one price row per active currency."""

    class Meta:
        model = ProductPlan
        fields = list(services.PLAN_FIELDS)

    def __init__(self, *args: Any, prices: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["billing_day"].widget.attrs.update(min=1, max=28)
        self.currencies = active_currency_codes()
        for code in prices or {}:
            if code not in self.currencies:
                self.currencies.append(code)
        discounts = VolumeDiscount.objects.order_by("name")
        for code in self.currencies:
            existing = (prices or {}).get(code)
            self.fields[f"price_{code}"] = forms.DecimalField(
                label=_("Sell price"),
                required=False,
                min_value=Decimal(0),
                decimal_places=4,
                initial=existing.price if existing else None,
            )
            self.fields[f"cost_{code}"] = forms.DecimalField(
                label=_("Purchase price"),
                required=False,
                min_value=Decimal(0),
                decimal_places=4,
                initial=existing.cost_price if existing else None,
            )
            self.fields[f"setup_{code}"] = forms.DecimalField(
                label=_("Setup fee"),
                required=False,
                min_value=Decimal(0),
                decimal_places=4,
                initial=existing.setup_fee if existing else None,
            )
            self.fields[f"volume_{code}"] = forms.ModelChoiceField(
                label=_("Volume discount"),
                required=False,
                queryset=discounts.filter(currency=code),
                initial=existing.volume_discount_id if existing else None,
            )

    @property
    def plan_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in services.PLAN_FIELDS]

    @property
    def price_rows(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [
            (
                code,
                [self[f"{kind}_{code}"] for kind in ("price", "cost", "setup", "volume")],
            )
            for code in self.currencies
        ]

    def prices(self) -> dict[str, services.PriceInput | None]:
        """Entered prices per currency; None where the price field was left empty."""
        result: dict[str, services.PriceInput | None] = {}
        for code in self.currencies:
            price = self.cleaned_data.get(f"price_{code}")
            if price is None:
                result[code] = None
                continue
            result[code] = services.PriceInput(
                price=price,
                cost_price=self.cleaned_data.get(f"cost_{code}"),
                setup_fee=self.cleaned_data.get(f"setup_{code}") or Decimal(0),
                volume_discount=self.cleaned_data.get(f"volume_{code}"),
            )
        return result


class RelationForm(forms.Form):
    RELATIONS = [
        ("requires", _("Requires")),
        ("excludes", _("Is mutually exclusive with")),
        ("upgrades_to", _("Upgrades to")),
    ]

    relation = forms.ChoiceField(label=_("Relation"), choices=RELATIONS)
    other = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.none())

    def __init__(self, *args: Any, product: Product, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["other"].queryset = Product.objects.exclude(pk=product.pk).order_by("name")


class ComponentForm(forms.Form):
    component = forms.ModelChoiceField(label=_("Component"), queryset=Product.objects.none())
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, initial=1)

    def __init__(self, *args: Any, bundle: Product, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["component"].queryset = (
            Product.objects.exclude(kind=ProductKind.BUNDLE)
            .exclude(in_bundles__bundle=bundle)
            .order_by("name")
        )


class VolumeDiscountForm(ServiceModelForm):
    class Meta:
        model = VolumeDiscount
        fields = ["name", "mode", "currency", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"] = forms.ChoiceField(label=_("Currency"), choices=currency_choices())
        self.fields["mode"].initial = VolumeMode.SCALE


class TierForm(forms.Form):
    from_quantity = forms.IntegerField(label=_("From"), min_value=1, required=False)
    to_quantity = forms.IntegerField(label=_("To"), min_value=1, required=False)
    unit_price = forms.DecimalField(
        label=_("Unit price"), min_value=Decimal(0), decimal_places=4, required=False
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("from_quantity") is not None and cleaned.get("unit_price") is None:
            self.add_error("unit_price", _("Enter the tier's unit price."))
        return cleaned


TierFormSet = forms.formset_factory(TierForm, extra=2)


def tiers_of(formset: Any) -> list[tuple[int, int | None, Decimal]]:
    return [
        (
            form.cleaned_data["from_quantity"],
            form.cleaned_data.get("to_quantity"),
            form.cleaned_data["unit_price"],
        )
        for form in formset.forms
        if form.cleaned_data.get("from_quantity") is not None
    ]


class PromotionForm(ServiceModelForm):
    class Meta:
        model = Promotion
        fields = [
            "name",
            "description",
            "start_date",
            "end_date",
            "is_active",
            "kind",
            "cycles",
            "discount_type",
            "percent",
            "amount",
            "currency",
            "for_monthly",
            "for_annual",
            "for_triennial",
            "eligibility",
            "publish_to_storefront",
            "products",
            "prerequisite_products",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "start_date": DATE_INPUT,
            "end_date": DATE_INPUT,
            "products": forms.SelectMultiple(attrs={"size": 6}),
            "prerequisite_products": forms.SelectMultiple(attrs={"size": 6}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"] = forms.ChoiceField(
            label=_("Currency"),
            required=False,
            choices=[("", "—"), *currency_choices()],
            help_text=_("For a monetary discount only."),
        )


class PriceListForm(CustomFieldsModelForm):
    custom_field_entity = services.PRICE_LIST_ENTITY

    class Meta:
        model = PriceList
        fields = [
            "name",
            "currency",
            "valid_from",
            "valid_until",
            "is_active",
            "is_default",
            "permission_rule",
            "description",
        ]
        widgets = {
            "valid_from": DATE_INPUT,
            "valid_until": DATE_INPUT,
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = currency_choices()
        current = self.instance.currency if self.instance.pk else ""
        if current and current not in dict(choices):
            choices.append((current, current))
        self.fields["currency"] = forms.ChoiceField(label=_("Currency"), choices=choices)


class PriceListCopyForm(forms.Form):
    name = forms.CharField(label=_("Name of the copy"), max_length=150)


class PriceListItemForm(ServiceModelForm):
    class Meta:
        model = PriceListItem
        fields = ["plan", "method", "fixed_price", "percent", "cost_price", "is_visible"]

    def __init__(self, *args: Any, price_list: PriceList, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plan_field = self.fields["plan"]
        plan_field.queryset = plans_priced_in(price_list.currency)
        plan_field.label_from_instance = lambda plan: (
            f"{plan.product.name} ({plan.product.code}) · {plan.label}"
        )
        plan_field.help_text = _("Only products priced in %(currency)s can be added.") % {
            "currency": price_list.currency
        }
        if self.instance.pk:
            plan_field.disabled = True
        self.fields["method"].initial = PriceMethod.PERCENT


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_(".xlsx or .csv; one product per row, headers in the first row."),
    )
    sheet_name = forms.CharField(
        label=_("Sheet"), required=False, help_text=_("Empty = the first sheet of the workbook.")
    )
    currency = forms.ChoiceField(
        label=_("Currency"), help_text=_("Every price in the file is in this currency.")
    )
    product_type = forms.ModelChoiceField(
        label=_("Product type"), queryset=ProductType.objects.order_by("name"), required=False
    )
    charge_type = forms.ChoiceField(
        label=_("Pricing type"), choices=ChargeType.choices, initial=ChargeType.RECURRING_PREPAID
    )
    match_by_code = forms.BooleanField(label=_("Code"), required=False, initial=True)
    match_by_name = forms.BooleanField(label=_("Name"), required=False)
    match_by_type = forms.BooleanField(label=_("Product type"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = currency_choices()
        self.fields["currency"].initial = home_currency_code()

    @property
    def setting_fields(self) -> list[forms.BoundField]:
        return [
            self[name] for name in ("file", "sheet_name", "currency", "product_type", "charge_type")
        ]

    @property
    def identifier_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("match_by_code", "match_by_name", "match_by_type")]


class ImportMappingForm(forms.Form):
    """One choice per column of the file: the product field it fills, or nothing."""

    def __init__(
        self,
        *args: Any,
        headers: list[str],
        targets: list[Any],
        initial_mapping: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("— not imported —")), *[(target.key, target.label) for target in targets]]
        for index, header in enumerate(headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header or _("(no header)"),
                choices=choices,
                required=False,
                initial=initial_mapping.get(str(index), ""),
            )

    def mapping(self) -> dict[str, str]:
        return {
            name.removeprefix("column_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("column_") and value
        }


# ------------------------------------------------------------------ integrations


class ProductTypeIntegrationForm(ProductTypeForm):
    """The product type form with the integration picked from the registered ones."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", gettext("None: maintained by hand"))]
        choices += list(Integration.objects.order_by("name").values_list("code", "name"))
        current = self.instance.integration if self.instance.pk else ""
        if current and current not in {code for code, _label in choices}:
            choices.append((current, gettext("%(code)s (not registered)") % {"code": current}))
        self.fields["integration"] = forms.ChoiceField(
            label=_("Integration"),
            choices=choices,
            required=False,
            help_text=_("The registered integration whose GSD maintains this type."),
        )


class IntegrationForm(ServiceModelForm):
    auth_token = forms.CharField(
        label=_("Authentication token"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "Stored as entered and never shown again. Leave empty to keep the current one."
        ),
    )
    remove_token = forms.BooleanField(label=_("Remove the stored token"), required=False)

    class Meta:
        model = Integration
        fields = list(gsd.INTEGRATION_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["connector"] = forms.ChoiceField(
            label=_("Connector"), choices=gsd.connector_choices()
        )
        if self.instance.pk is None:
            del self.fields["remove_token"]
            self.fields["auth_token"].help_text = _("Stored as entered and never shown again.")

    def token(self) -> str | None:
        """The token to store: None keeps the current one, "" removes it."""
        if self.cleaned_data.get("remove_token"):
            return ""
        entered = self.cleaned_data.get("auth_token") or ""
        if self.instance.pk is None:
            return entered
        return entered or None
