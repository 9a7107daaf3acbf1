"""The two numbering series every installation starts with: invoices and credit notes."""

from django.db import migrations

DEFAULT_SERIES = [
    {"code": "invoices", "name": "Invoices", "kind": "debit", "prefix": "INV"},
    {"code": "credit-notes", "name": "Credit notes", "kind": "credit", "prefix": "CN"},
]


def create_default_series(apps, schema_editor):
    InvoiceSeries = apps.get_model("billing", "InvoiceSeries")
    for series in DEFAULT_SERIES:
        if not InvoiceSeries.objects.filter(kind=series["kind"], is_default=True).exists():
            InvoiceSeries.objects.get_or_create(
                code=series["code"],
                defaults={
                    "name": series["name"],
                    "kind": series["kind"],
                    "prefix": series["prefix"],
                    "pattern": "{prefix}-{year}-{number}",
                    "padding": 6,
                    "resets_yearly": True,
                    "is_default": True,
                },
            )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(create_default_series, migrations.RunPython.noop)]
