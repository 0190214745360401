"""Incidents on election day: what went wrong at a table or place, who owns it, how it ended."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.assignments.models import EventSource
from backend.elections.models import Election, PollingPlace, Table


class Severity(models.TextChoices):
    LOW = "low", _("Baja")
    MEDIUM = "medium", _("Media")
    HIGH = "high", _("Alta")


class IncidentStatus(models.TextChoices):
    OPEN = "open", _("Abierto")
    IN_PROGRESS = "in_progress", _("En curso")
    RESOLVED = "resolved", _("Resuelto")


class IncidentCategory(models.Model):
    """A kind of problem, per election; each election starts with the Argentine defaults."""

    election = models.ForeignKey(
        Election, on_delete=models.CASCADE, related_name="incident_categories", verbose_name=_("elección")
    )
    code = models.SlugField(_("código"), max_length=32)
    name = models.CharField(_("nombre"), max_length=100)
    # Words (folded, space separated) that point to this category when a watcher writes freely.
    keywords = models.TextField(_("palabras clave"), blank=True)
    severity = models.CharField(_("gravedad"), max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    position = models.PositiveSmallIntegerField(_("orden"), default=0)

    class Meta:
        verbose_name = _("categoría de incidente")
        verbose_name_plural = _("categorías de incidente")
        ordering = ["election_id", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["election", "code"], name="incidentcategory_unique_code")]

    def __str__(self) -> str:
        return self.name


class Incident(models.Model):
    election = models.ForeignKey(
        Election, on_delete=models.CASCADE, related_name="incidents", verbose_name=_("elección")
    )
    place = models.ForeignKey(
        PollingPlace, on_delete=models.CASCADE, related_name="incidents", verbose_name=_("establecimiento")
    )
    table = models.ForeignKey(
        Table, on_delete=models.CASCADE, null=True, blank=True, related_name="incidents", verbose_name=_("mesa")
    )
    category = models.ForeignKey(
        IncidentCategory, on_delete=models.PROTECT, related_name="incidents", verbose_name=_("categoría")
    )
    # False when the category was guessed from weak clues: the reporter was asked to confirm it.
    category_confirmed = models.BooleanField(_("categoría confirmada"), default=True)
    severity = models.CharField(_("gravedad"), max_length=8, choices=Severity.choices)
    text = models.TextField(_("texto"))
    status = models.CharField(
        _("estado"), max_length=12, choices=IncidentStatus.choices, default=IncidentStatus.OPEN, db_index=True
    )
    channel = models.CharField(_("canal"), max_length=8, choices=EventSource.choices)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("informado por"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("responsable"),
    )
    created_at = models.DateTimeField(_("informado"), auto_now_add=True, db_index=True)
    taken_at = models.DateTimeField(_("tomado"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resuelto"), null=True, blank=True)
    # How far up the area tree an unattended severe incident has gone (0: the place's own area).
    escalation_level = models.PositiveSmallIntegerField(_("nivel de escalamiento"), default=0)
    escalated_at = models.DateTimeField(_("escalado"), null=True, blank=True)

    class Meta:
        verbose_name = _("incidente")
        verbose_name_plural = _("incidentes")
        ordering = ["-id"]
        indexes = [models.Index(fields=["election", "status", "severity"], name="incident_election_status")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category}"


class IncidentEvent(models.Model):
    """The audit of an incident: every change, who made it, when. Never updated or deleted."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Informado")
        TAKEN = "taken", _("Tomado")
        STATUS = "status", _("Cambio de estado")
        NOTE = "note", _("Nota")
        CATEGORY = "category", _("Cambio de categoría")
        ESCALATED = "escalated", _("Escalado")
        PHOTO = "photo", _("Foto")

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events", verbose_name=_("incidente"))
    kind = models.CharField(_("tipo"), max_length=12, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("autor"),
    )
    channel = models.CharField(_("canal"), max_length=8, choices=EventSource.choices)
    from_value = models.CharField(_("antes"), max_length=64, blank=True)
    to_value = models.CharField(_("después"), max_length=64, blank=True)
    text = models.TextField(_("texto"), blank=True)
    created_at = models.DateTimeField(_("fecha"), auto_now_add=True)

    class Meta:
        verbose_name = _("evento de incidente")
        verbose_name_plural = _("eventos de incidente")
        ordering = ["incident_id", "id"]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.kind}"


class IncidentPhoto(models.Model):
    """A photo of an incident (an MMS with PROBLEMA, or an upload on the web form), with its SHA-256
    so that the legal team can show the file was not changed. Never updated."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="photos", verbose_name=_("incidente"))
    file = models.FileField(_("archivo"), upload_to="incidents/%Y/%m/")
    content_type = models.CharField(_("tipo"), max_length=32)
    size = models.PositiveIntegerField(_("tamaño"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    created_at = models.DateTimeField(_("recibida"), auto_now_add=True)

    class Meta:
        verbose_name = _("foto de incidente")
        verbose_name_plural = _("fotos de incidente")
        ordering = ["incident_id", "id"]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.sha256[:12]}"
