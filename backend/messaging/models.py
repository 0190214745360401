"""What we sent and received by SMS, the broadcasts that produced it, and the editable texts.

The messaging domain: `sms/` (the Twilio adapter) sends and receives these rows. The tables keep
their first names (sms_*): the models moved here from the sms app without moving data.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class TemplateKind(models.TextChoices):
    # Notices written by the domain (backend.notices.NoticeKind) ...
    ASSIGNMENT = "assignment", _("Asignación")
    CHANGE = "change", _("Cambio de lugar o mesa")
    CANCELLATION = "cancellation", _("Cancelación")
    REMINDER = "reminder", _("Recordatorio (días antes)")
    REMINDER_EVE = "reminder_eve", _("Recordatorio (la noche anterior)")
    CONFIRMATION_RECEIVED = "confirmation_received", _("Confirmación recibida")
    DECLINE_RECEIVED = "decline_received", _("Rechazo recibido")
    CHECK_IN_RECEIVED = "check_in_received", _("Presente recibido")
    INSTRUCTION = "instruction", _("Instrucción")
    ANNOUNCEMENT = "announcement", _("Anuncio del hilo")
    SHEET_ASKED_BACK = "sheet_asked_back", _("Acta a revisar")
    SHIFT_INCOMING = "shift_incoming", _("Recordatorio del turno tarde")
    SHIFT_OUTGOING = "shift_outgoing", _("Recordatorio del cambio de turno (turno mañana)")
    SHIFT_CHANGED = "shift_changed", _("Cambio de turno (todo el día, mañana o tarde)")
    # ... and replies to keywords.
    INFO = "info", _("Respuesta a MESA")
    NO_ASSIGNMENT = "no_assignment", _("Sin asignación")
    HELP = "help", _("Ayuda")
    OPT_OUT = "opt_out", _("Baja confirmada")
    OPT_IN = "opt_in", _("Alta confirmada")
    THREAD_RECEIVED = "thread_received", _("Mensaje al hilo recibido")
    NOT_ELECTION_DAY = "not_election_day", _("Presente fuera del día de la elección")
    UNKNOWN_NUMBER = "unknown_number", _("Número desconocido")
    # Alerts to staff (coordinators), written by the domain (backend.messaging.staff).
    STAFF_ALERT = "staff_alert", _("Alerta a coordinadores")
    ASK_CONFIRM = "ask_confirm", _("Pregunta si confirma (respuesta dudosa)")
    VERIFY_PHONE = "verify_phone", _("Verificación de un número completado")
    MEDIA_REFUSED = "media_refused", _("Foto rechazada")
    INBOUND_FAILED = "inbound_failed", _("Error al procesar un mensaje")
    CHANNEL_CHANGED = "channel_changed", _("Canal cambiado (WHATSAPP / SMS)")


class MessageChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")


class MessageTemplate(models.Model):
    """An override of a default text (backend.messaging.texts.DEFAULT_TEXTS); coordinators edit them in the admin."""

    kind = models.CharField(_("tipo"), max_length=32, choices=TemplateKind.choices, unique=True)
    body = models.TextField(_("texto"))
    transliterate = models.BooleanField(
        _("quitar tildes"), default=True, help_text=_("Convierte el texto a GSM-7: un SMS de 160 caracteres, no 70.")
    )
    updated_at = models.DateTimeField(_("actualizado"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "sms_messagetemplate"
        verbose_name = _("plantilla de SMS")
        verbose_name_plural = _("plantillas de SMS")
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()


class BroadcastStatus(models.TextChoices):
    """draft | pending_approval -> approved -> sending -> done; any of them but done -> cancelled."""

    DRAFT = "draft", _("Borrador")
    PENDING_APPROVAL = "pending_approval", _("Espera aprobación")
    APPROVED = "approved", _("Aprobada")
    SENDING = "sending", _("Enviando")
    DONE = "done", _("Terminada")
    CANCELLED = "cancelled", _("Cancelada")


class Broadcast(models.Model):
    """An instruction from a coordinator to a segment of volunteers, rendered per recipient.

    The audience is fixed when it is created (BroadcastRecipient rows, from the creator's scope and
    the segment); approval and send act on that audience, count and cost.
    """

    election = models.ForeignKey("elections.Election", on_delete=models.CASCADE, related_name="broadcasts")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="broadcasts")
    body = models.TextField(_("plantilla"))
    # {"areas": [ids], "places": [ids], "roles": ["table"|"place"], "statuses": [assignment statuses]}
    segment = models.JSONField(_("segmento"), default=dict, blank=True)
    transliterate = models.BooleanField(_("quitar tildes"), default=True)
    status = models.CharField(
        _("estado"), max_length=20, choices=BroadcastStatus.choices, default=BroadcastStatus.DRAFT
    )
    recipient_count = models.PositiveIntegerField(_("destinatarios"), default=0)
    segments_per_message = models.PositiveSmallIntegerField(_("segmentos por mensaje"), default=1)
    # Every message's segments added up (mixed encodings and lengths); 0 on rows older than it.
    segments_total = models.PositiveIntegerField(_("segmentos en total"), default=0)
    estimated_cost = models.DecimalField(_("costo estimado"), max_digits=12, decimal_places=4, default=0)
    currency = models.CharField(_("moneda"), max_length=3, default="ARS")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(_("aprobada"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(_("envío pedido"), null=True, blank=True)
    # Set by the queueing task once every message row exists; the task does nothing a second time.
    queued_at = models.DateTimeField(_("encolada"), null=True, blank=True)
    queued_count = models.PositiveIntegerField(_("mensajes encolados"), default=0)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    stopped_count = models.PositiveIntegerField(_("mensajes detenidos"), default=0)
    finished_at = models.DateTimeField(_("terminada"), null=True, blank=True)
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)

    class Meta:
        db_table = "sms_broadcast"
        verbose_name = _("envío masivo")
        verbose_name_plural = _("envíos masivos")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.body[:40]}"


class BroadcastRecipient(models.Model):
    """One person of a broadcast's audience, fixed when the broadcast was created."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="recipients")
    volunteer = models.ForeignKey("volunteers.Volunteer", on_delete=models.CASCADE, related_name="+")

    class Meta:
        db_table = "sms_broadcastrecipient"
        verbose_name = _("destinatario de envío masivo")
        verbose_name_plural = _("destinatarios de envíos masivos")
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "volunteer"], name="sms_broadcast_recipient_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.broadcast_id} → {self.volunteer_id}"


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", _("En cola")
    SENDING = "sending", _("Enviando")
    SENT = "sent", _("Enviado")
    DELIVERED = "delivered", _("Entregado")
    FAILED = "failed", _("Falló")
    UNDELIVERED = "undelivered", _("No entregado")
    # Stopped before it left: its broadcast was cancelled while it waited in the queue.
    CANCELLED = "cancelled", _("Detenido")


# Statuses only move forward: a late "sent" callback never undoes "delivered".
STATUS_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "failed": 3, "undelivered": 3, "cancelled": 3}
FINAL_STATUSES = ("delivered", "failed", "undelivered", "cancelled")


class OutboundMessage(models.Model):
    volunteer = models.ForeignKey(
        "volunteers.Volunteer", on_delete=models.SET_NULL, null=True, blank=True, related_name="sms_sent"
    )
    to = models.CharField(_("para"), max_length=20)
    body = models.TextField(_("texto"))
    kind = models.CharField(_("tipo"), max_length=32, choices=TemplateKind.choices)
    notice = models.OneToOneField(
        "notices.Notice", on_delete=models.SET_NULL, null=True, blank=True, related_name="outbound"
    )
    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, null=True, blank=True, related_name="messages")
    status = models.CharField(_("estado"), max_length=12, choices=OutboundStatus.choices, default="queued")
    # Twilio's own last status (accepted, queued, sending, sent, delivered...), for the record.
    provider_status = models.CharField(_("estado en Twilio"), max_length=16, blank=True)
    sid = models.CharField(_("SID"), max_length=64, null=True, blank=True, unique=True)
    error_code = models.IntegerField(_("código de error"), null=True, blank=True)
    error_message = models.CharField(_("motivo"), max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(_("intentos"), default=0)
    segments = models.PositiveSmallIntegerField(_("segmentos"), default=1)
    encoding = models.CharField(_("codificación"), max_length=8, default="GSM-7")
    # The lane of the sender pool it leaves from (a number, or the Messaging Service), fixed at queueing.
    sender = models.CharField(_("remitente"), max_length=64, blank=True, default="")
    channel = models.CharField(_("canal"), max_length=8, choices=MessageChannel.choices, default=MessageChannel.SMS)
    # Outside WhatsApp's 24-hour window: the approved template (Twilio Content SID) and its variables.
    content_sid = models.CharField(_("plantilla de WhatsApp"), max_length=64, blank=True, default="")
    content_variables = models.JSONField(_("variables de la plantilla"), default=dict, blank=True)
    # The SMS that carried a failed WhatsApp message again: one at most (unique).
    fallback_of = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="fallback", verbose_name=_("reenvío de")
    )
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("tomado por un worker"), null=True, blank=True)
    # A retry waits for its backoff: nothing sends the row before this time.
    not_before = models.DateTimeField(_("no antes de"), null=True, blank=True)
    sent_at = models.DateTimeField(_("aceptado por Twilio"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("entregado"), null=True, blank=True)
    updated_at = models.DateTimeField(_("actualizado"), auto_now=True)

    class Meta:
        db_table = "sms_outboundmessage"
        verbose_name = _("SMS enviado")
        verbose_name_plural = _("SMS enviados")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "id"], name="sms_out_status"),
            models.Index(fields=["broadcast", "status"], name="sms_out_broadcast_status"),
            models.Index(fields=["status", "claimed_at"], name="sms_out_claimed", condition=Q(status="sending")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=list(STATUS_RANK)), name="sms_out_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.to}: {self.body[:40]}"


class InboundStatus(models.TextChoices):
    RECEIVED = "received", _("Recibido")
    PROCESSING = "processing", _("Procesando")
    PROCESSED = "processed", _("Procesado")
    FAILED = "failed", _("Falló")


# What a volunteer's text was understood as (`sms.replies.Intent`, stored in `InboundMessage.keyword`),
# as people read it in the console's message history.
KEYWORD_LABELS = {
    "info": _("MESA: pidió sus datos"),
    "yes": _("SI: confirmó"),
    "no": _("NO: rechazó"),
    "check_in": _("LLEGUE: dio el presente"),
    "help": _("AYUDA"),
    "stop": _("BAJA: no quiere más SMS"),
    "start": _("ALTA: vuelve a recibir SMS"),
    "unclear": _("dudoso: se le preguntó si va"),
    "text": _("mensaje"),
    "empty": _("vacío"),
}


def keyword_label(value: str) -> str:
    """How a stored `InboundMessage.keyword` reads for people ("yes" -> "SI: confirmó")."""
    label = KEYWORD_LABELS.get(value)
    return str(label) if label is not None else value


class InboundMessage(models.Model):
    """A text a phone sent us; stored before it is acted on, once per MessageSid.

    Every row ends processed or failed with its error: nothing a volunteer sends is lost, and a
    failed one is processed again when Twilio retries the same SID (the failed attempt changed
    nothing: it rolled back).
    """

    sid = models.CharField(_("MessageSid"), max_length=64, unique=True)
    from_number = models.CharField(_("de"), max_length=32)
    to_number = models.CharField(_("para"), max_length=32, blank=True)
    body = models.TextField(_("texto"), blank=True)
    volunteer = models.ForeignKey(
        "volunteers.Volunteer", on_delete=models.SET_NULL, null=True, blank=True, related_name="sms_received"
    )
    keyword = models.CharField(_("palabra clave"), max_length=16, blank=True)
    reply = models.TextField(_("respuesta"), blank=True)
    params = models.JSONField(_("datos de Twilio"), default=dict, blank=True)
    received_at = models.DateTimeField(_("recibido"), auto_now_add=True)
    handled_at = models.DateTimeField(_("procesado"), null=True, blank=True)
    status = models.CharField(_("estado"), max_length=12, choices=InboundStatus.choices, default=InboundStatus.RECEIVED)
    claimed_at = models.DateTimeField(_("tomado"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("intentos"), default=0)
    error = models.TextField(_("error"), blank=True)
    media_count = models.PositiveSmallIntegerField(_("fotos"), default=0)
    channel = models.CharField(_("canal"), max_length=8, choices=MessageChannel.choices, default=MessageChannel.SMS)

    class Meta:
        db_table = "sms_inboundmessage"
        verbose_name = _("SMS recibido")
        verbose_name_plural = _("SMS recibidos")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "id"], name="sms_in_status")]

    def __str__(self) -> str:
        return f"{self.from_number}: {self.body[:40]}"
