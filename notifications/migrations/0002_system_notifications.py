"""The preconfigured system notifications of spec 2.3 (active, editable)."""

from django.db import migrations


def install(apps, schema_editor):
    from notifications.system import install_system_templates

    install_system_templates(
        apps.get_model("notifications", "NotificationTemplate"),
        apps.get_model("notifications", "TemplateText"),
    )


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_email_templates_messages")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
