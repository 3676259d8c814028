from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_categories_to_failure_modes")]

    operations = [migrations.RemoveField(model_name="case", name="category")]
