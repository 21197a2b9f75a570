"""App config for regions."""

from django.apps import AppConfig


class RegionsConfig(AppConfig):
    """Regions and blocs."""

    name = "techexchange.regions"
    label = "regions"
    verbose_name = "地区"
