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
    # Seen only by the place's coordinators (and leads) and its fiscal general: a decline names a person.
    staff_only = models.BooleanField(_("solo coordinación"), default=False)
    # Set with the attachments, so a page of messages needs no query per message to know.
    has_attachments = models.BooleanField(_("tiene adjuntos"), default=False)
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


class ThreadReadState(models.Model):
    """How far a user has read a thread on the web: read receipts and the unread escalation."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="read_states", verbose_name=_("hilo"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="thread_read_states", verbose_name=_("usuario")
    )
    last_read_id = models.BigIntegerField(_("último mensaje leído"), default=0)
    last_seen_at = models.DateTimeField(_("visto por última vez"), null=True, blank=True)

    class Meta:
        verbose_name = _("lectura de hilo")
        verbose_name_plural = _("lecturas de hilos")
        constraints = [models.UniqueConstraint(fields=["thread", "user"], name="thread_read_state_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.thread}: {self.last_read_id}"


class ThreadMute(models.Model):
    """A member a coordinator silenced in one thread: they still read, they cannot post."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="mutes", verbose_name=_("hilo"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("usuario"),
    )
    volunteer = models.ForeignKey(
        "volunteers.Volunteer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="thread_mutes",
        verbose_name=_("fiscal"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("por")
    )
    created_at = models.DateTimeField(_("desde"), auto_now_add=True)

    class Meta:
        verbose_name = _("silenciamiento")
        verbose_name_plural = _("silenciamientos")
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, volunteer__isnull=True) | Q(user__isnull=True, volunteer__isnull=False),
                name="thread_mute_one_target",
            ),
            models.UniqueConstraint(fields=["thread", "user"], name="thread_mute_unique_user"),
            models.UniqueConstraint(fields=["thread", "volunteer"], name="thread_mute_unique_volunteer"),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer or self.user} @ {self.thread}"


class ModerationKind(models.TextChoices):
    HIDE = "hide", _("Ocultó un mensaje")
    UNHIDE = "unhide", _("Mostró un mensaje")
    PIN = "pin", _("Fijó un mensaje")
    UNPIN = "unpin", _("Desfijó un mensaje")
    MUTE = "mute", _("Silenció a un miembro")
    UNMUTE = "unmute", _("Quitó el silencio a un miembro")


class ThreadModerationEvent(models.Model):
    """The audit trail of moderation: who did what to which message or member, when and why."""

    thread = models.ForeignKey(
        Thread, on_delete=models.CASCADE, related_name="moderation_events", verbose_name=_("hilo")
    )
    kind = models.CharField(_("acción"), max_length=16, choices=ModerationKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("quién")
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("mensaje")
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("usuario afectado"),
    )
    target_volunteer = models.ForeignKey(
        "volunteers.Volunteer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("fiscal afectado"),
    )
    reason = models.CharField(_("motivo"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("cuándo"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("evento de moderación")
        verbose_name_plural = _("eventos de moderación")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.actor})"


class AnnouncementDelivery(models.Model):
    """An announcement sent by SMS to one member: at most one row (so one SMS) per member."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="sms_deliveries", verbose_name=_("anuncio")
    )
    volunteer = models.ForeignKey(
        "volunteers.Volunteer", on_delete=models.CASCADE, related_name="+", verbose_name=_("fiscal")
    )
    notice = models.ForeignKey(
        "notices.Notice", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("aviso")
    )
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)

    class Meta:
        verbose_name = _("anuncio enviado por SMS")
        verbose_name_plural = _("anuncios enviados por SMS")
        constraints = [
            models.UniqueConstraint(fields=["message", "volunteer"], name="announcement_delivery_once_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.volunteer}"


class Attachment(models.Model):
    """A photo attached to a thread message (an MMS from a volunteer's phone)."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("mensaje")
    )
    file = models.FileField(_("archivo"), upload_to="threads/%Y/%m/")
    content_type = models.CharField(_("tipo"), max_length=32)
    size = models.PositiveIntegerField(_("tamaño"))
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)

    class Meta:
        verbose_name = _("adjunto")
        verbose_name_plural = _("adjuntos")
        ordering = ["id"]

    def __str__(self) -> str:
        return str(self.file.name)
