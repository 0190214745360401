from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TabledayConfig(AppConfig):
    name = "backend.tableday"
    label = "tableday"
    verbose_name = _("Día de la elección en la mesa")
