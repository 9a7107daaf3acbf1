"""Setup area: users and groups (roles with module rights)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from bss.core.audit import audit_trail
from bss.core.forms import apply_validation_error
from bss.core.listing import Column, RecordListView
from bss.core.permissions import login_only, requires
from bss.setup import services
from bss.setup.forms import RoleForm, UserForm
from bss.setup.invitations import send_invitation
from bss.setup.models import Role, User


class UserFilter(django_filters.FilterSet):
    is_active = django_filters.BooleanFilter(label=_("Active"))
    roles = django_filters.ModelChoiceFilter(label=_("Group"), queryset=Role.objects.all())

    class Meta:
        model = User
        fields: list[str] = []


class UserListView(RecordListView):
    model = User
    permission_module = "users"
    title = _("Users")
    filterset_class = UserFilter
    search_fields = ("email", "first_name", "last_name")
    search_placeholder = _("Name or email")
    default_sort = "email"
    create_url_name = "setup:user_create"
    create_permission = ("users", "create")
    columns = [
        Column("email", _("Email"), sort="email", link=True),
        Column("get_full_name", _("Name"), sort="last_name"),
        Column(
            "group_names",
            _("Groups"),
            value=lambda user: ", ".join(role.name for role in user.roles.all()),
        ),
        Column(
            "is_superuser",
            _("Administrator"),
            value=lambda user: _t("Yes") if user.is_superuser else "",
        ),
        Column(
            "is_active",
            _("Status"),
            badge=True,
            value=lambda user: _t("Active") if user.is_active else _t("Inactive"),
        ),
        Column("last_login", _("Last login"), sort="last_login"),
    ]

    def visible_queryset(self) -> QuerySet:
        # Staff users are not owned records; the users right opens the whole list.
        return User.objects.prefetch_related("roles")

    def extra_context(self) -> dict[str, Any]:
        return {"setup_page": True}


@requires("users", "create")
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_create(
                actor=request.user,
                email=data["email"],
                password=data.get("password") or None,
                first_name=data["first_name"],
                last_name=data["last_name"],
                is_superuser=data["is_superuser"],
                roles=data["roles"],
                language=data["language"],
                restricted_modules=data["restricted_modules"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            if data.get("password"):
                messages.success(request, _t("User %(email)s created.") % {"email": user.email})
            else:
                send_invitation(request, user)
                messages.success(
                    request,
                    _t("User %(email)s created and invited by email to choose a password.")
                    % {"email": user.email},
                )
            return redirect("setup:user_detail", pk=user.pk)
    return render(request, "setup/user_form.html", {"form": form, "setup_page": True})


@requires("users", "view")
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User.objects.prefetch_related("roles"), pk=pk)
    return render(
        request,
        "setup/user_detail.html",
        {"subject": user, "history": audit_trail(user)[:50], "setup_page": True},
    )


@requires("users", "edit")
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    form = UserForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.user_update(
                actor=request.user,
                user=user,
                roles=data["roles"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                is_superuser=data["is_superuser"],
                is_active=data["is_active"],
                language=data["language"],
                restricted_modules=data["restricted_modules"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("User saved."))
            return redirect("setup:user_detail", pk=user.pk)
    return render(
        request, "setup/user_form.html", {"form": form, "subject": user, "setup_page": True}
    )


class RoleListView(RecordListView):
    model = Role
    permission_module = "users"
    title = _("Groups and rights")
    search_fields = ("name",)
    default_sort = "name"
    create_url_name = "setup:role_create"
    create_permission = ("users", "create")
    columns = [
        Column("name", _("Group"), sort="name", link=True),
        Column("description", _("Description")),
        Column("member_count", _("Members"), sort="member_count"),
        Column("rights_count", _("Rights"), value=lambda role: len(role.permissions)),
    ]

    def visible_queryset(self) -> QuerySet:
        return Role.objects.annotate(member_count=Count("users"))

    def extra_context(self) -> dict[str, Any]:
        return {"setup_page": True}


def _role_form_page(request: HttpRequest, role: Role | None) -> HttpResponse:
    form = RoleForm(request.POST or None, instance=role)
    if request.method == "POST" and form.is_valid():
        try:
            role = services.role_save(
                actor=request.user,
                role=role,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                permissions=form.chosen_permissions(),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Group %(name)s saved.") % {"name": role.name})
            return redirect("setup:role_edit", pk=role.pk)
    members = role.users.all() if role is not None else []
    return render(
        request,
        "setup/role_form.html",
        {"form": form, "subject": role, "members": members, "setup_page": True},
    )


@requires("users", "create")
def role_create(request: HttpRequest) -> HttpResponse:
    return _role_form_page(request, None)


@requires("users", "edit")
def role_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _role_form_page(request, get_object_or_404(Role, pk=pk))


@require_POST
@requires("users", "delete")
def role_delete(request: HttpRequest, pk: int) -> HttpResponse:
    role = get_object_or_404(Role, pk=pk)
    try:
        services.role_delete(actor=request.user, role=role)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("setup:role_edit", pk=role.pk)
    messages.success(request, _t("Group deleted."))
    return redirect("setup:role_list")


@login_only
def setup_home(request: HttpRequest) -> HttpResponse:
    return render(request, "setup/home.html", {"setup_page": True})
