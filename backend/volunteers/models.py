"""Volunteers: the people who watch tables and places."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backend.core.emails import validate_international_email
from backend.core.models import TimeStampedModel
from backend.core.text import fold


class Availability(models.TextChoices):
    FULL_DAY = "full_day", _("Todo el día")
    MORNING = "morning", _("Mañana")
    AFTERNOON = "afternoon", _("Tarde")
    UNAVAILABLE = "unavailable", _("No disponible")


class RolesAccepted(models.TextChoices):
    ANY = "any", _("Mesa o general")
    TABLE = "table", _("Fiscal de mesa")
    PLACE = "place", _("Fiscal general")


class PhoneRule(models.TextChoices):
    """How a roster's phone number got its area code."""

    WRITTEN = "", _("escrito completo")
    LOCALITY = "locality", _("código de área de su localidad")
    VOTES_AT = "votes_at", _("código de área de donde vota")
    DEFAULT = "default", _("código de área por defecto")


class Channel(models.TextChoices):
    """Where a volunteer's texts go. Automatic: WhatsApp once the number has written to us from it, else SMS."""

    AUTO = "auto", _("Automático")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")


class Volunteer(TimeStampedModel):
    dni = models.CharField(_("DNI"), max_length=8, unique=True, help_text=_("7 u 8 dígitos, sin puntos."))
    first_name = models.CharField(_("nombre"), max_length=120)
    last_name = models.CharField(_("apellido"), max_length=120)
    phone = models.CharField(
        _("celular"),
        max_length=20,
        unique=True,
        null=True,
        blank=True,
        help_text=_("Formato E.164, p. ej. +5491145678901."),
    )
    # A number completed with a guessed area code may be a stranger's: until its owner answers
    # SI from it, texts to it carry no name, place or link.
    phone_verified = models.BooleanField(_("celular verificado"), default=True)
    phone_rule = models.CharField(
        _("cómo se completó el celular"), max_length=12, choices=PhoneRule.choices, default="", blank=True
    )
    # RFC 6531: an accented local part is a real address here (Django's EmailField refuses it).
    email = models.CharField(_("email"), max_length=254, blank=True, validators=[validate_international_email])
    address = models.CharField(_("domicilio"), max_length=255, blank=True)
    latitude = models.FloatField(_("latitud"), null=True, blank=True)
    longitude = models.FloatField(_("longitud"), null=True, blank=True)
    area = models.ForeignKey(
        "elections.Area",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="volunteers",
        verbose_name=_("zona"),
        help_text=_("Donde vive o donde vota: decide qué coordinador lo ve."),
    )
    votes_at = models.ForeignKey(
        "elections.PollingPlace",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="voters",
        verbose_name=_("vota en"),
    )
    votes_at_score = models.FloatField(_("coincidencia de 'vota en'"), null=True, blank=True)
    availability = models.CharField(
        _("disponibilidad"), max_length=16, choices=Availability.choices, default=Availability.FULL_DAY
    )
    roles_accepted = models.CharField(
        _("roles aceptados"), max_length=8, choices=RolesAccepted.choices, default=RolesAccepted.ANY
    )
    trained = models.BooleanField(_("capacitado"), default=False)
    tags = models.JSONField(_("etiquetas"), default=list, blank=True)
    notes = models.TextField(_("notas"), blank=True)
    opted_out = models.BooleanField(_("dado de baja de SMS"), default=False)
    channel = models.CharField(_("canal"), max_length=8, choices=Channel.choices, default=Channel.AUTO)
    # The last message the volunteer sent from WhatsApp: free text is allowed for 24 hours after it,
    # before that (or never) only an approved template.
    whatsapp_inbound_at = models.DateTimeField(_("último mensaje por WhatsApp"), null=True, blank=True)
    excluded = models.BooleanField(_("excluido por coordinación"), default=False)
    excluded_reason = models.CharField(_("motivo de exclusión"), max_length=255, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="volunteer",
        verbose_name=_("usuario"),
    )
    last_seen_web_at = models.DateTimeField(_("visto en la web"), null=True, blank=True)
    source_batch = models.ForeignKey(
        "imports.ImportBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="volunteers_created",
        verbose_name=_("importado en"),
    )
    # Names folded (lower case, no accents), DNI and phone digits: what the console's search box
    # matches with LIKE '%word%'. On PostgreSQL a trigram GIN index serves those LIKEs.
    search_key = models.TextField(_("clave de búsqueda"), blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("fiscal")
        verbose_name_plural = _("fiscales")
        ordering = ["last_name", "first_name"]
        constraints = [
            models.CheckConstraint(condition=Q(dni__regex=r"^[0-9]{7,8}$"), name="volunteer_dni_digits"),
            models.CheckConstraint(
                condition=Q(phone__isnull=True) | Q(phone__regex=r"^\+[1-9][0-9]{6,14}$"), name="volunteer_phone_e164"
            ),
        ]
        # No b-tree on search_key: walking it in order to skip the sort reads most of the table
        # for a rare name (measured: "kuhn" 420 ms against 160,000 rows); the trigram GIN answers.
        indexes = [models.Index(fields=["last_name", "first_name"], name="volunteer_name")]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name}"

    def save(self, *args, **kwargs):
        self.search_key = volunteer_search_key(
            first_name=self.first_name, last_name=self.last_name, dni=self.dni, phone=self.phone
        )
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"first_name", "last_name", "dni", "phone"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "search_key"}
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def volunteer_search_key(*, first_name: str, last_name: str, dni: str, phone: str | None) -> str:
    """'María José García' 30123456 +5493515000039 -> 'garcia maria jose 30123456 5493515000039'.

    Last name first, so ordering by the key alone is ordering by name.
    """
    return " ".join(part for part in (fold(f"{last_name} {first_name}"), dni, (phone or "").lstrip("+")) if part)[:400]


class VolunteerEvent(models.Model):
    """One row per change of a volunteer's data: who, when, from which channel, old and new values."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Alta")
        UPDATED = "updated", _("Datos modificados")
        OPTED_OUT = "opted_out", _("Baja de SMS")
        OPTED_IN = "opted_in", _("Alta de SMS")

    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="events", verbose_name=_("fiscal"))
    kind = models.CharField(_("tipo"), max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("quién"),
    )
    source = models.CharField(_("origen"), max_length=8)
    # {"field": [old, new]}, values as stored (ids for foreign keys).
    changes = models.JSONField(_("cambios"), default=dict, blank=True)
    reason = models.CharField(_("motivo"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("cuándo"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("evento de fiscal")
        verbose_name_plural = _("eventos de fiscal")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"
