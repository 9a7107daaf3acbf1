from django.conf import settings
from django.db import migrations


def create_organization(apps, schema_editor):
    # Every page reads the profile; with the row there from the start, nobody's first
    # page view has to write it (and audit it) on the way.
    Organization = apps.get_model("setup", "Organization")
    Currency = apps.get_model("setup", "Currency")
    Organization.objects.get_or_create(
        pk=1,
        defaults={
            "legal_name": settings.BSS_ORGANIZATION_NAME,
            "home_currency": Currency.objects.filter(code="EUR").first(),
        },
    )


class Migration(migrations.Migration):
    dependencies = [("setup", "0003_setup_areas")]

    operations = [migrations.RunPython(create_organization, migrations.RunPython.noop)]
