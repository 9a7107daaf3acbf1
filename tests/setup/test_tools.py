"""Setup tools: the registry, running a tool as a job with progress, the result grid and export."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django import forms
from django.core.cache import cache
from django.urls import reverse
from openpyxl import load_workbook

from bss.core.consent import record_consent
from bss.core.models import ConsentRecord
from bss.core.tools import _tools, register_tool, tools_for
from bss.core.translation import forget_overrides
from bss.setup.models import ToolRun
from bss.setup.tools.services import RunProgress, tool_run_execute, tool_run_start


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    forget_overrides()
    yield
    cache.clear()


@pytest.fixture
def counting_tool() -> Iterator[str]:
    """A tool counting to ``up_to`` in steps, so progress can be watched."""
    seen: list[tuple[int, int]] = []

    class CountForm(forms.Form):
        up_to = forms.IntegerField(min_value=1, max_value=10_000)

    def count(parameters: dict[str, Any], progress: Any) -> Any:
        progress.start(parameters["up_to"])
        for _step in range(parameters["up_to"] // 10):
            progress.advance(10)
            run = ToolRun.objects.get(tool="tests.count")
            seen.append((run.progress_done, run.progress_total))
        return ["Number", "Square"], [[n, n * n] for n in range(1, parameters["up_to"] + 1)]

    register_tool(
        code="tests.count",
        title="Count",
        section="Tests",
        permission=("accounts", "view"),
        form_class=CountForm,
        run=count,
    )
    count.seen = seen  # type: ignore[attr-defined]
    yield "tests.count"
    _tools.pop("tests.count", None)


def terms_consent(account: str, when: datetime, **fields: Any) -> ConsentRecord:
    return record_consent(
        kind=ConsentRecord.Kind.TERMS_OF_USE,
        subject=fields.pop("subject", "Microsoft 365 Business Basic"),
        reference=fields.pop("reference", "ORD-000123"),
        account_name=account,
        contact_name=fields.pop("contact_name", "Maria Papadopoulou"),
        contact_email=fields.pop("contact_email", "maria@example.com"),
        source="https://shop.example.com/basket/123",
        ip_address="203.0.113.7",
        user_agent="Firefox 128.0",
        accepted_at=when,
        **fields,
    )


def test_tools_are_offered_to_users_holding_both_rights(make_user: Any, counting_tool: str) -> None:
    both = make_user("setup.run_tools", "accounts.view")
    tools_only = make_user("setup.run_tools")
    accounts_only = make_user("accounts.view")

    assert counting_tool in [tool.code for tool in tools_for(both)]
    assert counting_tool not in [tool.code for tool in tools_for(tools_only)]
    assert counting_tool not in [tool.code for tool in tools_for(accounts_only)]


def test_registering_another_tool_under_a_taken_code_fails(counting_tool: str) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_tool(
            code=counting_tool,
            title="Other",
            section="Tests",
            permission=("accounts", "view"),
            form_class=forms.Form,
            run=lambda parameters, progress: ([], []),
        )


def test_a_run_reports_progress_in_chunks_and_keeps_its_rows(
    admin_user: Any, counting_tool: str, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True

    with django_capture_on_commit_callbacks(execute=True):
        run = tool_run_start(actor=admin_user, tool_code=counting_tool, data={"up_to": "30"})

    run.refresh_from_db()
    assert run.status == ToolRun.Status.COMPLETED
    assert (run.progress_done, run.progress_total, run.percent_done) == (30, 30, 100)
    assert run.parameters == {"up_to": 30}
    assert run.result_columns == ["Number", "Square"]
    assert run.result_rows[:3] == [[1, 1], [2, 4], [3, 9]]
    assert len(run.result_rows) == 30
    assert run.started_at is not None
    assert run.finished_at is not None


def test_progress_is_written_at_most_twice_a_second(
    admin_user: Any, counting_tool: str, django_assert_max_num_queries: Any
) -> None:
    run = ToolRun.objects.create(tool=counting_tool, user=admin_user)
    progress = RunProgress(run.pk)

    with django_assert_max_num_queries(2):
        progress.start(1000)
        for _step in range(1000):
            progress.advance()

    run.refresh_from_db()
    assert (run.progress_done, run.progress_total) == (0, 1000)


def test_bad_parameters_name_the_field_and_start_nothing(
    admin_client: Any, counting_tool: str
) -> None:
    response = admin_client.post(reverse("setup:tool_detail", args=[counting_tool]), {"up_to": "0"})

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["up_to"]
    assert not ToolRun.objects.exists()


def test_a_run_is_executed_once_even_when_delivered_twice(
    admin_user: Any, counting_tool: str
) -> None:
    run = tool_run_start(actor=admin_user, tool_code=counting_tool, data={"up_to": "10"})

    assert tool_run_execute(run_id=run.pk) == "completed"
    assert tool_run_execute(run_id=run.pk) == "not claimable"


def test_a_failing_tool_marks_its_run_failed(admin_user: Any) -> None:
    def explode(parameters: dict[str, Any], progress: Any) -> Any:
        raise RuntimeError("the vendor feed is down")

    register_tool(
        code="tests.explode",
        title="Explode",
        section="Tests",
        permission=("setup", "view"),
        form_class=forms.Form,
        run=explode,
    )
    try:
        run = tool_run_start(actor=admin_user, tool_code="tests.explode", data={})
        tool_run_execute(run_id=run.pk)
    finally:
        _tools.pop("tests.explode", None)

    run.refresh_from_db()
    assert (run.status, run.error) == ("failed", "the vendor feed is down")


def test_terms_of_use_logs_tool_lists_acceptances_with_the_spec_columns(
    admin_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    terms_consent("Acme Ltd", datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    terms_consent("Beta SA", datetime(2026, 4, 2, 9, 30, tzinfo=UTC), reference="ORD-000200")
    record_consent(
        kind=ConsentRecord.Kind.PERSONAL_DATA,
        subject="Newsletter",
        account_name="Acme Ltd",
        accepted_at=datetime(2026, 3, 3, tzinfo=UTC),
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("setup:tool_detail", args=["terms_of_use_logs"]),
            {"date_from": "2026-03-01", "date_to": "2026-03-31", "account": "acme"},
        )

    run = ToolRun.objects.get()
    assert response.url == reverse("setup:tool_run", args=[run.pk])
    assert run.result_columns == [
        "Product name",
        "Order code",
        "Account name",
        "User first name",
        "User last name",
        "User email",
        "URL",
        "IP address",
        "Browser",
        "Term accepted",
    ]
    assert run.result_rows == [
        [
            "Microsoft 365 Business Basic",
            "ORD-000123",
            "Acme Ltd",
            "Maria",
            "Papadopoulou",
            "maria@example.com",
            "https://shop.example.com/basket/123",
            "203.0.113.7",
            "Firefox 128.0",
            "2026-03-02 09:30:00",
        ]
    ]
    assert (run.progress_done, run.progress_total) == (1, 1)
    page = admin_client.get(reverse("setup:tool_run", args=[run.pk]))
    assert "Papadopoulou" in page.content.decode()


def test_personal_data_consent_logs_tool_lists_opt_ins_and_opt_outs(
    admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for kind in (ConsentRecord.Kind.PERSONAL_DATA, ConsentRecord.Kind.PERSONAL_DATA_WITHDRAWN):
        record_consent(
            kind=kind,
            subject="Promotional material",
            account_name="Acme Ltd",
            contact_name="Nikos K",
            accepted_at=datetime(2026, 3, 3, tzinfo=UTC),
        )
    terms_consent("Acme Ltd", datetime(2026, 3, 2, tzinfo=UTC))

    with django_capture_on_commit_callbacks(execute=True):
        run = tool_run_start(actor=admin_user, tool_code="personal_data_consent_logs", data={})

    run.refresh_from_db()
    assert [row[3] for row in run.result_rows] == ["Personal data opt-in", "Personal data opt-out"]


def test_the_result_exports_to_excel(
    admin_client: Any, admin_user: Any, counting_tool: str
) -> None:
    run = tool_run_start(actor=admin_user, tool_code=counting_tool, data={"up_to": "20"})
    tool_run_execute(run_id=run.pk)

    response = admin_client.get(reverse("setup:tool_run_export", args=[run.pk]))

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert [cell.value for cell in sheet[1]] == ["Number", "Square"]
    assert [cell.value for cell in sheet[21]] == [20, 400]


def test_the_status_is_polled_while_running_and_reloads_the_page_when_done(
    admin_client: Any, admin_user: Any, counting_tool: str
) -> None:
    run = tool_run_start(actor=admin_user, tool_code=counting_tool, data={"up_to": "10"})
    status_url = reverse("setup:tool_run_status", args=[run.pk])

    queued = admin_client.get(status_url, headers={"HX-Request": "true"})
    tool_run_execute(run_id=run.pk)
    done = admin_client.get(status_url, headers={"HX-Request": "true"})

    assert 'hx-trigger="every 1s"' in queued.content.decode()
    assert "HX-Refresh" not in queued
    assert done["HX-Refresh"] == "true"
    assert 'hx-trigger="every 1s"' not in done.content.decode()


def test_a_user_without_the_tools_own_right_cannot_open_or_run_it(
    make_user: Any, client_for: Any, counting_tool: str
) -> None:
    client = client_for(make_user("setup.run_tools"))

    assert client.get(reverse("setup:tool_detail", args=[counting_tool])).status_code == 403
    response = client.post(reverse("setup:tool_detail", args=[counting_tool]), {"up_to": "10"})
    assert response.status_code == 403
    assert not ToolRun.objects.exists()


def test_the_tools_pages_read_a_bounded_number_of_queries(
    admin_client: Any, admin_user: Any, counting_tool: str, django_assert_max_num_queries: Any
) -> None:
    for _number in range(5):
        run = tool_run_start(actor=admin_user, tool_code=counting_tool, data={"up_to": "10"})
        tool_run_execute(run_id=run.pk)

    with django_assert_max_num_queries(10):
        listing = admin_client.get(reverse("setup:tool_list"))
    with django_assert_max_num_queries(10):
        detail = admin_client.get(reverse("setup:tool_detail", args=[counting_tool]))

    assert len(listing.context["recent_runs"]) == 5
    assert len(detail.context["runs"]) == 5
