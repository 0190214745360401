"""Every polling place has its thread from now on: create the ones reading used to create on demand."""

from django.db import migrations


def create_missing_threads(apps, schema_editor):
    PollingPlace = apps.get_model("elections", "PollingPlace")
    Thread = apps.get_model("threads", "Thread")
    missing = PollingPlace.objects.filter(thread__isnull=True).values_list("pk", "election_id")
    Thread.objects.bulk_create(
        (Thread(place_id=pk, election_id=election_id) for pk, election_id in missing.iterator(chunk_size=5000)),
        batch_size=2000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("threads", "0002_moderation_read_states_sms_deliveries"),
        ("elections", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_missing_threads, migrations.RunPython.noop)]
