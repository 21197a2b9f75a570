"""App config for web."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    """Server-rendered pages."""

    name = "techexchange.web"
    label = "web"
    verbose_name = "网站"
