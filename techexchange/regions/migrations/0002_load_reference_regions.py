"""Load the reference regions and blocs (GB/T 2260 provinces, the 41 YRD cities, blocs)."""

from django.db import migrations


def load(apps, schema_editor):
    from techexchange.regions.loader import load_reference_regions

    load_reference_regions(apps.get_model("regions", "Region"), apps.get_model("regions", "Bloc"))


def unload(apps, schema_editor):
    apps.get_model("regions", "Bloc").objects.all().delete()
    apps.get_model("regions", "Region").objects.filter(parent__isnull=False).delete()
    apps.get_model("regions", "Region").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("regions", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
