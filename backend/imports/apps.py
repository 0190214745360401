from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "backend.imports"
    label = "imports"
    verbose_name = _("Importaciones")

    def ready(self):
        # Registers the Celery tasks that the services queue by name (backend.core.jobs).
        from . import tasks  # noqa: F401
