"""The technology market app."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketConfig(AppConfig):
    """Offers, requests, challenges, expressions of interest, deals and brokers."""

    name = "techexchange.market"
    label = "market"
    verbose_name = _("技术市场")

    def ready(self) -> None:
        """Register the market's doc types with the search engine."""
        from techexchange.market.matching import register_doc_types

        register_doc_types()
