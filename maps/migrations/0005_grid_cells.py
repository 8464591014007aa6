from django.db import migrations, models


class Migration(migrations.Migration):
    """Each map point's cell in its build's grid layout; older builds get theirs computed when served."""

    dependencies = [
        ("embeddings", "0004_cluster_points"),
    ]

    operations = [
        migrations.AddField(model_name="mappoint", name="gx", field=models.IntegerField(blank=True, null=True)),
        migrations.AddField(model_name="mappoint", name="gy", field=models.IntegerField(blank=True, null=True)),
    ]
