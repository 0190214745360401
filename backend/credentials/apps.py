from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CredentialsConfig(AppConfig):
    name = "backend.credentials"
    label = "credentials"
    verbose_name = _("Credenciales")

    def ready(self) -> None:
        # Registers the batch task in every process that may queue it by name (backend.core.jobs).
        from . import tasks  # noqa: F401
