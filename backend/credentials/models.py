"""Credentials on paper: the party's signed accreditation of each watcher, and who signs it.

A `Credential` belongs to one assignment and records the slot it was printed for (place and
table), so a credential for table 12 never becomes one for table 14: a move, a decline, a
replacement or a cancellation revokes it, and the next print issues a new one with a new token.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backend.core.models import FileJob

# The wording's placeholders; the setup form refuses any other (see services.wording_check).
WORDING_FIELDS = (
    "agrupacion",
    "lista",
    "eleccion",
    "fecha_eleccion",
    "nombre",
    "dni",
    "establecimiento",
    "direccion",
    "mesa",
    "distrito",
    "seccion",
    "circuito",
    "apoderado",
    "dni_apoderado",
)

DEFAULT_TABLE_WORDING = (
    "Por la presente, en mi carácter de apoderado/a de la agrupación {agrupacion} (lista {lista}), "
    "acredito a {nombre}, DNI {dni}, como FISCAL DE MESA ante la mesa {mesa} del establecimiento "
    "{establecimiento} ({direccion}), en la elección {eleccion} del {fecha_eleccion}, con las facultades "
    "que le confieren los artículos 56 a 59 del Código Electoral Nacional."
)
DEFAULT_PLACE_WORDING = (
    "Por la presente, en mi carácter de apoderado/a de la agrupación {agrupacion} (lista {lista}), "
    "acredito a {nombre}, DNI {dni}, como FISCAL GENERAL del establecimiento {establecimiento} "
    "({direccion}), con facultades para actuar ante todas sus mesas, en la elección {eleccion} del "
    "{fecha_eleccion}, conforme a los artículos 56 a 59 del Código Electoral Nacional."
)


class CredentialSetup(models.Model):
    """Per election: the party, its list, the authorised signatory and the credential's wording."""

    election = models.OneToOneField(
        "elections.Election", on_delete=models.CASCADE, related_name="credential_setup", verbose_name=_("elección")
    )
    party_name = models.CharField(_("agrupación"), max_length=200, blank=True)
    list_number = models.CharField(_("número de lista"), max_length=20, blank=True)
    signatory_name = models.CharField(_("apoderado/a"), max_length=200, blank=True)
    signatory_dni = models.CharField(_("DNI del apoderado/a"), max_length=8, blank=True)
    # A PNG re-encoded on upload (metadata dropped, size bounded): every worker reads it from the database.
    signature_png = models.BinaryField(_("firma"), blank=True, default=b"")
    table_wording = models.TextField(_("texto para fiscal de mesa"), default=DEFAULT_TABLE_WORDING)
    place_wording = models.TextField(_("texto para fiscal general"), default=DEFAULT_PLACE_WORDING)
    updated_at = models.DateTimeField(_("actualizado"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("datos de credenciales")
        verbose_name_plural = _("datos de credenciales")

    def __str__(self) -> str:
        return f"{self.party_name} ({self.election_id})"


class RevokeReason(models.TextChoices):
    DECLINED = "declined", _("el fiscal no puede ir")
    CANCELLED = "cancelled", _("asignación cancelada")
    NO_SHOW = "no_show", _("reemplazado por ausencia")
    MOVED = "moved", _("cambió de mesa o establecimiento")


class Credential(models.Model):
    """One printed accreditation of an assignment's slot; `token` is the QR's short verification link."""

    token = models.CharField(_("clave de verificación"), max_length=16, unique=True)
    assignment = models.ForeignKey(
        "assignments.Assignment", on_delete=models.CASCADE, related_name="credentials", verbose_name=_("asignación")
    )
    election = models.ForeignKey("elections.Election", on_delete=models.CASCADE, related_name="+")
    place = models.ForeignKey("elections.PollingPlace", on_delete=models.CASCADE, related_name="credentials")
    table = models.ForeignKey("elections.Table", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    issued_at = models.DateTimeField(_("emitida"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revocada"), null=True, blank=True)
    revoked_reason = models.CharField(_("motivo"), max_length=16, choices=RevokeReason.choices, blank=True)

    class Meta:
        verbose_name = _("credencial")
        verbose_name_plural = _("credenciales")
        constraints = [
            models.UniqueConstraint(
                fields=["assignment"], condition=Q(revoked_at__isnull=True), name="credential_one_valid_per_assignment"
            )
        ]
        indexes = [models.Index(fields=["place", "revoked_at"], name="credential_place")]

    def __str__(self) -> str:
        return self.token

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None


class CredentialBatch(FileJob):
    """A zip of one PDF per school for an area, built by a Celery task; `done`/`total` feed the progress bar."""

    pages = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("lote de credenciales")
        verbose_name_plural = _("lotes de credenciales")

    def __str__(self) -> str:
        return f"{self.pk} {self.state} {self.done}/{self.total}"
