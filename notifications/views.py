"""Pages: email preferences (part of the organization profile), templates, and the log."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from bss.core.forms import apply_validation_error
from bss.core.listing import BulkAction, Column, RecordListView
from bss.core.permissions import requires, user_has_permission
from bss.core.visibility import visible_records
from notifications import services
from notifications.forms import EmailSettingsForm, EntityChoiceForm, TemplateForm
from notifications.merge_fields import RenderInput, provider_for
from notifications.models import EmailProtocol, Message, MessageStatus, NotificationTemplate
from notifications.sandbox import TemplateRefused

PREVIEW_RECORDS = 50


# ======================================================================== email preferences


@requires("notifications", "manage")
def email_settings(request: HttpRequest) -> HttpResponse:
    channel = services.email_settings()
    form = EmailSettingsForm(request.POST or None, channel=channel)
    if request.method == "POST" and form.is_valid():
        try:
            services.email_settings_update(actor=request.user, **form.service_arguments())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Email preferences saved."))
            return redirect("notifications:email_settings")
    return render(
        request,
        "notifications/email_settings.html",
        {
            "form": form,
            "channel": channel,
            "callback_url": request.build_absolute_uri(reverse("notifications:google_callback")),
            "is_google": channel.protocol == EmailProtocol.GOOGLE,
            "setup_page": True,
        },
        status=400 if form.errors else 200,
    )


@require_POST
@requires("notifications", "manage")
def email_test(request: HttpRequest) -> HttpResponse:
    try:
        message = services.send_test_email(actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if message.status == MessageStatus.COMPLETED:
            messages.success(
                request,
                _t("Test email sent to %(to)s. The server answered: %(answer)s")
                % {"to": request.user.email, "answer": message.server_response},
            )
        else:
            messages.error(
                request,
                _t("The test email was not sent: %(error)s") % {"error": message.error},
            )
    return redirect("notifications:email_settings")


@require_POST
@requires("notifications", "manage")
def google_authorize(request: HttpRequest) -> HttpResponse:
    callback = request.build_absolute_uri(reverse("notifications:google_callback"))
    try:
        url = services.google_authorization_start(actor=request.user, redirect_uri=callback)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("notifications:email_settings")
    return redirect(url)


@requires("notifications", "manage")
def google_callback(request: HttpRequest) -> HttpResponse:
    if request.GET.get("error"):
        messages.error(
            request,
            _t("Google refused the authorization: %(error)s") % {"error": request.GET["error"]},
        )
        return redirect("notifications:email_settings")
    try:
        services.google_authorization_complete(
            actor=request.user,
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            redirect_uri=request.build_absolute_uri(reverse("notifications:google_callback")),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _t("Google authorized the BSS to send email."))
    return redirect("notifications:email_settings")


# ======================================================================== templates


class TemplateFilter(django_filters.FilterSet):
    entity = django_filters.ChoiceFilter(label=_("Entity"), choices=[])
    is_active = django_filters.BooleanFilter(label=_("Active"))
    is_system = django_filters.BooleanFilter(label=_("System"))

    class Meta:
        model = NotificationTemplate
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from notifications.merge_fields import entity_choices

        self.filters["entity"].extra["choices"] = entity_choices()


def _entity_label(template: NotificationTemplate) -> str:
    provider = provider_for(template.entity)
    return str(provider.label) if provider else template.entity


def _sent_on(template: NotificationTemplate) -> str:
    if template.trigger == NotificationTemplate.Trigger.EVENT:
        return template.event_name
    return str(template.get_trigger_display())


def _activate(actor: Any, template: NotificationTemplate, params: dict[str, Any]) -> None:
    services.template_set_active(actor=actor, template=template, active=True)


def _deactivate(actor: Any, template: NotificationTemplate, params: dict[str, Any]) -> None:
    services.template_set_active(actor=actor, template=template, active=False)


def _delete(actor: Any, template: NotificationTemplate, params: dict[str, Any]) -> None:
    services.template_delete(actor=actor, template=template)


class TemplateListView(RecordListView):
    model = NotificationTemplate
    permission_module = "notifications"
    title = _("Customer notifications")
    filterset_class = TemplateFilter
    search_fields = ("name", "code", "event_name")
    search_placeholder = _("Name, code or event")
    default_sort = "entity"
    create_url_name = "notifications:template_create"
    create_permission = ("notifications", "create")
    columns = [
        Column("entity", _("Entity"), sort="entity", value=_entity_label),
        Column("name", _("Name"), sort="name", link=True),
        Column("event_name", _("Sent on"), sort="event_name", value=_sent_on),
        Column("when_to_send", _("When"), value=lambda t: t.get_when_to_send_display()),
        Column("is_system", _("System"), value=lambda t: _t("Yes") if t.is_system else ""),
        Column(
            "is_active",
            _("Status"),
            sort="is_active",
            badge=True,
            value=lambda t: _t("Active") if t.is_active else _t("Inactive"),
        ),
    ]
    bulk_actions = [
        BulkAction("activate", _("Activate"), ("notifications", "edit"), _activate),
        BulkAction("deactivate", _("Deactivate"), ("notifications", "edit"), _deactivate),
        BulkAction(
            "delete",
            _("Delete"),
            ("notifications", "delete"),
            _delete,
            confirm=_("Delete the selected notifications? System notifications are kept."),
        ),
    ]

    def ordered(self, queryset: QuerySet, sort: str) -> QuerySet:
        if sort.lstrip("-") == "entity":
            return queryset.order_by(sort, "name", "pk")
        return super().ordered(queryset, sort)


def _preview_records(request: HttpRequest, entity: str) -> list[tuple[Any, str]]:
    provider = provider_for(entity)
    model = provider.model() if provider else None
    if model is None:
        return []
    try:
        queryset = visible_records(model._default_manager.all(), request.user)
    except TypeError:
        queryset = (
            model._default_manager.all()
            if request.user.is_superuser
            else model._default_manager.none()
        )
    return [(record.pk, str(record)) for record in queryset.order_by("-pk")[:PREVIEW_RECORDS]]


def _template_page(
    request: HttpRequest, template: NotificationTemplate | None, entity: str
) -> HttpResponse:
    provider = provider_for(entity)
    if provider is None:
        raise Http404("Unknown entity.")
    merge_fields = provider.fields()
    form = TemplateForm(
        request.POST or None, entity=entity, merge_fields=merge_fields, template=template
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.template_save(
                actor=request.user, template=template, **form.service_arguments()
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("%(name)s saved.") % {"name": saved.name})
            return redirect(saved)
    groups: dict[str, list[Any]] = {}
    for merge_field in merge_fields:
        groups.setdefault(merge_field.group, []).append(merge_field)
    return render(
        request,
        "notifications/template_form.html",
        {
            "form": form,
            "template": template,
            "entity": entity,
            "entity_label": provider.label,
            "merge_field_groups": groups,
            "preview_records": _preview_records(request, entity),
            "title": template.name if template else _t("New notification"),
            "may_edit": user_has_permission(
                request.user, "notifications", "edit" if template else "create"
            ),
            "setup_page": True,
        },
        status=400 if form.errors else 200,
    )


@requires("notifications", "create")
def template_create(request: HttpRequest) -> HttpResponse:
    chooser = EntityChoiceForm(request.GET or None)
    if not chooser.is_valid():
        return render(
            request,
            "notifications/template_entity.html",
            {"form": chooser, "setup_page": True},
        )
    return _template_page(request, None, chooser.cleaned_data["entity"])


@requires("notifications", "view")
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(NotificationTemplate.objects.prefetch_related("texts"), pk=pk)
    if request.method == "POST" and not user_has_permission(request.user, "notifications", "edit"):
        raise PermissionDenied("You need the permission notifications.edit.")
    return _template_page(request, template, template.entity)


@require_POST
@requires("notifications", "view")
def template_preview(request: HttpRequest, entity: str) -> HttpResponse:
    """Render the editor's unsaved subject and body against a chosen record (htmx)."""
    provider = provider_for(entity)
    if provider is None:
        raise Http404("Unknown entity.")
    form = TemplateForm(request.POST, entity=entity, merge_fields=provider.fields())
    form.is_valid()
    record = None
    record_id = request.POST.get("preview_record", "")
    if record_id:
        allowed = {str(pk) for pk, _label in _preview_records(request, entity)}
        if record_id not in allowed:
            raise Http404("No such record.")
        record = provider.load(record_id)
    context: dict[str, Any] = {"record": record}
    try:
        rendered = services.render_for(
            NotificationTemplate(entity=entity),
            RenderInput(entity=entity, record=record, actor=request.user),
            texts=form.texts(),
        )
    except TemplateRefused as error:
        context["error"] = str(error)
    else:
        context["rendered"] = rendered
    return render(request, "notifications/partials/preview.html", context)


def _template_action(request: HttpRequest, pk: int, write: Any, success: str) -> HttpResponse:
    template = get_object_or_404(NotificationTemplate, pk=pk)
    try:
        write(template)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, success % {"name": template.name})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("notifications:template_list")
    return redirect(target)


@require_POST
@requires("notifications", "edit")
def template_activate(request: HttpRequest, pk: int) -> HttpResponse:
    return _template_action(
        request,
        pk,
        lambda t: services.template_set_active(actor=request.user, template=t, active=True),
        _t("%(name)s is active."),
    )


@require_POST
@requires("notifications", "edit")
def template_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _template_action(
        request,
        pk,
        lambda t: services.template_set_active(actor=request.user, template=t, active=False),
        _t("%(name)s is inactive."),
    )


@require_POST
@requires("notifications", "delete")
def template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    return _template_action(
        request,
        pk,
        lambda t: services.template_delete(actor=request.user, template=t),
        _t("%(name)s deleted."),
    )


# ======================================================================== log


class MessageFilter(django_filters.FilterSet):
    created = django_filters.DateFromToRangeFilter(
        field_name="created_at",
        label=_("Created"),
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )
    status = django_filters.ChoiceFilter(label=_("Status"), choices=MessageStatus.choices)
    template = django_filters.ModelChoiceFilter(
        label=_("Template"), queryset=NotificationTemplate.objects.order_by("name")
    )
    recipient = django_filters.CharFilter(
        label=_("Recipient"), field_name="recipients_text", lookup_expr="icontains"
    )

    class Meta:
        model = Message
        fields: list[str] = []


class MessageListView(RecordListView):
    model = Message
    permission_module = "notifications"
    title = _("Notification logs")
    filterset_class = MessageFilter
    search_fields = ("subject", "recipients_text", "record_label")
    search_placeholder = _("Subject, recipient or record")
    default_sort = "-created_at"
    columns = [
        Column("created_at", _("Created"), sort="created_at", link=True, css="text-nowrap"),
        Column("subject", _("Subject"), sort="subject", link=True),
        Column("template", _("Template")),
        Column("recipients_text", _("Recipients")),
        Column("record_label", _("Record")),
        Column(
            "status", _("Status"), sort="status", badge=True, value=lambda m: m.get_status_display()
        ),
        Column("retry_count", _("Retries"), sort="retry_count"),
        Column("sent_at", _("Sent"), sort="sent_at", css="text-nowrap"),
    ]

    def base_queryset(self) -> QuerySet:
        return Message.objects.select_related("template").defer("body_html")


@requires("notifications", "view")
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(Message.objects.select_related("template", "event"), pk=pk)
    provider = provider_for(message.entity) if message.entity else None
    record_url = ""
    if provider is not None and message.record_id:
        record = provider.load(message.record_id)
        if record is not None and hasattr(record, "get_absolute_url"):
            record_url = record.get_absolute_url()
    return render(
        request,
        "notifications/message_detail.html",
        {
            "message": message,
            "record_url": record_url,
            "may_resend": user_has_permission(request.user, "notifications", "edit")
            and message.status != MessageStatus.GENERATION_ERROR,
            "setup_page": True,
        },
    )


@require_POST
@requires("notifications", "edit")
def message_resend(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(Message, pk=pk)
    try:
        copy = services.message_resend(actor=request.user, message=message)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(message)
    messages.success(request, _t("The message was queued again."))
    return redirect(copy)
