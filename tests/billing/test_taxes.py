"""Taxes: rules by place and product type, exemptions, EU reverse charge and VIES checks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from billing import services
from billing.models import Tax, TaxRule, VatStatus
from billing.seed import EU_STANDARD_VAT_RATES, seed_eu_vat
from billing.taxes import (
    REVERSE_CHARGE_NOTE,
    OfflineVatChecker,
    TaxTable,
    UnavailableVatChecker,
    ViesVatChecker,
    taxes_for,
)
from bss.core.money import quantize
from tests.billing.factories import ProductTypeFactory

pytestmark = pytest.mark.django_db

D = Decimal


def greek_line(**overrides: Any) -> dict[str, Any]:
    arguments = {
        "seller_country": "GR",
        "country": "GR",
        "state": "",
        "product_type_id": None,
        "is_account_taxable": True,
        "is_product_taxable": True,
        "vat_number": "",
        "vies_status": VatStatus.UNCHECKED,
    }
    arguments.update(overrides)
    return arguments


def rates(decision: Any) -> list[tuple[str, Decimal]]:
    return [(tax.code, tax.rate) for tax in decision.taxes]


def test_the_seed_has_the_standard_vat_of_all_27_member_states(eu_vat: None) -> None:
    assert len(EU_STANDARD_VAT_RATES) == 27
    assert Tax.objects.filter(is_vat=True).count() == 27
    assert TaxRule.objects.count() == 27
    assert Tax.objects.get(code="VAT-GR").rate == D("24")
    assert Tax.objects.get(code="VAT-DE").rate == D("19")
    assert Tax.objects.get(code="VAT-HU").rate == D("27")
    assert Tax.objects.get(code="VAT-FI").rate == D("25.5")
    assert Tax.objects.get(code="VAT-LU").rate == D("17")


def test_seeding_twice_adds_nothing(eu_vat: None) -> None:
    assert seed_eu_vat() == 0
    assert Tax.objects.count() == 27
    assert TaxRule.objects.count() == 27


def test_greek_vat_on_60_euros_is_14_40(eu_vat: None) -> None:
    decision = taxes_for(**greek_line())

    assert rates(decision) == [("VAT-GR", D("24"))]
    assert quantize(D("60.00") * decision.taxes[0].rate / 100, "EUR") == D("14.40")
    assert not decision.is_reverse_charge


def test_the_customer_location_picks_the_rule(eu_vat: None) -> None:
    assert rates(taxes_for(**greek_line(country="DE"))) == [("VAT-DE", D("19"))]
    assert rates(taxes_for(**greek_line(country="US"))) == []


def test_tax_exempt_accounts_and_products_bear_no_tax(eu_vat: None) -> None:
    assert taxes_for(**greek_line(is_account_taxable=False)).taxes == ()
    assert taxes_for(**greek_line(is_product_taxable=False)).taxes == ()


def test_a_province_exception_overrides_or_exempts_the_country_rule(eu_vat: None) -> None:
    # given: Spain's VAT does not apply on the Canary Islands; Madeira has its own rate
    spain = Tax.objects.get(code="VAT-ES")
    services.tax_rule_save(actor=None, tax=spain, country="ES", state="CN", is_exempt=True)
    portugal = Tax.objects.get(code="VAT-PT")
    services.tax_rule_save(actor=None, tax=portugal, country="PT", state="30", rate=D("22"))

    # then
    assert rates(taxes_for(**greek_line(country="ES", state="CN"))) == []
    assert rates(taxes_for(**greek_line(country="ES", state="MD"))) == [("VAT-ES", D("21"))]
    assert rates(taxes_for(**greek_line(country="PT", state="30"))) == [("VAT-PT", D("22"))]
    assert rates(taxes_for(**greek_line(country="PT"))) == [("VAT-PT", D("23"))]


def test_a_product_type_rule_beats_the_country_rule_and_taxes_add_up(eu_vat: None) -> None:
    # given: e-books at 6 % in Greece, and a local levy of 2 % on every type there
    ebooks = ProductTypeFactory()
    greek_vat = Tax.objects.get(code="VAT-GR")
    services.tax_rule_save(
        actor=None, tax=greek_vat, country="GR", product_type=ebooks, rate=D("6")
    )
    levy = services.tax_save(actor=None, code="LEVY-GR", name="Digital levy", rate=D("2"))
    services.tax_rule_save(actor=None, tax=levy, country="GR")

    # then
    assert rates(taxes_for(**greek_line(product_type_id=ebooks.pk))) == [
        ("LEVY-GR", D("2")),
        ("VAT-GR", D("6")),
    ]
    assert rates(taxes_for(**greek_line(product_type_id=None))) == [
        ("LEVY-GR", D("2")),
        ("VAT-GR", D("24")),
    ]


def test_a_valid_vat_number_of_another_member_state_is_reverse_charged(eu_vat: None) -> None:
    decision = taxes_for(
        **greek_line(country="DE", vat_number="DE123456789", vies_status=VatStatus.VALID)
    )

    assert decision.taxes == ()
    assert decision.is_reverse_charge
    assert decision.note == str(REVERSE_CHARGE_NOTE)


def test_reverse_charge_keeps_taxes_that_are_not_vat(eu_vat: None) -> None:
    levy = services.tax_save(actor=None, code="LEVY-DE", name="Levy", rate=D("1"))
    services.tax_rule_save(actor=None, tax=levy, country="DE")

    decision = taxes_for(
        **greek_line(country="DE", vat_number="DE123456789", vies_status=VatStatus.VALID)
    )

    assert rates(decision) == [("LEVY-DE", D("1"))]
    assert decision.is_reverse_charge


def test_no_reverse_charge_at_home_without_a_number_or_with_an_invalid_one(eu_vat: None) -> None:
    domestic = taxes_for(**greek_line(vat_number="EL094259216", vies_status=VatStatus.VALID))
    no_number = taxes_for(**greek_line(country="DE", vies_status=VatStatus.VALID))
    invalid = taxes_for(
        **greek_line(country="DE", vat_number="DE123456789", vies_status=VatStatus.INVALID)
    )
    other_state = taxes_for(
        **greek_line(country="DE", vat_number="FR12345678901", vies_status=VatStatus.VALID)
    )

    for decision in (domestic, no_number, invalid, other_state):
        assert not decision.is_reverse_charge
        assert not decision.is_held
    assert rates(domestic) == [("VAT-GR", D("24"))]
    assert rates(invalid) == [("VAT-DE", D("19"))]


def test_an_unchecked_or_unreachable_number_holds_the_decision(eu_vat: None) -> None:
    for status in (VatStatus.UNAVAILABLE, VatStatus.UNCHECKED):
        decision = taxes_for(
            **greek_line(country="AT", vat_number="ATU12345678", vies_status=status)
        )
        assert decision.is_held
        assert not decision.is_reverse_charge


def test_a_seller_outside_the_eu_never_reverse_charges(eu_vat: None) -> None:
    decision = taxes_for(
        **greek_line(
            seller_country="CH",
            country="DE",
            vat_number="DE123456789",
            vies_status=VatStatus.VALID,
        )
    )
    assert rates(decision) == [("VAT-DE", D("19"))]


def test_a_loaded_table_answers_without_queries(
    eu_vat: None, django_assert_num_queries: Any
) -> None:
    table = TaxTable.load()
    with django_assert_num_queries(0):
        for country in EU_STANDARD_VAT_RATES:
            taxes_for(**greek_line(country=country), table=table)


def test_tax_services_refuse_bad_input(eu_vat: None) -> None:
    greek_vat = Tax.objects.get(code="VAT-GR")
    with pytest.raises(ValidationError, match="percent from 0 to 100"):
        services.tax_save(actor=None, code="BAD", name="Bad", rate=D("101"))
    with pytest.raises(ValidationError, match="already has a rule"):
        services.tax_rule_save(actor=None, tax=greek_vat, country="gr")
    with pytest.raises(ValidationError, match="two-letter"):
        services.tax_rule_save(actor=None, tax=greek_vat, country="Greece")
    with pytest.raises(ValidationError, match="exempt rule has no rate"):
        services.tax_rule_save(
            actor=None, tax=greek_vat, country="GR", state="A1", rate=D("5"), is_exempt=True
        )
    assert TaxRule.objects.count() == 27


# ---------------------------------------------------------------------------- VAT checks


def test_the_offline_checker_accepts_a_well_formed_number_only() -> None:
    checker = OfflineVatChecker()
    assert checker.check("DE123456789").status == VatStatus.VALID
    assert checker.check("EL094259216").status == VatStatus.VALID
    assert checker.check("DE12345").status == VatStatus.INVALID


def test_a_check_is_recorded_and_reused_while_fresh() -> None:
    first = services.vat_number_status(
        actor=None, vat_number="de123456789", checker=OfflineVatChecker()
    )
    # VIES going down later does not matter while the recorded answer is fresh.
    second = services.vat_number_status(
        actor=None, vat_number="DE123456789", checker=UnavailableVatChecker()
    )

    assert first == second == VatStatus.VALID


def test_an_unavailable_answer_is_never_reused() -> None:
    services.vat_number_check(actor=None, vat_number="DE123456789", checker=UnavailableVatChecker())
    status = services.vat_number_status(
        actor=None, vat_number="DE123456789", checker=OfflineVatChecker()
    )
    assert status == VatStatus.VALID


class FakeVies(BaseHTTPRequestHandler):
    """A VIES stand-in on loopback: answers by the number asked."""

    answers = {
        "123456789": {
            "valid": True,
            "name": "Muster GmbH",
            "address": "Berlin",
            "userError": "VALID",
        },
        "999999999": {"valid": False, "name": "---", "address": "---", "userError": "INVALID"},
        "555555555": {"valid": False, "userError": "MS_UNAVAILABLE"},
    }
    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeVies.requests.append({"path": self.path, **body})
        answer = self.answers.get(body["vatNumber"])
        if answer is None:
            self.send_response(500)
            self.end_headers()
            return
        payload = json.dumps({"countryCode": body["countryCode"], **answer}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def fake_vies() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), FakeVies)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeVies.requests = []
    yield f"http://127.0.0.1:{server.server_port}/rest-api"
    server.shutdown()
    server.server_close()


def test_the_vies_checker_reads_valid_invalid_and_outage_answers(fake_vies: str) -> None:
    checker = ViesVatChecker(base_url=fake_vies, timeout=2)

    valid = checker.check("DE123456789")
    invalid = checker.check("DE999999999")
    outage = checker.check("DE555555555")
    server_error = checker.check("DE111111111")

    assert (valid.status, valid.registered_name, valid.registered_address) == (
        VatStatus.VALID,
        "Muster GmbH",
        "Berlin",
    )
    assert (invalid.status, invalid.registered_name) == (VatStatus.INVALID, "")
    assert outage.status == VatStatus.UNAVAILABLE
    assert server_error.status == VatStatus.UNAVAILABLE
    assert FakeVies.requests[0] == {
        "path": "/rest-api/check-vat-number",
        "countryCode": "DE",
        "vatNumber": "123456789",
    }


def test_the_vies_checker_without_an_address_or_server_is_unavailable() -> None:
    assert ViesVatChecker(base_url="").check("DE123456789").status == VatStatus.UNAVAILABLE
    closed_port = ViesVatChecker(base_url="http://127.0.0.1:9", timeout=1)
    assert closed_port.check("DE123456789").status == VatStatus.UNAVAILABLE


def test_the_demo_seed_adds_vat_and_payment_instructions() -> None:
    import io

    from billing.models import BillingSettings
    from billing.seed import seed

    out = io.StringIO()
    seed(out)
    seed(out)

    assert Tax.objects.count() == 27
    assert "{number}" in BillingSettings.objects.get().payment_instructions
    assert "27 EU VAT taxes added (27 taxes)" in out.getvalue()
    assert "0 EU VAT taxes added (27 taxes)" in out.getvalue()
