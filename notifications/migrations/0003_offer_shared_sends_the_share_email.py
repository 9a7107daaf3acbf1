""" "Offer shared" becomes the share dialog's one email: to the contacts chosen there,
with the sender's message, the public link and the validity (spec 2.3). Only what the
organization left as first installed is replaced."""

from django.db import migrations


def update(apps, schema_editor):
    from notifications.system import update_offer_shared

    update_offer_shared(
        apps.get_model("notifications", "NotificationTemplate"),
        apps.get_model("notifications", "TemplateText"),
    )


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_system_notifications")]

    operations = [migrations.RunPython(update, migrations.RunPython.noop)]
