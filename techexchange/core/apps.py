"""App config for core."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Base models and helpers."""

    name = "techexchange.core"
    label = "core"
    verbose_name = "核心"
