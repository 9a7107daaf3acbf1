"""The four order statuses every organization has: Draft, Submitted, Executed, Canceled."""

from django.db import migrations

MANDATORY = [
    ("draft", "Draft", "in_progress", "draft", "#adb5bd", 0),
    ("submitted", "Submitted", "in_progress", "viewable", "#0d6efd", 10),
    ("executed", "Executed", "automatic_execute", "submitted", "#198754", 20),
    ("canceled", "Canceled", "cancelled", "viewable", "#dc3545", 30),
]


def create_mandatory_statuses(apps, schema_editor):
    OrderStatus = apps.get_model("orders", "OrderStatus")
    for key, name, status_type, storefront_type, color, position in MANDATORY:
        OrderStatus.objects.get_or_create(
            system_key=key,
            defaults={
                "name": name,
                "status_type": status_type,
                "storefront_type": storefront_type,
                "color": color,
                "position": position,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [migrations.RunPython(create_mandatory_statuses, migrations.RunPython.noop)]
