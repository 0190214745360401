from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "backend.messaging"
    label = "messaging"
    verbose_name = _("Mensajes")

    def ready(self):
        from .models import MessageTemplate
        from .texts import templates_changed

        post_save.connect(templates_changed, sender=MessageTemplate, dispatch_uid="messaging.templates_changed")
        post_delete.connect(templates_changed, sender=MessageTemplate, dispatch_uid="messaging.templates_deleted")
