"""The transactional outbox: what a volunteer must be told, written with the change that caused it.

The domain writes Notice rows; `sms/` turns them into outbound messages. The domain never imports
`sms/`.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NoticeKind(models.TextChoices):
    ASSIGNMENT = "assignment", _("Asignación")
    CHANGE = "change", _("Cambio de lugar o mesa")
    CANCELLATION = "cancellation", _("Cancelación")
    REMINDER = "reminder", _("Recordatorio")
    CONFIRMATION_RECEIVED = "confirmation_received", _("Confirmación recibida")
    DECLINE_RECEIVED = "decline_received", _("Rechazo recibido")
    CHECK_IN_RECEIVED = "check_in_received", _("Presente recibido")
    INSTRUCTION = "instruction", _("Instrucción")
    ANNOUNCEMENT = "announcement", _("Anuncio del hilo")
    SHEET_ASKED_BACK = "sheet_asked_back", _("Acta a revisar")


class Notice(models.Model):
    volunteer = models.ForeignKey(
        "volunteers.Volunteer", on_delete=models.CASCADE, related_name="notices", verbose_name=_("fiscal")
    )
    kind = models.CharField(_("tipo"), max_length=32, choices=NoticeKind.choices)
    assignment = models.ForeignKey(
        "assignments.Assignment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notices",
        verbose_name=_("asignación"),
    )
    payload = models.JSONField(_("datos"), default=dict, blank=True)
    created_at = models.DateTimeField(_("creado"), auto_now_add=True, db_index=True)
    # Set by the delivery side when it has turned the notice into messages (or decided not to).
    processed_at = models.DateTimeField(_("procesado"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("aviso")
        verbose_name_plural = _("avisos")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.volunteer}"
