"""App config for resources."""

from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    """Shared instruments, facilities, research bases, experts and their bookings."""

    name = "techexchange.resources"
    label = "resources"
    verbose_name = "资源共享"

    def ready(self) -> None:
        """Register the instrument document type with the search engine."""
        from techexchange.resources import indexing

        indexing.register()
