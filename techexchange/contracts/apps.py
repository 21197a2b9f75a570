"""App config of contracts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractsConfig(AppConfig):
    """Technology contracts: registration, bulk import, statistics."""

    name = "techexchange.contracts"
    label = "contracts"
    verbose_name = _("技术合同")
