from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CountConfig(AppConfig):
    name = "backend.count"
    label = "count"
    verbose_name = _("Escrutinio: actas y conteo rápido")

    def ready(self) -> None:
        # Registers the official import task in every process that may queue it by name (backend.core.jobs).
        from . import signals, tasks  # noqa: F401

        signals.connect()
