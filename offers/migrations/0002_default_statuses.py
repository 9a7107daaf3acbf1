"""The default offer statuses: In Progress, Accepted and Lost, one of each type."""

from django.db import migrations

DEFAULTS = [
    ("In Progress", "in_progress", "#0d6efd", 10),
    ("Accepted", "accepted", "#198754", 20),
    ("Lost", "lost", "#6c757d", 30),
]


def create_default_statuses(apps, schema_editor):
    OfferStatus = apps.get_model("offers", "OfferStatus")
    for name, status_type, color, position in DEFAULTS:
        if not OfferStatus.objects.filter(status_type=status_type).exists():
            OfferStatus.objects.create(
                name=name,
                status_type=status_type,
                is_default=True,
                color=color,
                position=position,
            )


class Migration(migrations.Migration):
    dependencies = [("offers", "0001_initial")]

    operations = [migrations.RunPython(create_default_statuses, migrations.RunPython.noop)]
