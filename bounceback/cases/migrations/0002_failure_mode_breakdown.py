"""Cases link to a failure mode and a breakdown (0003 moves the old categories over)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("breakdowns", "0001_initial"),
        ("cases", "0001_initial"),
        ("failuremodes", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="failure_mode",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="cases",
                to="failuremodes.failuremode",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="proactive",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="case",
            name="breakdown",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="cases",
                to="breakdowns.breakdown",
            ),
        ),
    ]
