from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    name = "backend.console"
    label = "console"
    verbose_name = _("Consola de coordinación")

    def ready(self) -> None:
        # Registers the export task in every process that may queue it by name (backend.core.jobs).
        from . import tasks  # noqa: F401
