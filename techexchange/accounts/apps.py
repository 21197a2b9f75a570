"""App config for accounts."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users and organisations."""

    name = "techexchange.accounts"
    label = "accounts"
    verbose_name = "账户与机构"
