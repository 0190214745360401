from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class SmsConfig(AppConfig):
    name = "sms"
    label = "sms"
    verbose_name = _("SMS")

    def ready(self):
        from backend.notices.models import Notice

        from .signals import notice_saved

        post_save.connect(notice_saved, sender=Notice, dispatch_uid="sms.notice_saved")
