"""Load the instrument category tree (15 top levels and their second levels)."""

from django.db import migrations


def load(apps, schema_editor):
    from techexchange.resources.categories import category_rows

    Category = apps.get_model("resources", "Category")
    for code, name_zh, name_en, parent in category_rows():
        Category.objects.update_or_create(
            code=code, defaults={"name_zh": name_zh, "name_en": name_en, "parent_id": parent}
        )


def unload(apps, schema_editor):
    Category = apps.get_model("resources", "Category")
    Category.objects.filter(parent__isnull=False).delete()
    Category.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("resources", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
