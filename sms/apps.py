from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class SmsConfig(AppConfig):
    name = "sms"
    label = "sms"
    verbose_name = _("SMS")

    def ready(self):
        from .models import MessageTemplate
        from .texts import templates_changed

        post_save.connect(templates_changed, sender=MessageTemplate, dispatch_uid="sms.templates_changed")
        post_delete.connect(templates_changed, sender=MessageTemplate, dispatch_uid="sms.templates_deleted")
