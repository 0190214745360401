"""Elections, the electoral geography (an area tree), polling places and tables."""

import datetime

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backend.core.models import TimeStampedModel

PATH_SEPARATOR = "/"


class Election(TimeStampedModel):
    slug = models.SlugField(_("identificador"), max_length=64, unique=True)
    name = models.CharField(_("nombre"), max_length=200)
    date = models.DateField(_("fecha"))
    check_in_time = models.TimeField(_("hora de presentación"), default=datetime.time(7, 30))
    # When the morning shift of a table hands over to the afternoon one (local time).
    shift_handover_time = models.TimeField(
        _("hora del cambio de turno"),
        default=datetime.time(13, 0),
        help_text=_("El fiscal del turno mañana entrega la mesa al del turno tarde a esta hora."),
    )
    table_watchers_per_table = models.PositiveSmallIntegerField(_("fiscales por mesa"), default=1)
    place_watchers_per_place = models.PositiveSmallIntegerField(_("fiscales generales por establecimiento"), default=1)
    requires_training = models.BooleanField(_("exige capacitación"), default=False)

    class Meta:
        verbose_name = _("elección")
        verbose_name_plural = _("elecciones")
        ordering = ["-date"]
        constraints = [
            models.CheckConstraint(condition=Q(table_watchers_per_table__gte=1), name="election_table_watchers_min_1"),
        ]

    def __str__(self) -> str:
        return self.name


class Area(models.Model):
    """A node of the electoral geography: district, section, circuit, department, locality...

    `path` is the materialised path of codes ("/cordoba/capital/"), so a subtree is one indexed
    prefix query and coverage rolls up without recursion.
    """

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="areas", verbose_name=_("elección"))
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("área superior"),
    )
    kind = models.CharField(
        _("tipo"), max_length=32, help_text=_("distrito, sección, circuito, departamento, localidad...")
    )
    code = models.CharField(_("código"), max_length=64)
    name = models.CharField(_("nombre"), max_length=200)
    path = models.CharField(_("ruta"), max_length=600, editable=False)
    depth = models.PositiveSmallIntegerField(_("nivel"), editable=False)
    priority = models.SmallIntegerField(_("prioridad"), default=0, help_text=_("Mayor prioridad se cubre primero."))

    class Meta:
        verbose_name = _("área")
        verbose_name_plural = _("áreas")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["election", "path"], name="area_unique_path"),
            models.CheckConstraint(condition=~Q(code=""), name="area_code_not_empty"),
            models.CheckConstraint(
                condition=Q(parent__isnull=True, depth=0) | Q(parent__isnull=False, depth__gt=0),
                name="area_depth_matches_parent",
            ),
        ]
        indexes = [models.Index(fields=["election", "depth"], name="area_election_depth")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        parent_path = self.parent.path if self.parent_id else None
        self.path = self.build_path(parent_path, self.code)
        self.depth = 0 if parent_path is None else self.parent.depth + 1
        super().save(*args, **kwargs)

    @staticmethod
    def build_path(parent_path: str | None, code: str) -> str:
        return f"{parent_path or PATH_SEPARATOR}{code}{PATH_SEPARATOR}"


class PollingPlace(TimeStampedModel):
    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="places", verbose_name=_("elección"))
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="places", verbose_name=_("área"))
    code = models.CharField(_("código oficial"), max_length=64)
    name = models.CharField(_("nombre"), max_length=255)
    address = models.CharField(_("dirección"), max_length=255, blank=True)
    locality = models.CharField(_("localidad"), max_length=200, blank=True)
    latitude = models.FloatField(_("latitud"), null=True, blank=True)
    longitude = models.FloatField(_("longitud"), null=True, blank=True)
    priority = models.SmallIntegerField(_("prioridad"), default=0)

    class Meta:
        verbose_name = _("establecimiento")
        verbose_name_plural = _("establecimientos")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["election", "code"], name="place_unique_code"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                # Both present, explicitly: a NULL makes a CHECK "unknown", and unknown passes.
                | Q(
                    latitude__isnull=False,
                    longitude__isnull=False,
                    latitude__gte=-90,
                    latitude__lte=90,
                    longitude__gte=-180,
                    longitude__lte=180,
                ),
                name="place_coordinates_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Table(models.Model):
    """A voting table (mesa). Its number is unique within the area where numbering restarts.

    That area (`district`) is the district in most of the country, but Buenos Aires numbers its
    tables per section, so there it is the section. `code` is the authority's table code when the
    list has one (it then identifies the table on re-import).
    """

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="tables", verbose_name=_("elección"))
    place = models.ForeignKey(
        PollingPlace, on_delete=models.CASCADE, related_name="tables", verbose_name=_("establecimiento")
    )
    district = models.ForeignKey(
        Area,
        on_delete=models.PROTECT,
        related_name="district_tables",
        verbose_name=_("área de numeración"),
        help_text=_("El distrito, o la sección donde la numeración vuelve a empezar (Buenos Aires)."),
    )
    number = models.PositiveIntegerField(_("número"))
    code = models.CharField(_("código oficial"), max_length=64, blank=True)
    electors = models.PositiveIntegerField(_("electores"), null=True, blank=True)
    priority = models.SmallIntegerField(_("prioridad"), default=0)

    class Meta:
        verbose_name = _("mesa")
        verbose_name_plural = _("mesas")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["election", "district", "number"], name="table_unique_number_in_district"),
            models.CheckConstraint(condition=Q(number__gte=1), name="table_number_positive"),
            models.UniqueConstraint(fields=["election", "code"], condition=~Q(code=""), name="table_unique_code"),
        ]
        # Coverage counts tables per place of an election from this index alone (no table row read).
        indexes = [models.Index(fields=["election", "place"], name="table_coverage")]

    def __str__(self) -> str:
        return _("Mesa %(number)s") % {"number": self.number}
