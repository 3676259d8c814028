"""Cases link to a failure mode instead of carrying a free-text category.

Existing categories are kept: each distinct one becomes an accepted failure
mode (scored 5/5/5, to be re-scored) under the touchpoint "Unsorted", and its
cases are linked to it; 0004 then drops the column. Each step is its own
migration: PostgreSQL refuses to alter a table with a data step's triggers pending.
"""

from django.db import migrations


def categories_to_failure_modes(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    Touchpoint = apps.get_model("failuremodes", "Touchpoint")
    FailureMode = apps.get_model("failuremodes", "FailureMode")
    raw = list(Case.objects.exclude(category="").values_list("category", flat=True).distinct())
    # Spellings of one category ("Billing", "billing ") become one mode, titled
    # by its capitalised spelling when there is one.
    raw.sort(key=lambda name: (name.strip().lower(), name.strip()))
    if not any(name.strip() for name in raw):
        return
    touchpoint, _ = Touchpoint.objects.get_or_create(
        name="Unsorted",
        site=None,
        defaults={
            "description": "Failure modes made from the free-text case categories of "
            "earlier versions; move them to the right touchpoint and score them.",
            "position": 1000,
        },
    )
    modes = {}
    for name in raw:
        key = name.strip().lower()
        if not key:
            continue
        if key not in modes:
            modes[key] = FailureMode.objects.create(
                touchpoint=touchpoint,
                title=name.strip()[:160],
                severity=5,
                occurrence=5,
                detection=5,
                status="accepted",
                decision_reason="Made from an existing case category.",
            )
        Case.objects.filter(category=name).update(failure_mode=modes[key])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_failure_mode_breakdown"),
        ("failuremodes", "0001_initial"),
    ]

    operations = [migrations.RunPython(categories_to_failure_modes, migrations.RunPython.noop)]
