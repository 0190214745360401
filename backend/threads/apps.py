from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ThreadsConfig(AppConfig):
    name = "backend.threads"
    label = "threads"
    verbose_name = _("Hilos por establecimiento")

    def ready(self):
        # Registers the Celery tasks that the services queue by name (backend.core.jobs).
        from . import tasks  # noqa: F401
