"""Bulk import and update of products from xlsx or csv.

The run has three steps. ``import_upload`` stores the file with its settings (sheet,
currency, product type, pricing type, which identifiers match existing products);
``import_start`` stores the column mapping and queues the job; ``import_run`` (a Celery
task) reads every row and validates it first. Any error refuses the whole file: the
errors (row, column, reason) are kept on the run and nothing is written. A valid file
is written in one transaction.

Matching: with the chosen identifiers (code, name, product type), a row that matches no
product creates one, a row that matches exactly one updates it, and a row that matches
several is an error. Product type, code, category, primary/add-on and the pricing type
are never changed on an existing product.

Rows are written in bulk so that 10,000 rows take seconds: products, plans and prices
with ``bulk_create``/``bulk_update``, one audit entry per product, and one
``product.imported`` event for the run rather than one event per row.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zipfile import BadZipFile

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.setup.fields.values import clean_value
from bss.setup.models import CustomFieldDefinition
from catalogue.models import (
    BillingCycle,
    Category,
    ChargeType,
    ImportStatus,
    Product,
    ProductImport,
    ProductKind,
    ProductPlan,
    ProductPrice,
    ProductType,
)
from catalogue.services import PRODUCT_ENTITY, clean_currency

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ERRORS_KEPT = 1000
PROGRESS_EVERY = 500
BATCH_SIZE = 500
LOOKUP_CHUNK = 500
PREVIEW_ROWS = 5
TRUE_WORDS = {"true", "yes", "y", "1", "on", "x"}
FALSE_WORDS = {"false", "no", "n", "0", "off"}

TEXT_FIELD_TYPES = {"text", "long_text", "email", "url", "choice", "multi_choice"}
RECURRING_CYCLES = (BillingCycle.MONTHLY, BillingCycle.ANNUAL, BillingCycle.TRIENNIAL)


# ---------------------------------------------------------------------------- the fields


@dataclass(frozen=True)
class Target:
    """A product field a column can be mapped to."""

    key: str
    label: str
    kind: str
    required_on_create: bool = False
    updatable: bool = True
    max_length: int | None = None
    aliases: tuple[str, ...] = ()
    definition: CustomFieldDefinition | None = None


BASE_TARGETS = [
    Target(
        "code",
        "Code",
        "text",
        required_on_create=True,
        updatable=False,
        max_length=60,
        aliases=("sku", "product code"),
    ),
    Target(
        "name",
        "Name",
        "text",
        required_on_create=True,
        max_length=200,
        aliases=("description*", "product name", "product"),
    ),
    Target("description", "Description", "text"),
    Target(
        "kind",
        "Primary or add-on",
        "kind",
        updatable=False,
        aliases=("define product as", "type of product"),
    ),
    Target(
        "attaches_to",
        "Attaches to (primary product codes)",
        "codes",
        updatable=False,
        aliases=("primary products",),
    ),
    Target("category", "Category", "category", updatable=False),
    Target("unit_of_measure", "Unit of measure", "text", max_length=40, aliases=("unit", "uom")),
    Target("is_taxable", "Taxable", "bool", aliases=("taxable product",)),
    Target("min_quantity", "Minimum quantity", "int", aliases=("min quantity",)),
    Target("max_quantity", "Maximum quantity", "int", aliases=("max quantity",)),
    Target(
        "publish_to_storefront",
        "Publish to Storefront",
        "bool",
        aliases=("storefront", "published"),
    ),
    Target("currency", "Currency (check)", "currency"),
    Target("cost_price", "Purchase price", "decimal", aliases=("cost", "cost price")),
    Target("setup_fee", "Setup fee", "decimal"),
]
PRICE_TARGETS = {
    BillingCycle.MONTHLY: Target(
        "price_monthly", "Price (monthly)", "decimal", aliases=("monthly price", "monthly", "price")
    ),
    BillingCycle.ANNUAL: Target(
        "price_annual",
        "Price (annual)",
        "decimal",
        aliases=("annual price", "annual", "yearly price", "yearly"),
    ),
    BillingCycle.TRIENNIAL: Target(
        "price_triennial", "Price (triennial)", "decimal", aliases=("triennial price", "triennial")
    ),
    BillingCycle.ONE_TIME: Target(
        "price_one_time",
        "Price (one-time)",
        "decimal",
        aliases=("one-time price", "price", "one time price"),
    ),
}


def price_cycles(charge_type: str) -> tuple[str, ...]:
    return (BillingCycle.ONE_TIME,) if charge_type == ChargeType.ONE_TIME else RECURRING_CYCLES


def targets_for(charge_type: str) -> list[Target]:
    """Every field a column can fill for this pricing type, custom fields included."""
    prices = [PRICE_TARGETS[cycle] for cycle in price_cycles(charge_type)]
    custom = [
        Target(f"cf:{definition.code}", definition.label, "custom", definition=definition)
        for definition in CustomFieldDefinition.objects.filter(
            entity=PRODUCT_ENTITY, is_active=True
        ).order_by("group", "ordering", "label")
    ]
    return [*BASE_TARGETS, *prices, *custom]


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9*]+", " ", text.lower()).strip()


def guess_mapping(headers: list[str], targets: list[Target]) -> dict[str, str]:
    """Column index -> target key for headers that name a field (by key, label or alias)."""
    names: dict[str, str] = {}
    for target in targets:
        for name in (target.key, target.label, *target.aliases):
            names.setdefault(_normal(name.replace("cf:", "")), target.key)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for index, header in enumerate(headers):
        key = names.get(_normal(header))
        if key and key not in used:
            mapping[str(index)] = key
            used.add(key)
    return mapping


# ------------------------------------------------------------------------- reading files


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, list[Any]]]


def _is_xlsx(file_name: str) -> bool:
    return file_name.lower().endswith((".xlsx", ".xlsm"))


def _xlsx_rows(content: bytes, sheet: str) -> Iterator[tuple[Any, ...]]:
    workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        if sheet and sheet not in workbook.sheetnames:
            raise ValidationError(
                {
                    "sheet_name": f"The workbook has no sheet {sheet!r}; it has "
                    f"{', '.join(workbook.sheetnames)}."
                }
            )
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        yield from worksheet.iter_rows(values_only=True)
    finally:
        workbook.close()


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": "A csv file must be UTF-8 text."}) from None
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    yield from csv.reader(io.StringIO(text), dialect)


def read_table(
    content: bytes, file_name: str, sheet: str = "", *, limit: int | None = None
) -> Table:
    """Header row and the non-empty data rows, each with its spreadsheet row number."""
    try:
        raw = _xlsx_rows(content, sheet) if _is_xlsx(file_name) else _csv_rows(content)
        headers: list[str] | None = None
        rows: list[tuple[int, list[Any]]] = []
        for number, values in enumerate(raw, start=1):
            cells = list(values)
            if headers is None:
                headers = [str(cell).strip() if cell is not None else "" for cell in cells]
                continue
            if all(cell is None or str(cell).strip() == "" for cell in cells):
                continue
            rows.append((number, cells))
            if limit is not None and len(rows) >= limit:
                break
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError) as broken:
        if isinstance(broken, ValidationError):
            raise
        raise ValidationError(
            {"file": f"The file cannot be read as a spreadsheet: {broken}"}
        ) from None
    if not headers or not any(headers):
        raise ValidationError({"file": "The first row must hold the column headers."})
    return Table(headers=headers, rows=rows)


# ------------------------------------------------------------------------ cell parsing


class CellError(ValueError):
    """A cell that does not hold what its column needs; the message is the reason."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_decimal(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise CellError(f"{value!r} is not a number.")
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = str(value).strip().replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellError(f"“{value}” is not a number.") from None
    if not number.is_finite():
        raise CellError(f"“{value}” is not a number.")
    return number


def parse_int(value: Any) -> int | None:
    number = parse_decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value() or number < 0:
        raise CellError(f"“{_text(value)}” is not a whole number of zero or more.")
    return int(number)


def parse_bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    word = _text(value).lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(f"“{_text(value)}” is not yes or no.")


def parse_kind(value: Any) -> str | None:
    word = _normal(_text(value))
    if not word:
        return None
    if word == "primary":
        return ProductKind.PRIMARY
    if word in ("add on", "addon"):
        return ProductKind.ADDON
    raise CellError(f"“{_text(value)}” is not primary or add-on.")


def _custom_raw(definition: CustomFieldDefinition, raw: Any) -> Any:
    """A spreadsheet cell as the custom-field cleaner expects it."""
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if definition.field_type in TEXT_FIELD_TYPES:
            return _text(raw)
        return Decimal(repr(raw)) if isinstance(raw, float) else raw
    return raw


# ------------------------------------------------------------------------------ checking


@dataclass
class RowPlan:
    """What one valid row will do."""

    number: int
    product: Product | None
    fields: dict[str, Any] = field(default_factory=dict)
    prices: dict[str, Decimal] = field(default_factory=dict)
    cost_price: Decimal | None = None
    setup_fee: Decimal | None = None
    custom_data: dict[str, Any] = field(default_factory=dict)
    attaches_to: list[str] = field(default_factory=list)


@dataclass
class Checker:
    job: ProductImport
    headers: list[str]
    targets: dict[str, Target]
    columns: dict[str, int]
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    def fail(self, row: int, column: str, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"row": row, "column": column, "reason": reason})

    def header_of(self, key: str) -> str:
        index = self.columns.get(key)
        return self.headers[index] if index is not None else self.targets[key].label

    def cell(self, values: list[Any], key: str) -> Any:
        index = self.columns.get(key)
        if index is None or index >= len(values):
            return None
        return values[index]


def _chunks(items: list[str], size: int = LOOKUP_CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing_products(job: ProductImport, codes: list[str], names: list[str]) -> list[Product]:
    """The products a row could match or collide with, fetched in bounded chunks."""
    found: dict[int, Product] = {}
    lookups: list[Q] = [Q(code__in=chunk) for chunk in _chunks(codes)]
    if job.match_by_name:
        lookups += [Q(name__in=chunk) for chunk in _chunks(names)]
    for lookup in lookups:
        for product in Product.objects.filter(lookup).only(
            "pk",
            "code",
            "name",
            "kind",
            "product_type_id",
            "custom_data",
            "min_quantity",
            "max_quantity",
        ):
            found[product.pk] = product
    return list(found.values())


def _match_key(job: ProductImport, *, code: str, name: str, type_id: int | None) -> tuple[Any, ...]:
    key: list[Any] = []
    if job.match_by_code:
        key.append(code)
    if job.match_by_name:
        key.append(name)
    if job.match_by_type:
        key.append(type_id)
    return tuple(key)


def _row_values(checker: Checker, number: int, values: list[Any]) -> tuple[dict[str, Any], bool]:
    """Parse every mapped cell of a row; returns the values and whether all parsed."""
    parsed: dict[str, Any] = {}
    valid = True
    parsers: dict[str, Callable[[Any], Any]] = {
        "decimal": parse_decimal,
        "int": parse_int,
        "bool": parse_bool,
        "kind": parse_kind,
    }
    for key, target in checker.targets.items():
        if key not in checker.columns:
            continue
        raw = checker.cell(values, key)
        try:
            if target.kind in parsers:
                value = parsers[target.kind](raw)
            elif target.kind == "custom":
                assert target.definition is not None
                try:
                    value = clean_value(target.definition, _custom_raw(target.definition, raw))
                except ValidationError as invalid:
                    raise CellError(" ".join(invalid.messages)) from None
            elif target.kind == "codes":
                value = [code for code in re.split(r"[,;\s]+", _text(raw)) if code]
            else:
                value = _text(raw)
                if target.max_length and len(value) > target.max_length:
                    raise CellError(f"Longer than {target.max_length} characters.")
        except CellError as problem:
            checker.fail(number, checker.header_of(key), str(problem))
            valid = False
            continue
        if target.kind == "decimal" and value is not None and value < 0:
            checker.fail(number, checker.header_of(key), "A price cannot be negative.")
            valid = False
            continue
        parsed[key] = value
    return parsed, valid


def check_rows(
    job: ProductImport, table: Table, progress: Callable[[int], None]
) -> tuple[list[RowPlan], Checker]:
    """Validate every row; the plans are only usable when the checker holds no errors."""
    all_targets = {target.key: target for target in targets_for(job.charge_type)}
    columns: dict[str, int] = {}
    for index, key in (job.mapping or {}).items():
        if key in all_targets:
            columns[key] = int(index)
    checker = Checker(job=job, headers=table.headers, targets=all_targets, columns=columns)

    for target in all_targets.values():
        if target.required_on_create and target.key not in columns:
            checker.fail(1, target.label, "Required column missing: map a column to it.")

    codes = [_text(checker.cell(values, "code")) for _number, values in table.rows]
    names = [_text(checker.cell(values, "name")) for _number, values in table.rows]
    existing = _existing_products(job, [c for c in codes if c], [n for n in names if n])
    by_code = {product.code: product for product in existing}
    type_id = job.product_type_id
    matches: dict[tuple[Any, ...], list[Product]] = {}
    matching = job.match_by_code or job.match_by_name or job.match_by_type
    if matching:
        candidates: Iterable[Product] = existing
        if job.match_by_type and not (job.match_by_code or job.match_by_name):
            candidates = Product.objects.filter(product_type_id=type_id)
        for product in candidates:
            key = _match_key(
                job, code=product.code, name=product.name, type_id=product.product_type_id
            )
            matches.setdefault(key, []).append(product)
    categories = {category.name.lower(): category for category in Category.objects.all()}
    definitions = [t.definition for t in all_targets.values() if t.definition is not None]

    plans: list[RowPlan] = []
    seen_codes: dict[str, int] = {}
    seen_products: dict[int, int] = {}
    for position, (number, values) in enumerate(table.rows, start=1):
        if position % PROGRESS_EVERY == 0:
            progress(position)
        parsed, valid = _row_values(checker, number, values)
        code, name = parsed.get("code", ""), parsed.get("name", "")
        if (
            "currency" in parsed
            and parsed["currency"]
            and parsed["currency"].upper() != job.currency
        ):
            checker.fail(
                number,
                checker.header_of("currency"),
                f"The prices of this row are in {parsed['currency'].upper()}; this import is in {job.currency}.",
            )
            valid = False
        product: Product | None = None
        ambiguous = False
        if matching:
            found = matches.get(_match_key(job, code=code, name=name, type_id=type_id), [])
            if len(found) > 1:
                checker.fail(
                    number,
                    ", ".join(checker.header_of(k) for k in ("code", "name") if k in columns),
                    f"No unique combination of identifiers found: {len(found)} products match.",
                )
                valid, ambiguous = False, True
            elif found:
                product = found[0]
        if ambiguous:
            continue
        if product is None:
            for key in ("code", "name"):
                # A missing column is reported once, above; a bad cell already has its error.
                if key in columns and not _text(checker.cell(values, key)):
                    checker.fail(number, checker.header_of(key), "Required for a new product.")
                    valid = False
            if code and code in by_code:
                checker.fail(
                    number,
                    checker.header_of("code"),
                    f"The code {code} is already used by another product.",
                )
                valid = False
            if code in seen_codes:
                checker.fail(
                    number,
                    checker.header_of("code"),
                    f"Duplicate code {code} (also on row {seen_codes[code]}).",
                )
                valid = False
            elif code:
                seen_codes[code] = number
        else:
            if product.kind == ProductKind.BUNDLE:
                checker.fail(
                    number,
                    checker.header_of("code"),
                    f"{product.code} is a bundle; bundles are not imported.",
                )
                valid = False
            if product.pk in seen_products:
                checker.fail(
                    number,
                    checker.header_of("code"),
                    f"This row updates the same product as row {seen_products[product.pk]}.",
                )
                valid = False
            seen_products[product.pk] = number
        plan = _plan_row(checker, number, parsed, product, categories, definitions)
        if plan is None or not valid:
            continue
        plans.append(plan)
    _check_attachments(checker, plans, seen_codes)
    progress(len(table.rows))
    return plans, checker


def _plan_row(
    checker: Checker,
    number: int,
    parsed: dict[str, Any],
    product: Product | None,
    categories: dict[str, Category],
    definitions: list[CustomFieldDefinition],
) -> RowPlan | None:
    creating = product is None
    plan = RowPlan(number=number, product=product)
    ok = True
    simple = (
        "name",
        "description",
        "unit_of_measure",
        "is_taxable",
        "min_quantity",
        "max_quantity",
        "publish_to_storefront",
    )
    for key in simple:
        if parsed.get(key) not in (None, "") and (creating or checker.targets[key].updatable):
            plan.fields[key] = parsed[key]
    if creating:
        plan.fields["code"] = parsed.get("code", "")
        plan.fields["kind"] = parsed.get("kind") or ProductKind.PRIMARY
        category_name = parsed.get("category") or ""
        if category_name:
            category = categories.get(category_name.lower())
            if category is None:
                checker.fail(
                    number,
                    checker.header_of("category"),
                    f"There is no category named {category_name}.",
                )
                ok = False
            plan.fields["category"] = category
        plan.attaches_to = parsed.get("attaches_to") or []
        if plan.fields["kind"] == ProductKind.ADDON and not plan.attaches_to:
            checker.fail(
                number,
                checker.header_of("attaches_to"),
                "An add-on names the primary products it attaches to.",
            )
            ok = False
    minimum = plan.fields.get("min_quantity", product.min_quantity if product else 1)
    maximum = plan.fields.get("max_quantity", product.max_quantity if product else None)
    if minimum is not None and minimum < 1:
        checker.fail(
            number, checker.header_of("min_quantity"), "The minimum quantity is at least 1."
        )
        ok = False
    if maximum is not None and minimum is not None and maximum < minimum:
        checker.fail(
            number, checker.header_of("max_quantity"), "The maximum is below the minimum quantity."
        )
        ok = False
    for cycle in price_cycles(checker.job.charge_type):
        key = PRICE_TARGETS[cycle].key
        if parsed.get(key) is not None:
            plan.prices[cycle] = parsed[key]
    plan.cost_price = parsed.get("cost_price")
    plan.setup_fee = parsed.get("setup_fee")
    for definition in definitions:
        key = f"cf:{definition.code}"
        value = parsed.get(key)
        if value is not None:
            plan.custom_data[definition.code] = value
        elif creating and definition.default_value not in (None, "", []):
            plan.custom_data[definition.code] = clean_value(definition, definition.default_value)
        existing = (product.custom_data or {}).get(definition.code) if product else None
        if (
            definition.is_required
            and value is None
            and existing in (None, "", [])
            and definition.code not in plan.custom_data
        ):
            checker.fail(
                number,
                checker.header_of(key) if key in checker.columns else definition.label,
                f"{definition.label} is required.",
            )
            ok = False
    return plan if ok else None


def _check_attachments(checker: Checker, plans: list[RowPlan], new_codes: dict[str, int]) -> None:
    wanted = sorted({code for plan in plans for code in plan.attaches_to})
    if not wanted:
        return
    primaries = set(
        Product.objects.filter(code__in=wanted, kind=ProductKind.PRIMARY).values_list(
            "code", flat=True
        )
    )
    new_primaries = {
        plan.fields["code"]
        for plan in plans
        if plan.product is None and plan.fields.get("kind") == ProductKind.PRIMARY
    }
    for plan in list(plans):
        unknown = [
            code for code in plan.attaches_to if code not in primaries and code not in new_primaries
        ]
        if unknown:
            checker.fail(
                plan.number,
                checker.header_of("attaches_to"),
                f"No primary product with the code {', '.join(unknown)}.",
            )
            plans.remove(plan)


# ------------------------------------------------------------------------------ writing


def _audit_rows(
    job: ProductImport, products: list[Product], action: int, changes: dict[int, dict[str, Any]]
) -> list[LogEntry]:
    content_type = ContentType.objects.get_for_model(Product)
    now = timezone.now()
    return [
        LogEntry(
            content_type=content_type,
            object_pk=str(product.pk),
            object_id=product.pk,
            object_repr=str(product),
            action=action,
            changes=changes.get(product.pk, {}),
            actor=job.created_by,
            timestamp=now,
            additional_data={"import": job.pk},
        )
        for product in products
    ]


def write_rows(job: ProductImport, plans: list[RowPlan]) -> tuple[int, int]:
    """Write the checked rows in bulk; the caller holds the transaction."""
    now = timezone.now()
    creating = [plan for plan in plans if plan.product is None]
    updating = [plan for plan in plans if plan.product is not None]

    new_products = [
        Product(product_type_id=job.product_type_id, custom_data=plan.custom_data, **plan.fields)
        for plan in creating
    ]
    Product.objects.bulk_create(new_products, batch_size=BATCH_SIZE)
    for plan, product in zip(creating, new_products, strict=True):
        plan.product = product
    if any(plan.attaches_to for plan in creating):
        codes = {code for plan in creating for code in plan.attaches_to}
        ids = dict(Product.objects.filter(code__in=codes).values_list("code", "pk"))
        through = Product.primary_products.through
        through.objects.bulk_create(
            [
                through(from_product_id=plan.product.pk, to_product_id=ids[code])
                for plan in creating
                if plan.product is not None
                for code in plan.attaches_to
            ],
            batch_size=BATCH_SIZE,
        )

    changed_fields: set[str] = set()
    update_changes: dict[int, dict[str, Any]] = {}
    updated_products: list[Product] = []
    for plan in updating:
        product = plan.product
        assert product is not None
        changes: dict[str, Any] = {}
        values = dict(plan.fields)
        if plan.custom_data:
            values["custom_data"] = {**(product.custom_data or {}), **plan.custom_data}
        for name, value in values.items():
            old = getattr(product, name)
            if old != value:
                changes[name] = [str(old), str(value)]
                setattr(product, name, value)
                changed_fields.add(name)
        if changes:
            product.updated_at = now
            update_changes[product.pk] = changes
            updated_products.append(product)
    if updated_products:
        Product.objects.bulk_update(
            updated_products, [*sorted(changed_fields), "updated_at"], batch_size=BATCH_SIZE
        )

    _write_prices(job, plans)

    create_changes = {
        plan.product.pk: {name: ["None", str(value)] for name, value in plan.fields.items()}
        for plan in creating
        if plan.product is not None
    }
    LogEntry.objects.bulk_create(
        _audit_rows(job, new_products, LogEntry.Action.CREATE, create_changes)
        + _audit_rows(job, updated_products, LogEntry.Action.UPDATE, update_changes),
        batch_size=BATCH_SIZE,
    )
    return len(creating), len(updating)


def _write_prices(job: ProductImport, plans: list[RowPlan]) -> None:
    priced = [plan for plan in plans if plan.prices]
    if not priced:
        return
    product_ids = [plan.product.pk for plan in priced if plan.product is not None]
    existing_plans: dict[tuple[int, str], ProductPlan] = {}
    for chunk_start in range(0, len(product_ids), LOOKUP_CHUNK):
        chunk = product_ids[chunk_start : chunk_start + LOOKUP_CHUNK]
        for product_plan in ProductPlan.objects.filter(
            product_id__in=chunk, charge_type=job.charge_type
        ).order_by("commitment_months", "pk"):
            existing_plans.setdefault(
                (product_plan.product_id, product_plan.billing_cycle), product_plan
            )
    new_plans: list[ProductPlan] = []
    for plan in priced:
        assert plan.product is not None
        for cycle in plan.prices:
            if (plan.product.pk, cycle) not in existing_plans:
                product_plan = ProductPlan(
                    product_id=plan.product.pk, billing_cycle=cycle, charge_type=job.charge_type
                )
                existing_plans[(plan.product.pk, cycle)] = product_plan
                new_plans.append(product_plan)
    ProductPlan.objects.bulk_create(new_plans, batch_size=BATCH_SIZE)

    plan_ids = [product_plan.pk for product_plan in existing_plans.values()]
    prices: dict[int, ProductPrice] = {}
    for chunk_start in range(0, len(plan_ids), LOOKUP_CHUNK):
        chunk = plan_ids[chunk_start : chunk_start + LOOKUP_CHUNK]
        for price in ProductPrice.objects.filter(plan_id__in=chunk, currency=job.currency):
            prices[price.plan_id] = price
    to_create: list[ProductPrice] = []
    to_update: list[ProductPrice] = []
    now = timezone.now()
    for plan in priced:
        assert plan.product is not None
        for cycle, amount in plan.prices.items():
            product_plan = existing_plans[(plan.product.pk, cycle)]
            price = prices.get(product_plan.pk)
            if price is None:
                to_create.append(
                    ProductPrice(
                        plan_id=product_plan.pk,
                        currency=job.currency,
                        price=amount,
                        cost_price=plan.cost_price,
                        setup_fee=plan.setup_fee or Decimal(0),
                    )
                )
                continue
            price.price = amount
            if plan.cost_price is not None:
                price.cost_price = plan.cost_price
            if plan.setup_fee is not None:
                price.setup_fee = plan.setup_fee
            price.updated_at = now
            to_update.append(price)
    ProductPrice.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
    ProductPrice.objects.bulk_update(
        to_update, ["price", "cost_price", "setup_fee", "updated_at"], batch_size=BATCH_SIZE
    )


# ----------------------------------------------------------------------------- services


@transaction.atomic
def import_upload(
    *,
    actor: Any,
    file_name: str,
    content: bytes,
    currency: str,
    charge_type: str,
    product_type: ProductType | None = None,
    sheet_name: str = "",
    match_by_code: bool = True,
    match_by_name: bool = False,
    match_by_type: bool = False,
) -> ProductImport:
    """Keep an uploaded file with its settings once it reads as a table with a header row."""
    if len(content) > MAX_FILE_BYTES:
        raise ValidationError({"file": "The file is larger than 20 MB."})
    if not file_name.lower().endswith((".xlsx", ".xlsm", ".csv")):
        raise ValidationError({"file": "Upload an .xlsx or .csv file."})
    if charge_type not in ChargeType.values:
        raise ValidationError({"charge_type": f"Unknown pricing type {charge_type!r}."})
    if match_by_type and product_type is None:
        raise ValidationError({"match_by_type": "Choose the product type to match by."})
    currency = clean_currency(currency)
    read_table(content, file_name, sheet_name, limit=1)
    job = ProductImport(
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        file_name=file_name[:255],
        file_content=content,
        sheet_name=sheet_name,
        currency=currency,
        product_type=product_type,
        charge_type=charge_type,
        match_by_code=match_by_code,
        match_by_name=match_by_name,
        match_by_type=match_by_type,
    )
    with acting_as(actor):
        job.save()
    return job


@transaction.atomic
def import_start(*, actor: Any, job: ProductImport, mapping: dict[str, str]) -> ProductImport:
    """Store the column mapping and queue the run."""
    job = ProductImport.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportStatus.UPLOADED:
        raise ValidationError(f"This import is already {job.get_status_display().lower()}.")
    keys = {target.key for target in targets_for(job.charge_type)}
    chosen = {index: key for index, key in mapping.items() if key}
    unknown = sorted(set(chosen.values()) - keys)
    if unknown:
        raise ValidationError({"mapping": f"Unknown fields: {', '.join(unknown)}."})
    doubled = sorted({key for key in chosen.values() if list(chosen.values()).count(key) > 1})
    if doubled:
        raise ValidationError(
            {"mapping": f"More than one column is mapped to {', '.join(doubled)}."}
        )
    job.mapping = chosen
    job.status = ImportStatus.QUEUED
    with acting_as(actor):
        job.save(update_fields=["mapping", "status", "updated_at"])
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from catalogue.tasks import run_product_import

    run_product_import.delay(job_id)


def _claim(job_id: int) -> bool:
    """Take the queued run with a conditional update, so a redelivered task does nothing."""
    return bool(
        ProductImport.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
            status=ImportStatus.RUNNING, started_at=timezone.now(), processed_rows=0
        )
    )


def _finish(job: ProductImport, **fields: Any) -> None:
    fields["finished_at"] = timezone.now()
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=[*fields, "updated_at"])


def import_run(*, job_id: int) -> ProductImport:
    """Check every row, then write all of them in one transaction, or none."""
    if not _claim(job_id):
        return ProductImport.objects.get(pk=job_id)
    job = ProductImport.objects.select_related("created_by").get(pk=job_id)
    try:
        table = read_table(bytes(job.file_content), job.file_name, job.sheet_name)
    except ValidationError as unreadable:
        _finish(job, status=ImportStatus.FAILED, failure_reason=" ".join(unreadable.messages))
        return job
    ProductImport.objects.filter(pk=job.pk).update(total_rows=len(table.rows))
    job.total_rows = len(table.rows)

    def progress(done: int) -> None:
        ProductImport.objects.filter(pk=job.pk).update(processed_rows=done)

    plans, checker = check_rows(job, table, progress)
    if checker.error_count:
        reason = f"{checker.error_count} error(s) found; nothing was imported."
        _finish(
            job,
            status=ImportStatus.FAILED,
            errors=checker.errors,
            failure_reason=reason,
            processed_rows=len(table.rows),
        )
        return job
    try:
        with transaction.atomic(), acting_as(job.created_by):
            created, updated = write_rows(job, plans)
            emit_event(
                "product.imported",
                actor=job.created_by,
                aggregate=job,
                payload={"created": created, "updated": updated, "currency": job.currency},
            )
            _finish(
                job,
                status=ImportStatus.SUCCEEDED,
                created_count=created,
                updated_count=updated,
                processed_rows=len(table.rows),
            )
    except DatabaseError as error:
        # Checked rows can still collide with a change made meanwhile (a code taken by
        # someone else); the transaction is gone, so the run ends refused with the reason.
        logger.exception("product import %s failed while writing", job.pk)
        job.refresh_from_db()
        _finish(
            job,
            status=ImportStatus.FAILED,
            failure_reason=f"Nothing was imported: the database refused the rows ({error}).",
        )
    return job
