"""Job now lives in core/ (core 0001 takes it over); only the migration state forgets it here, the table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("collection", "0002_artwork_version_and_provenance"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Job")],
            database_operations=[],
        ),
    ]
