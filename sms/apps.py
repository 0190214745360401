from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmsConfig(AppConfig):
    name = "sms"
    label = "sms"
    verbose_name = _("SMS")

    def ready(self):
        # Registers the Celery tasks that the domain queues by name (backend.core.jobs).
        from . import tasks  # noqa: F401
