from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CountConfig(AppConfig):
    name = "backend.count"
    label = "count"
    verbose_name = _("Escrutinio: actas y conteo rápido")

    def ready(self) -> None:
        from . import signals

        signals.connect()
