"""Documents of an account: upload, edit, delete, and download behind the visibility check."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _t
from django.views.decorators.http import require_POST

from accounts.documents import document_delete, document_update, document_upload
from accounts.forms import DocumentForm
from accounts.models import Account, Document
from accounts.selectors import file_space_limit_bytes, file_space_used_bytes
from bss.core.audit import audit_trail
from bss.core.forms import apply_validation_error
from bss.core.permissions import requires
from bss.core.visibility import can_access, get_visible_or_404
from bss.setup.fields.selectors import custom_field_sections, value_choices
from bss.setup.fields.values import account_context_of


@requires("documents", "create")
def document_create(request: HttpRequest, account_pk: int) -> HttpResponse:
    account = get_visible_or_404(Account.objects.all(), request.user, "edit", pk=account_pk)
    form = DocumentForm(request.POST or None, request.FILES or None, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            document = document_upload(
                actor=request.user,
                account=account,
                file=form.cleaned_data["file"],
                **form.service_arguments(),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Document %(name)s uploaded.") % {"name": document.name})
            return redirect(account)
    return render(
        request,
        "accounts/document_form.html",
        {
            "form": form,
            "account": account,
            "space_used": file_space_used_bytes(request.user),
            "space_limit": file_space_limit_bytes(request.user),
        },
        status=400 if form.errors else 200,
    )


@requires("documents", "view")
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_visible_or_404(
        Document.objects.select_related("account", "contact", "uploaded_by"), request.user, pk=pk
    )
    return render(
        request,
        "accounts/document_detail.html",
        {
            "document": document,
            "account": document.account,
            "may_edit": can_access(document.account, request.user, "edit"),
            "stage": dict(value_choices("document", "stage")).get(document.stage, document.stage),
            "document_type": dict(value_choices("document", "document_type")).get(
                document.document_type, document.document_type
            ),
            "custom_sections": custom_field_sections(
                "document",
                document.custom_data,
                account_context=account_context_of(document.account),
            ),
            "history": audit_trail(document)[:20],
        },
    )


@requires("documents", "edit")
def document_edit(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_visible_or_404(
        Document.objects.select_related("account"), request.user, "edit", pk=pk
    )
    form = DocumentForm(request.POST or None, account=document.account, document=document)
    if request.method == "POST" and form.is_valid():
        try:
            document_update(actor=request.user, document=document, **form.service_arguments())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Document saved."))
            return redirect(document)
    return render(
        request,
        "accounts/document_form.html",
        {"form": form, "account": document.account, "document": document},
        status=400 if form.errors else 200,
    )


@require_POST
@requires("documents", "delete")
def document_remove(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_visible_or_404(
        Document.objects.select_related("account"), request.user, "edit", pk=pk
    )
    account = document.account
    document_delete(actor=request.user, document=document)
    messages.success(request, _t("Document %(name)s deleted.") % {"name": document.name})
    return redirect(account)


@requires("documents", "view")
def document_download(request: HttpRequest, pk: int) -> FileResponse:
    """The file of a document the user may see; never a public URL, never cached by proxies."""
    document = get_visible_or_404(Document.objects.all(), request.user, pk=pk)
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file of this document is missing.") from None
    response = FileResponse(
        handle,
        as_attachment=request.GET.get("inline") != "1",
        filename=document.original_filename,
        content_type=document.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
