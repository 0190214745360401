from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ElectionsConfig(AppConfig):
    name = "backend.elections"
    label = "elections"
    verbose_name = _("Elecciones y establecimientos")
