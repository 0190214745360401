"""One conversation per polling place per election."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MESSAGE_MAX_LENGTH = 2000


class Thread(models.Model):
    election = models.ForeignKey(
        "elections.Election", on_delete=models.CASCADE, related_name="threads", verbose_name=_("elección")
    )
    place = models.OneToOneField(
        "elections.PollingPlace", on_delete=models.CASCADE, related_name="thread", verbose_name=_("establecimiento")
    )
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)

    class Meta:
        verbose_name = _("hilo")
        verbose_name_plural = _("hilos")

    def __str__(self) -> str:
        return str(self.place)


class MessageSource(models.TextChoices):
    WEB = "web", _("Web")
    SMS = "sms", _("SMS")


class Message(models.Model):
    # The primary key is the thread's strictly increasing sequence: clients catch up "after id N".
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages", verbose_name=_("hilo"))
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("autor (usuario)"),
    )
    author_volunteer = models.ForeignKey(
        "volunteers.Volunteer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="thread_messages",
        verbose_name=_("autor (fiscal)"),
    )
    body = models.TextField(_("texto"), max_length=MESSAGE_MAX_LENGTH)
    source = models.CharField(_("origen"), max_length=8, choices=MessageSource.choices, default=MessageSource.WEB)
    announcement = models.BooleanField(_("anuncio"), default=False)
    pinned = models.BooleanField(_("fijado"), default=False)
    hidden = models.BooleanField(_("oculto"), default=False)
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)

    class Meta:
        verbose_name = _("mensaje")
        verbose_name_plural = _("mensajes")
        ordering = ["id"]
        indexes = [models.Index(fields=["thread", "id"], name="message_thread_id")]
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="message_body_not_empty"),
        ]

    def __str__(self) -> str:
        return self.body[:60]
