"""Catalogue pages: products with their plans and relations, categories, types, groups,
volume discounts, promotions, price lists, integrations and their GSD runs.

The catalogue itself is visible to everyone holding ``products.view``; price lists are
owned records and go through ``bss.core.visibility`` like accounts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from bss.core.audit import audit_trail
from bss.core.forms import apply_validation_error
from bss.core.listing import Column, RecordListView
from bss.core.permissions import requires, user_has_permission
from bss.core.visibility import get_visible_or_404, visible_records
from bss.setup.fields.selectors import custom_field_sections
from catalogue import forms, gsd, importing, selectors, services
from catalogue.models import (
    GSD_LIVE_STATUSES,
    BundleComponent,
    Category,
    GsdRun,
    GsdRunStatus,
    ImportStatus,
    Integration,
    PriceList,
    PriceListItem,
    Product,
    ProductExclusion,
    ProductGroup,
    ProductImport,
    ProductKind,
    ProductPlan,
    ProductRequirement,
    ProductStatus,
    ProductType,
    ProductUpgrade,
    Promotion,
    UpgradeDirection,
    VolumeDiscount,
)


class CatalogueListView(RecordListView):
    """Catalogue records are not owned: the module right is the whole access rule."""

    permission_module = "products"
    template_name = "catalogue/list.html"

    def visible_queryset(self) -> QuerySet:
        return self.base_queryset()


def _form_page(
    request: HttpRequest,
    form: BaseForm,
    *,
    title: str,
    cancel_url: str,
    template: str = "catalogue/form.html",
    **extra: Any,
) -> HttpResponse:
    return render(
        request,
        template,
        {"form": form, "title": title, "cancel_url": cancel_url, **extra},
    )


def _run(form: BaseForm, write: Callable[[], Any]) -> Any:
    """Call a service; its ValidationError lands on the form and the result is None."""
    try:
        return write()
    except ValidationError as error:
        apply_validation_error(form, error)
        return None


def _post_action(
    request: HttpRequest, write: Callable[[], Any], *, success: str, next_url: str
) -> HttpResponse:
    try:
        write()
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)
    return redirect(next_url)


# ------------------------------------------------------------------------------ products


class ProductFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=ProductKind.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ProductStatus.choices)
    product_type = django_filters.ModelChoiceFilter(
        label=_("Product type"), queryset=ProductType.objects.order_by("name")
    )
    category = django_filters.ModelChoiceFilter(
        label=_("Category"), queryset=Category.objects.order_by("name")
    )
    currency = django_filters.CharFilter(
        label=_("Priced in"), method="priced_in", help_text=_("Currency code")
    )
    publish_to_storefront = django_filters.BooleanFilter(label=_("On the Storefront"))

    class Meta:
        model = Product
        fields: list[str] = []

    def priced_in(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(plans__prices__currency=value.strip().upper()).distinct()


class ProductListView(CatalogueListView):
    model = Product
    title = _("Products")
    filterset_class = ProductFilter
    search_fields = ("name", "code", "description")
    search_placeholder = _("Name, code or description")
    default_sort = "name"
    create_url_name = "catalogue:product_create"
    create_permission = ("products", "create")
    columns = [
        Column("code", _("Code"), sort="code", link=True, css="text-nowrap"),
        Column("name", _("Name"), sort="name", link=True),
        Column("kind", _("Kind"), sort="kind", value=lambda p: p.get_kind_display()),
        Column("product_type.name", _("Product type")),
        Column("category.name", _("Category")),
        Column("plan_count", _("Plans"), sort="plan_count"),
        Column("publish_to_storefront", _("Storefront")),
        Column(
            "status", _("Status"), sort="status", badge=True, value=lambda p: p.get_status_display()
        ),
    ]

    def base_queryset(self) -> QuerySet:
        return selectors.product_list()


def _product(pk: int) -> Product:
    return get_object_or_404(Product.objects.select_related("product_type", "category"), pk=pk)


@requires("products", "view")
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(selectors.product_with_pricing(), pk=pk)
    plans = list(product.plans.all())
    currencies = sorted({price.currency for plan in plans for price in plan.prices.all()})
    plan_rows = [
        (
            plan,
            [
                next((p for p in plan.prices.all() if p.currency == code), None)
                for code in currencies
            ],
        )
        for plan in plans
    ]
    memberships: list[PriceListItem] = []
    if user_has_permission(request.user, "price_lists", "view"):
        visible_lists = visible_records(PriceList.objects.all(), request.user)
        memberships = list(
            selectors.price_list_memberships(product).filter(price_list__in=visible_lists)
        )
    context: dict[str, Any] = {
        "product": product,
        "currencies": currencies,
        "plan_rows": plan_rows,
        "memberships": memberships,
        "requirements": ProductRequirement.objects.filter(product=product).select_related(
            "required_product"
        ),
        "required_by": ProductRequirement.objects.filter(required_product=product).select_related(
            "product"
        ),
        "exclusions": [
            (row, row.product_b if row.product_a_id == product.pk else row.product_a)
            for row in ProductExclusion.objects.filter(
                Q(product_a=product) | Q(product_b=product)
            ).select_related("product_a", "product_b")
        ],
        "upgrades": ProductUpgrade.objects.filter(
            source=product, direction=UpgradeDirection.UPGRADE
        ).select_related("target"),
        "downgrades": ProductUpgrade.objects.filter(
            source=product, direction=UpgradeDirection.DOWNGRADE
        ).select_related("target"),
        "components": product.components.select_related("component"),
        "primary_products": product.primary_products.order_by("name"),
        "addons": product.addons.order_by("name"),
        "bundles": Product.objects.filter(components__component=product).order_by("name"),
        "groups": product.groups.order_by("name"),
        "promotions": product.promotions.order_by("-start_date"),
        "relation_form": forms.RelationForm(product=product),
        "component_form": forms.ComponentForm(bundle=product)
        if product.kind == ProductKind.BUNDLE
        else None,
        "custom_sections": custom_field_sections(
            services.PRODUCT_ENTITY, product.custom_data, account_context=None
        ),
        "history": audit_trail(product)[:30],
    }
    return render(request, "catalogue/product_detail.html", context)


@requires("products", "create")
def product_create(request: HttpRequest) -> HttpResponse:
    form = forms.ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        product = _run(
            form,
            lambda: services.product_create(
                actor=request.user,
                primary_products=list(form.cleaned_data["primary_products"]),
                **form.service_fields(),
            ),
        )
        if product is not None:
            messages.success(request, _t("Product %(code)s created.") % {"code": product.code})
            return redirect(product)
    return _form_page(
        request, form, title=_t("New product"), cancel_url=reverse("catalogue:product_list")
    )


@requires("products", "edit")
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product = _product(pk)
    form = forms.ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        saved = _run(
            form,
            lambda: services.product_update(
                actor=request.user,
                product=product,
                primary_products=list(form.cleaned_data["primary_products"]),
                **form.service_fields(),
            ),
        )
        if saved is not None:
            messages.success(request, _t("Product saved."))
            return redirect(product)
    return _form_page(
        request,
        form,
        title=_t("Edit %(name)s") % {"name": product.name},
        cancel_url=product.get_absolute_url(),
    )


@require_POST
@requires("products", "edit")
def product_retire(request: HttpRequest, pk: int) -> HttpResponse:
    product = _product(pk)
    return _post_action(
        request,
        lambda: services.product_retire(actor=request.user, product=product),
        success=_t("%(name)s is retired: it can no longer be ordered.") % {"name": product.name},
        next_url=product.get_absolute_url(),
    )


@require_POST
@requires("products", "edit")
def product_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    product = _product(pk)
    return _post_action(
        request,
        lambda: services.product_reactivate(actor=request.user, product=product),
        success=_t("%(name)s is active again.") % {"name": product.name},
        next_url=product.get_absolute_url(),
    )


# --------------------------------------------------------------------------- plans, prices


@requires("products", "edit")
def plan_create(request: HttpRequest, pk: int) -> HttpResponse:
    product = _product(pk)
    form = forms.PlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        plan_fields = {name: form.cleaned_data[name] for name in services.PLAN_FIELDS}
        prices = {code: price for code, price in form.prices().items() if price is not None}
        plan = _run(
            form,
            lambda: services.plan_create(
                actor=request.user, product=product, prices=prices, **plan_fields
            ),
        )
        if plan is not None:
            messages.success(request, _t("Billing plan %(plan)s added.") % {"plan": plan.label})
            return redirect(product)
    return _form_page(
        request,
        form,
        title=_t("New billing plan for %(name)s") % {"name": product.name},
        cancel_url=product.get_absolute_url(),
        template="catalogue/plan_form.html",
        product=product,
    )


@requires("products", "edit")
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(ProductPlan.objects.select_related("product"), pk=pk)
    product = plan.product
    prices = {price.currency: price for price in plan.prices.all()}
    form = forms.PlanForm(request.POST or None, instance=plan, prices=prices)
    if request.method == "POST" and form.is_valid():
        plan_fields = {name: form.cleaned_data[name] for name in services.PLAN_FIELDS}

        saved = _run(
            form,
            lambda: services.plan_update(
                actor=request.user, plan=plan, prices=form.prices(), **plan_fields
            ),
        )
        if saved is not None:
            messages.success(request, _t("Billing plan saved."))
            return redirect(product)
    return _form_page(
        request,
        form,
        title=_t("%(plan)s plan of %(name)s") % {"plan": plan.label, "name": product.name},
        cancel_url=product.get_absolute_url(),
        template="catalogue/plan_form.html",
        product=product,
        plan=plan,
    )


@require_POST
@requires("products", "edit")
def plan_delete(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(ProductPlan.objects.select_related("product"), pk=pk)
    return _post_action(
        request,
        lambda: services.plan_delete(actor=request.user, plan=plan),
        success=_t("Billing plan removed."),
        next_url=plan.product.get_absolute_url(),
    )


# ----------------------------------------------------------------------- relations, bundle


@require_POST
@requires("products", "edit")
def relation_add(request: HttpRequest, pk: int) -> HttpResponse:
    product = _product(pk)
    form = forms.RelationForm(request.POST, product=product)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect(product)
    other = form.cleaned_data["other"]
    relation = form.cleaned_data["relation"]
    writers: dict[str, Callable[[], Any]] = {
        "requires": lambda: services.requirement_add(
            actor=request.user, product=product, required_product=other
        ),
        "excludes": lambda: services.exclusion_add(
            actor=request.user, product=product, other=other
        ),
        "upgrades_to": lambda: services.upgrade_add(
            actor=request.user, source=product, target=other
        ),
    }
    return _post_action(
        request,
        writers[relation],
        success=_t("Relation saved."),
        next_url=product.get_absolute_url(),
    )


RELATION_MODELS: dict[str, type[Model]] = {
    "requirement": ProductRequirement,
    "exclusion": ProductExclusion,
    "upgrade": ProductUpgrade,
}


@require_POST
@requires("products", "edit")
def relation_remove(request: HttpRequest, pk: int, kind: str, relation_pk: int) -> HttpResponse:
    product = _product(pk)
    model = RELATION_MODELS.get(kind)
    if model is None:
        return redirect(product)
    row: Any = get_object_or_404(model, pk=relation_pk)
    writers: dict[str, Callable[[], Any]] = {
        "requirement": lambda: services.requirement_remove(actor=request.user, requirement=row),
        "exclusion": lambda: services.exclusion_remove(actor=request.user, exclusion=row),
        "upgrade": lambda: services.upgrade_remove(
            actor=request.user, source=row.source, target=row.target
        ),
    }
    return _post_action(
        request, writers[kind], success=_t("Relation removed."), next_url=product.get_absolute_url()
    )


@require_POST
@requires("products", "edit")
def component_add(request: HttpRequest, pk: int) -> HttpResponse:
    bundle = _product(pk)
    form = forms.ComponentForm(request.POST, bundle=bundle)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect(bundle)
    return _post_action(
        request,
        lambda: services.bundle_component_add(
            actor=request.user,
            bundle=bundle,
            component=form.cleaned_data["component"],
            quantity=form.cleaned_data["quantity"],
        ),
        success=_t("Component added."),
        next_url=bundle.get_absolute_url(),
    )


@require_POST
@requires("products", "edit")
def component_remove(request: HttpRequest, pk: int) -> HttpResponse:
    component = get_object_or_404(BundleComponent.objects.select_related("bundle"), pk=pk)
    return _post_action(
        request,
        lambda: services.bundle_component_remove(actor=request.user, component=component),
        success=_t("Component removed."),
        next_url=component.bundle.get_absolute_url(),
    )


# ------------------------------------------------------------- simple catalogue records


class CategoryListView(CatalogueListView):
    model = Category
    title = _("Categories")
    search_fields = ("name", "description")
    default_sort = "position"
    create_url_name = "catalogue:category_create"
    create_permission = ("products", "create")
    columns = [
        Column("name", _("Name"), sort="name", link=True),
        Column("parent.name", _("Parent")),
        Column("position", _("Position"), sort="position"),
        Column("product_count", _("Products"), sort="product_count"),
        Column("publish_to_storefront", _("Storefront")),
    ]

    def base_queryset(self) -> QuerySet:
        return Category.objects.select_related("parent").annotate(product_count=Count("products"))


class ProductTypeListView(CatalogueListView):
    model = ProductType
    title = _("Product types")
    search_fields = ("name", "code", "integration")
    default_sort = "name"
    create_url_name = "catalogue:product_type_create"
    create_permission = ("products", "create")
    columns = [
        Column("code", _("Code"), sort="code", link=True),
        Column("name", _("Name"), sort="name", link=True),
        Column("integration", _("Integration")),
        Column("tax_code", _("Tax code")),
        Column("non_auto_new_orders", _("Manual orders")),
        Column("product_count", _("Products"), sort="product_count"),
    ]

    def base_queryset(self) -> QuerySet:
        return ProductType.objects.annotate(product_count=Count("products"))


class ProductGroupListView(CatalogueListView):
    model = ProductGroup
    title = _("Product groups")
    search_fields = ("name",)
    default_sort = "position"
    create_url_name = "catalogue:group_create"
    create_permission = ("products", "create")
    columns = [
        Column("name", _("Name"), sort="name", link=True),
        Column("position", _("Position"), sort="position"),
        Column("product_count", _("Products"), sort="product_count"),
        Column("publish_to_storefront", _("Storefront")),
    ]

    def base_queryset(self) -> QuerySet:
        return ProductGroup.objects.annotate(product_count=Count("products"))


class VolumeDiscountListView(CatalogueListView):
    model = VolumeDiscount
    title = _("Volume discounts")
    search_fields = ("name",)
    default_sort = "name"
    create_url_name = "catalogue:volume_discount_create"
    create_permission = ("products", "create")
    columns = [
        Column("name", _("Name"), sort="name", link=True),
        Column("mode", _("Mode"), sort="mode", value=lambda d: d.get_mode_display()),
        Column("currency", _("Currency"), sort="currency"),
        Column("tier_count", _("Tiers")),
    ]

    def base_queryset(self) -> QuerySet:
        return VolumeDiscount.objects.annotate(tier_count=Count("tiers"))


class PromotionFilter(django_filters.FilterSet):
    is_active = django_filters.BooleanFilter(label=_("Active"))
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Promotion.Kind.choices)

    class Meta:
        model = Promotion
        fields: list[str] = []


class PromotionListView(CatalogueListView):
    model = Promotion
    title = _("Promotions")
    filterset_class = PromotionFilter
    search_fields = ("name", "description")
    default_sort = "-start_date"
    create_url_name = "catalogue:promotion_create"
    create_permission = ("products", "create")
    columns = [
        Column("name", _("Name"), sort="name", link=True),
        Column("start_date", _("Start"), sort="start_date"),
        Column("end_date", _("End"), sort="end_date"),
        Column("kind", _("Kind"), sort="kind", value=lambda p: p.get_kind_display()),
        Column("discount", _("Discount"), value=lambda p: _discount_label(p)),
        Column("eligibility", _("Customers"), value=lambda p: p.get_eligibility_display()),
        Column("is_active", _("Active"), sort="is_active"),
    ]


def _discount_label(promotion: Promotion) -> str:
    if promotion.percent is not None:
        return f"{promotion.percent.normalize():f} %"
    return f"{promotion.amount} {promotion.currency}"


def _simple_edit(
    request: HttpRequest,
    *,
    form_class: type[forms.ServiceModelForm],
    record: Any,
    create: Callable[..., Any],
    update: Callable[..., Any],
    list_url: str,
    title: str,
    m2m: tuple[str, ...] = (),
    delete_url: str | None = None,
    template: str = "catalogue/form.html",
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    form = form_class(request.POST or None, instance=record)
    if request.method == "POST" and form.is_valid():
        related = {name: list(form.cleaned_data[name]) for name in m2m}
        if record is None:
            saved = _run(
                form, lambda: create(actor=request.user, **related, **form.service_fields())
            )
        else:
            saved = _run(
                form, lambda: update(actor=request.user, **related, **form.service_fields())
            )
        if saved is not None:
            messages.success(request, _t("%(name)s saved.") % {"name": saved})
            return redirect(list_url)
    return _form_page(
        request,
        form,
        title=title,
        cancel_url=list_url,
        template=template,
        record=record,
        delete_url=delete_url,
        **(extra or {}),
    )


@requires("products", "create")
def category_create(request: HttpRequest) -> HttpResponse:
    return _simple_edit(
        request,
        form_class=forms.CategoryForm,
        record=None,
        create=services.category_create,
        update=services.category_update,
        list_url=reverse("catalogue:category_list"),
        title=_t("New category"),
    )


@requires("products", "edit")
def category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    category = get_object_or_404(Category, pk=pk)
    return _simple_edit(
        request,
        form_class=forms.CategoryForm,
        record=category,
        create=services.category_create,
        update=lambda **kw: services.category_update(category=category, **kw),
        list_url=reverse("catalogue:category_list"),
        title=category.name,
        delete_url=reverse("catalogue:category_delete", args=[category.pk]),
    )


@require_POST
@requires("products", "delete")
def category_delete(request: HttpRequest, pk: int) -> HttpResponse:
    category = get_object_or_404(Category, pk=pk)
    return _post_action(
        request,
        lambda: services.category_delete(actor=request.user, category=category),
        success=_t("Category deleted."),
        next_url=reverse("catalogue:category_list"),
    )


@requires("products", "create")
def product_type_create(request: HttpRequest) -> HttpResponse:
    return _simple_edit(
        request,
        form_class=forms.ProductTypeIntegrationForm,
        record=None,
        create=services.product_type_create,
        update=services.product_type_update,
        list_url=reverse("catalogue:product_type_list"),
        title=_t("New product type"),
    )


@requires("products", "edit")
def product_type_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product_type = get_object_or_404(ProductType, pk=pk)
    integration = gsd.integration_of(product_type)
    return _simple_edit(
        request,
        form_class=forms.ProductTypeIntegrationForm,
        record=product_type,
        create=services.product_type_create,
        update=lambda **kw: services.product_type_update(product_type=product_type, **kw),
        list_url=reverse("catalogue:product_type_list"),
        title=product_type.name,
        delete_url=reverse("catalogue:product_type_delete", args=[product_type.pk]),
        template="catalogue/product_type_form.html",
        extra={
            "gsd_panel": _gsd_panel_context(request, integration, product_type)
            if integration is not None
            else None,
            "unregistered_integration": product_type.integration if integration is None else "",
        },
    )


@require_POST
@requires("products", "delete")
def product_type_delete(request: HttpRequest, pk: int) -> HttpResponse:
    product_type = get_object_or_404(ProductType, pk=pk)
    return _post_action(
        request,
        lambda: services.product_type_delete(actor=request.user, product_type=product_type),
        success=_t("Product type deleted."),
        next_url=reverse("catalogue:product_type_list"),
    )


@requires("products", "create")
def group_create(request: HttpRequest) -> HttpResponse:
    return _simple_edit(
        request,
        form_class=forms.ProductGroupForm,
        record=None,
        create=services.product_group_create,
        update=services.product_group_update,
        list_url=reverse("catalogue:group_list"),
        title=_t("New product group"),
        m2m=("products",),
    )


@requires("products", "edit")
def group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(ProductGroup, pk=pk)
    return _simple_edit(
        request,
        form_class=forms.ProductGroupForm,
        record=group,
        create=services.product_group_create,
        update=lambda **kw: services.product_group_update(group=group, **kw),
        list_url=reverse("catalogue:group_list"),
        title=group.name,
        m2m=("products",),
        delete_url=reverse("catalogue:group_delete", args=[group.pk]),
    )


@require_POST
@requires("products", "delete")
def group_delete(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(ProductGroup, pk=pk)
    return _post_action(
        request,
        lambda: services.product_group_delete(actor=request.user, group=group),
        success=_t("Product group deleted."),
        next_url=reverse("catalogue:group_list"),
    )


@requires("products", "create")
def promotion_create(request: HttpRequest) -> HttpResponse:
    return _simple_edit(
        request,
        form_class=forms.PromotionForm,
        record=None,
        create=services.promotion_create,
        update=services.promotion_update,
        list_url=reverse("catalogue:promotion_list"),
        title=_t("New promotion"),
        m2m=("products", "prerequisite_products"),
    )


@requires("products", "edit")
def promotion_edit(request: HttpRequest, pk: int) -> HttpResponse:
    promotion = get_object_or_404(Promotion, pk=pk)
    return _simple_edit(
        request,
        form_class=forms.PromotionForm,
        record=promotion,
        create=services.promotion_create,
        update=lambda **kw: services.promotion_update(promotion=promotion, **kw),
        list_url=reverse("catalogue:promotion_list"),
        title=promotion.name,
        m2m=("products", "prerequisite_products"),
        delete_url=reverse("catalogue:promotion_delete", args=[promotion.pk]),
    )


@require_POST
@requires("products", "delete")
def promotion_delete(request: HttpRequest, pk: int) -> HttpResponse:
    promotion = get_object_or_404(Promotion, pk=pk)
    return _post_action(
        request,
        lambda: services.promotion_delete(actor=request.user, promotion=promotion),
        success=_t("Promotion deleted."),
        next_url=reverse("catalogue:promotion_list"),
    )


def _volume_discount_page(request: HttpRequest, discount: VolumeDiscount | None) -> HttpResponse:
    form = forms.VolumeDiscountForm(request.POST or None, instance=discount)
    initial = (
        [
            {
                "from_quantity": t.from_quantity,
                "to_quantity": t.to_quantity,
                "unit_price": t.unit_price,
            }
            for t in discount.tiers.order_by("from_quantity")
        ]
        if discount
        else []
    )
    formset = forms.TierFormSet(request.POST or None, initial=initial, prefix="tiers")
    list_url = reverse("catalogue:volume_discount_list")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        tiers = forms.tiers_of(formset)
        fields = form.service_fields()
        if discount is None:
            saved = _run(
                form,
                lambda: services.volume_discount_create(actor=request.user, tiers=tiers, **fields),
            )
        else:
            saved = _run(
                form,
                lambda: services.volume_discount_update(
                    actor=request.user, discount=discount, tiers=tiers, **fields
                ),
            )
        if saved is not None:
            messages.success(request, _t("%(name)s saved.") % {"name": saved.name})
            return redirect(list_url)
    return _form_page(
        request,
        form,
        title=discount.name if discount else _t("New volume discount"),
        cancel_url=list_url,
        template="catalogue/volume_discount_form.html",
        formset=formset,
        record=discount,
        delete_url=reverse("catalogue:volume_discount_delete", args=[discount.pk])
        if discount
        else None,
    )


@requires("products", "create")
def volume_discount_create(request: HttpRequest) -> HttpResponse:
    return _volume_discount_page(request, None)


@requires("products", "edit")
def volume_discount_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _volume_discount_page(request, get_object_or_404(VolumeDiscount, pk=pk))


@require_POST
@requires("products", "delete")
def volume_discount_delete(request: HttpRequest, pk: int) -> HttpResponse:
    discount = get_object_or_404(VolumeDiscount, pk=pk)
    return _post_action(
        request,
        lambda: services.volume_discount_delete(actor=request.user, discount=discount),
        success=_t("Volume discount deleted."),
        next_url=reverse("catalogue:volume_discount_list"),
    )


# --------------------------------------------------------------------------- price lists


class PriceListFilter(django_filters.FilterSet):
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    is_active = django_filters.BooleanFilter(label=_("Active"))
    is_default = django_filters.BooleanFilter(label=_("Default"))

    class Meta:
        model = PriceList
        fields: list[str] = []


class PriceListListView(RecordListView):
    model = PriceList
    permission_module = "price_lists"
    template_name = "catalogue/list.html"
    title = _("Price lists")
    filterset_class = PriceListFilter
    search_fields = ("name", "description")
    default_sort = "name"
    create_url_name = "catalogue:price_list_create"
    create_permission = ("price_lists", "create")
    columns = [
        Column("name", _("Name"), sort="name", link=True),
        Column("currency", _("Currency"), sort="currency"),
        Column("valid_from", _("Valid from"), sort="valid_from"),
        Column("valid_until", _("Valid until"), sort="valid_until"),
        Column("item_count", _("Items"), sort="item_count"),
        Column("is_default", _("Default"), sort="is_default"),
        Column("owner", _("Owner")),
        Column(
            "status",
            _("Status"),
            badge=True,
            value=lambda pl: _t("Active") if pl.is_active else _t("Inactive"),
        ),
    ]

    def base_queryset(self) -> QuerySet:
        return PriceList.objects.select_related("owner").annotate(item_count=Count("items"))


def _price_list(request: HttpRequest, pk: int, access: str = "view") -> PriceList:
    return get_visible_or_404(
        PriceList.objects.select_related("owner", "permission_rule"), request.user, access, pk=pk
    )


@requires("price_lists", "view")
def price_list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    price_list = _price_list(request, pk)
    items = list(selectors.price_list_items(price_list))
    list_prices = selectors.list_prices_by_plan(
        [item.plan_id for item in items], price_list.currency
    )
    rows = [(item, list_prices.get(item.plan_id)) for item in items]
    context = {
        "price_list": price_list,
        "rows": rows,
        "item_form": forms.PriceListItemForm(price_list=price_list),
        "copy_form": forms.PriceListCopyForm(
            initial={"name": _t("Copy of %(name)s") % {"name": price_list.name}}
        ),
        "custom_sections": custom_field_sections(
            services.PRICE_LIST_ENTITY, price_list.custom_data, account_context=None
        ),
        "history": audit_trail(price_list)[:30],
    }
    return render(request, "catalogue/price_list_detail.html", context)


@requires("price_lists", "create")
def price_list_create(request: HttpRequest) -> HttpResponse:
    form = forms.PriceListForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        price_list = _run(
            form, lambda: services.price_list_create(actor=request.user, **form.service_fields())
        )
        if price_list is not None:
            messages.success(
                request, _t("Price list %(name)s created.") % {"name": price_list.name}
            )
            return redirect(price_list)
    return _form_page(
        request, form, title=_t("New price list"), cancel_url=reverse("catalogue:price_list_list")
    )


@requires("price_lists", "edit")
def price_list_edit(request: HttpRequest, pk: int) -> HttpResponse:
    price_list = _price_list(request, pk, "edit")
    form = forms.PriceListForm(request.POST or None, instance=price_list)
    if request.method == "POST" and form.is_valid():
        saved = _run(
            form,
            lambda: services.price_list_update(
                actor=request.user, price_list=price_list, **form.service_fields()
            ),
        )
        if saved is not None:
            messages.success(request, _t("Price list saved."))
            return redirect(price_list)
    return _form_page(
        request,
        form,
        title=_t("Edit %(name)s") % {"name": price_list.name},
        cancel_url=price_list.get_absolute_url(),
        record=price_list,
        delete_url=reverse("catalogue:price_list_delete", args=[price_list.pk]),
    )


@require_POST
@requires("price_lists", "delete")
def price_list_delete(request: HttpRequest, pk: int) -> HttpResponse:
    price_list = _price_list(request, pk, "delete")
    return _post_action(
        request,
        lambda: services.price_list_delete(actor=request.user, price_list=price_list),
        success=_t("Price list deleted."),
        next_url=reverse("catalogue:price_list_list"),
    )


@require_POST
@requires("price_lists", "create")
def price_list_copy(request: HttpRequest, pk: int) -> HttpResponse:
    source = _price_list(request, pk)
    form = forms.PriceListCopyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _t("Give the copy a name."))
        return redirect(source)
    try:
        copy = services.price_list_copy(
            actor=request.user, price_list=source, name=form.cleaned_data["name"]
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(source)
    messages.success(request, _t("Copied to %(name)s.") % {"name": copy.name})
    return redirect(copy)


def _item_fields(form: forms.PriceListItemForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "method": data["method"],
        "fixed_price": data.get("fixed_price"),
        "percent": data.get("percent"),
        "cost_price": data.get("cost_price"),
        "is_visible": data.get("is_visible", False),
    }


@requires("price_lists", "edit")
def price_list_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    price_list = _price_list(request, pk, "edit")
    form = forms.PriceListItemForm(request.POST or None, price_list=price_list)
    if request.method == "POST" and form.is_valid():
        item = _run(
            form,
            lambda: services.price_list_item_set(
                actor=request.user,
                price_list=price_list,
                plan=form.cleaned_data["plan"],
                **_item_fields(form),
            ),
        )
        if item is not None:
            messages.success(request, _t("%(name)s added.") % {"name": item.plan.product.name})
            return redirect(price_list)
    return _form_page(
        request,
        form,
        title=_t("Add a product to %(name)s") % {"name": price_list.name},
        cancel_url=price_list.get_absolute_url(),
    )


def _item(request: HttpRequest, pk: int) -> PriceListItem:
    item = get_object_or_404(PriceListItem.objects.select_related("plan__product"), pk=pk)
    item.price_list = _price_list(request, item.price_list_id, "edit")
    return item


@requires("price_lists", "edit")
def price_list_item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item(request, pk)
    price_list = item.price_list
    form = forms.PriceListItemForm(request.POST or None, instance=item, price_list=price_list)
    if request.method == "POST" and form.is_valid():
        saved = _run(
            form,
            lambda: services.price_list_item_set(
                actor=request.user, price_list=price_list, plan=item.plan, **_item_fields(form)
            ),
        )
        if saved is not None:
            messages.success(request, _t("Item saved."))
            return redirect(price_list)
    return _form_page(
        request,
        form,
        title=f"{price_list.name}: {item.plan.product.name} · {item.plan.label}",
        cancel_url=price_list.get_absolute_url(),
    )


@require_POST
@requires("price_lists", "edit")
def price_list_item_remove(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item(request, pk)
    return _post_action(
        request,
        lambda: services.price_list_item_remove(actor=request.user, item=item),
        success=_t("%(name)s removed from the list.") % {"name": item.plan.product.name},
        next_url=item.price_list.get_absolute_url(),
    )


# ------------------------------------------------------------------------------ imports

RECENT_IMPORTS = 10


@requires("products", "import")
def import_upload(request: HttpRequest) -> HttpResponse:
    form = forms.ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        options = {name: form.cleaned_data[name] for name in form.fields if name != "file"}
        job = _run(
            form,
            lambda: importing.import_upload(
                actor=request.user, file_name=upload.name, content=upload.read(), **options
            ),
        )
        if job is not None:
            return redirect("catalogue:import_mapping", pk=job.pk)
    recent = ProductImport.objects.select_related("created_by").defer("file_content")[
        :RECENT_IMPORTS
    ]
    return render(request, "catalogue/import_upload.html", {"form": form, "recent": recent})


def _import_job(pk: int) -> ProductImport:
    return get_object_or_404(
        ProductImport.objects.select_related("created_by", "product_type"), pk=pk
    )


@requires("products", "import")
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = _import_job(pk)
    if job.status != ImportStatus.UPLOADED:
        return redirect(job)
    preview = importing.read_table(
        bytes(job.file_content), job.file_name, job.sheet_name, limit=importing.PREVIEW_ROWS
    )
    targets = importing.targets_for(job.charge_type)
    form = forms.ImportMappingForm(
        request.POST or None,
        headers=preview.headers,
        targets=targets,
        initial_mapping=importing.guess_mapping(preview.headers, targets),
    )
    if request.method == "POST" and form.is_valid():
        started = _run(
            form,
            lambda: importing.import_start(actor=request.user, job=job, mapping=form.mapping()),
        )
        if started is not None:
            return redirect(job)
    columns = list(zip(form, preview.headers, strict=True))
    return render(
        request,
        "catalogue/import_mapping.html",
        {"job": job, "form": form, "columns": columns, "preview": preview},
    )


@requires("products", "import")
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _import_job(pk)
    template = (
        "catalogue/import_detail.html#status"
        if request.htmx and not request.htmx.boosted
        else "catalogue/import_detail.html"
    )
    return render(request, template, {"job": job})


# ------------------------------------------------------------------ integrations and GSD

RECENT_RUNS = 10


def _connector_label(integration: Integration) -> str:
    connector = gsd.get_connector(integration.connector)
    return str(connector.label) if connector is not None else integration.connector


class IntegrationListView(RecordListView):
    model = Integration
    permission_module = "setup"
    permission_action = "manage"
    title = _("Integrations")
    search_fields = ("code", "name", "endpoint_url")
    search_placeholder = _("Code, name or endpoint")
    default_sort = "name"
    create_url_name = "catalogue:integration_create"
    create_permission = ("setup", "manage")
    columns = [
        Column("code", _("Code"), sort="code", link=True),
        Column("name", _("Name"), sort="name", link=True),
        Column("connector", _("Connector"), value=_connector_label),
        Column("endpoint_url", _("Endpoint")),
        Column("type_count", _("Product types"), sort="type_count"),
        Column(
            "last_run_status",
            _("Last GSD run"),
            badge=True,
            value=lambda i: GsdRunStatus(i.last_run_status).label if i.last_run_status else "",
        ),
        Column(
            "is_active",
            _("Status"),
            sort="is_active",
            badge=True,
            value=lambda i: _t("Active") if i.is_active else _t("Inactive"),
        ),
    ]

    def visible_queryset(self) -> QuerySet:
        # Integrations are organization settings, not owned records.
        latest = GsdRun.objects.filter(integration=OuterRef("pk")).order_by("-created_at", "-pk")
        types = (
            ProductType.objects.filter(integration=OuterRef("code"))
            .order_by()
            .values("integration")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return Integration.objects.annotate(
            last_run_status=Subquery(latest.values("status")[:1]),
            type_count=Coalesce(Subquery(types), 0),
        )


def _integration_page(request: HttpRequest, integration: Integration | None) -> HttpResponse:
    form = forms.IntegrationForm(request.POST or None, instance=integration)
    if request.method == "POST" and form.is_valid():
        if integration is None:
            saved = _run(
                form,
                lambda: gsd.integration_create(
                    actor=request.user, auth_token=form.token() or "", **form.service_fields()
                ),
            )
        else:
            saved = _run(
                form,
                lambda: gsd.integration_update(
                    actor=request.user,
                    integration=integration,
                    auth_token=form.token(),
                    **form.service_fields(),
                ),
            )
        if saved is not None:
            messages.success(request, _t("%(name)s saved.") % {"name": saved.name})
            return redirect(saved)
    return render(
        request,
        "catalogue/integration_form.html",
        {
            "form": form,
            "integration": integration,
            "title": integration.name if integration else _t("New integration"),
            "cancel_url": integration.get_absolute_url()
            if integration
            else reverse("catalogue:integration_list"),
        },
    )


@requires("setup", "manage")
def integration_create(request: HttpRequest) -> HttpResponse:
    return _integration_page(request, None)


@requires("setup", "manage")
def integration_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _integration_page(request, get_object_or_404(Integration, pk=pk))


def _gsd_panel_context(
    request: HttpRequest, integration: Integration, product_type: ProductType | None
) -> dict[str, Any]:
    """The GSD button, disabled with an "in progress" ribbon while a run is queued or running."""
    runs = list(GsdRun.objects.filter(integration=integration).order_by("-created_at", "-pk")[:1])
    last = runs[0] if runs else None
    live = last if last is not None and last.status in GSD_LIVE_STATUSES else None
    start_url = (
        reverse("catalogue:product_type_gsd_start", args=[product_type.pk])
        if product_type is not None
        else reverse("catalogue:integration_gsd_start", args=[integration.pk])
    )
    panel_url = reverse("catalogue:gsd_panel", args=[integration.pk])
    if product_type is not None:
        panel_url += f"?product_type={product_type.pk}"
    return {
        "integration": integration,
        "product_type": product_type,
        "live": live,
        "last": last,
        "start_url": start_url,
        "panel_url": panel_url,
        "may_run": user_has_permission(request.user, "products", "run_gsd"),
    }


@requires("products", "view")
def integration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    integration = get_object_or_404(Integration, pk=pk)
    recent = (
        GsdRun.objects.filter(integration=integration)
        .select_related("requested_by")
        .defer("log")[:RECENT_RUNS]
    )
    context = {
        "integration": integration,
        "connector_label": _connector_label(integration),
        "product_types": ProductType.objects.filter(integration=integration.code)
        .annotate(product_count=Count("products"))
        .order_by("name"),
        "recent": recent,
        "gsd_panel": _gsd_panel_context(request, integration, None),
        "history": audit_trail(integration)[:30],
    }
    return render(request, "catalogue/integration_detail.html", context)


@requires("products", "view")
def gsd_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The GSD button and ribbon alone, for the page's htmx poll while a run is live."""
    integration = get_object_or_404(Integration, pk=pk)
    product_type = None
    type_id = request.GET.get("product_type", "")
    if type_id.isdigit():
        product_type = get_object_or_404(ProductType, pk=int(type_id), integration=integration.code)
    return render(
        request,
        "catalogue/partials/gsd_panel.html",
        {"gsd_panel": _gsd_panel_context(request, integration, product_type)},
    )


def _start_gsd(
    request: HttpRequest, integration: Integration, product_type: ProductType | None, back: str
) -> HttpResponse:
    try:
        run = gsd.gsd_start(actor=request.user, integration=integration, product_type=product_type)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(back)
    messages.info(
        request, _t("Get Services Definition started (run #%(number)s).") % {"number": run.pk}
    )
    return redirect(run)


@require_POST
@requires("products", "run_gsd")
def integration_gsd_start(request: HttpRequest, pk: int) -> HttpResponse:
    integration = get_object_or_404(Integration, pk=pk)
    return _start_gsd(request, integration, None, integration.get_absolute_url())


@require_POST
@requires("products", "run_gsd")
def product_type_gsd_start(request: HttpRequest, pk: int) -> HttpResponse:
    product_type = get_object_or_404(ProductType, pk=pk)
    integration = gsd.integration_of(product_type)
    if integration is None:
        messages.error(
            request,
            _t("%(name)s is not linked to a registered integration.") % {"name": product_type.name},
        )
        return redirect(product_type)
    return _start_gsd(request, integration, product_type, product_type.get_absolute_url())


class GsdRunFilter(django_filters.FilterSet):
    integration = django_filters.ModelChoiceFilter(
        label=_("Integration"), queryset=Integration.objects.order_by("name")
    )
    status = django_filters.ChoiceFilter(label=_("Status"), choices=GsdRunStatus.choices)

    class Meta:
        model = GsdRun
        fields: list[str] = []


class GsdRunListView(CatalogueListView):
    model = GsdRun
    title = _("GSD runs")
    filterset_class = GsdRunFilter
    search_fields = ("product_type_code", "integration__name")
    search_placeholder = _("Integration or product type")
    default_sort = "-created_at"
    columns = [
        Column("pk", _("Run"), sort="pk", link=True, value=lambda r: f"#{r.pk}"),
        Column("integration.name", _("Integration")),
        Column("product_type_code", _("Product type")),
        Column("created_at", _("Requested"), sort="created_at"),
        Column("requested_by", _("By")),
        Column(
            "status", _("Status"), sort="status", badge=True, value=lambda r: r.get_status_display()
        ),
        Column("created_count", _("Created"), sort="created_count"),
        Column("updated_count", _("Updated"), sort="updated_count"),
        Column("skipped_count", _("Unchanged")),
        Column("error_count", _("Errors"), sort="error_count"),
    ]

    def base_queryset(self) -> QuerySet:
        return GsdRun.objects.select_related("integration", "requested_by").defer("log")


@requires("products", "view")
def gsd_run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(GsdRun.objects.select_related("integration", "requested_by"), pk=pk)
    template = (
        "catalogue/gsd_run_detail.html#status"
        if request.htmx and not request.htmx.boosted
        else "catalogue/gsd_run_detail.html"
    )
    product_type = (
        ProductType.objects.filter(code=run.product_type_code).first()
        if run.product_type_code
        else None
    )
    return render(request, template, {"run": run, "product_type": product_type})
