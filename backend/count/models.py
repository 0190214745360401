"""The count: the ballot (categories and lists per district) and result sheets, party's and official.

A result sheet is one table's figures for one category as one source saw them. Sheets are
append-only: a second report of a table is a new row compared with the first, never an update.
`current` marks the one figure per table x category x side (party or official) that the quick
count and the discrepancies read.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backend.elections.models import Area, Election, Table


class Category(models.Model):
    """A cargo on the ballot (President, Governor...). No districts: it is voted in every district."""

    election = models.ForeignKey(
        Election, on_delete=models.CASCADE, related_name="count_categories", verbose_name=_("elección")
    )
    code = models.CharField(_("código"), max_length=16, help_text=_("Corto, para el SMS: PRE, GOB, DN..."))
    name = models.CharField(_("nombre"), max_length=200)
    position = models.PositiveSmallIntegerField(_("orden"), default=0)
    districts = models.ManyToManyField(
        Area, blank=True, related_name="count_categories", verbose_name=_("distritos donde se vota")
    )

    class Meta:
        verbose_name = _("categoría")
        verbose_name_plural = _("categorías")
        ordering = ["election_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["election", "code"], name="count_category_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class BallotList(models.Model):
    """An agrupación (or list) running for a category in a district (no district: in every district)."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="lists", verbose_name=_("categoría"))
    district = models.ForeignKey(
        Area, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("distrito")
    )
    name = models.CharField(_("nombre"), max_length=200)
    number = models.CharField(_("número de lista"), max_length=16, blank=True)
    position = models.PositiveSmallIntegerField(_("orden en el acta"), default=0)
    ours = models.BooleanField(_("es nuestra lista"), default=False)

    class Meta:
        verbose_name = _("lista")
        verbose_name_plural = _("listas")
        ordering = ["category_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "district", "name"],
                condition=Q(district__isnull=False),
                name="count_list_unique_name_in_district",
            ),
            models.UniqueConstraint(
                fields=["category", "name"], condition=Q(district__isnull=True), name="count_list_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SheetSource(models.TextChoices):
    WEB = "web", _("Fiscal (web)")
    SMS = "sms", _("Fiscal (SMS)")
    API = "api", _("API")
    TRANSCRIPTION = "transcription", _("Carga desde la foto")
    OFFICIAL = "official", _("Escrutinio provisorio oficial")


class SheetStatus(models.TextChoices):
    ACCEPTED = "accepted", _("Aceptada")
    CONFIRMS = "confirms", _("Coincide con la anterior")
    FLAGGED = "flagged", _("Con errores: se pidió revisar")
    CONFLICT = "conflict", _("Difiere de la anterior")
    PHOTO_ONLY = "photo_only", _("Solo foto: a transcribir")
    TRANSCRIBED = "transcribed", _("Transcripta")
    # One person's typing of a photo; two matching entries from different people make the sheet.
    ENTRY = "entry", _("Carga de transcripción")
    # A differing sheet a coordinator decided against (the other sheet stands); kept, never deleted.
    SET_ASIDE = "set_aside", _("Descartada por coordinación")


class ResultSheet(models.Model):
    # Every index is paid by every sheet written on election night: the election, the table and the
    # category are each the first column of an index below, so none has one of its own.
    election = models.ForeignKey(
        Election, on_delete=models.CASCADE, related_name="+", verbose_name=_("elección"), db_index=False
    )
    table = models.ForeignKey(
        Table, on_delete=models.CASCADE, related_name="result_sheets", verbose_name=_("mesa"), db_index=False
    )
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="sheets", verbose_name=_("categoría"), db_index=False
    )
    source = models.CharField(_("origen"), max_length=16, choices=SheetSource.choices)
    official = models.BooleanField(_("oficial"), default=False)
    status = models.CharField(_("estado"), max_length=16, choices=SheetStatus.choices)
    current = models.BooleanField(_("vigente"), default=False)
    # The place's area path, copied so that a subtree's quick count is one indexed prefix filter.
    area_path = models.CharField(_("ruta del área"), max_length=600)
    blank = models.PositiveIntegerField(_("en blanco"), null=True, blank=True)
    null = models.PositiveIntegerField(_("nulos"), null=True, blank=True)
    contested = models.PositiveIntegerField(_("recurridos"), null=True, blank=True)
    challenged = models.PositiveIntegerField(_("impugnados"), null=True, blank=True)
    voters = models.PositiveIntegerField(_("votantes"), null=True, blank=True)
    # {ballot list id (str): votes}: the only copy of the lists' figures. Compared, displayed, and
    # expanded in SQL where they are summed or compared (tally_rebuild, the discrepancies).
    votes = models.JSONField(_("votos por lista"), default=dict, blank=True)
    flags = models.JSONField(_("observaciones"), default=list, blank=True)
    photo = models.FileField(_("foto del acta"), upload_to="sheets/%Y/%m/", blank=True)
    photo_sha256 = models.CharField(_("hash de la foto"), max_length=64, blank=True)
    # For a photo-only sheet: the transcribed sheet it became. For a transcription: the photo's sheet.
    photo_sheet = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="entries", verbose_name=_("acta foto")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cargada por"),
    )
    created_at = models.DateTimeField(_("recibida"), auto_now_add=True)  # nothing filters or sorts on it

    class Meta:
        verbose_name = _("acta")
        verbose_name_plural = _("actas")
        ordering = ["table_id", "category_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["table", "category", "official"], condition=Q(current=True), name="count_sheet_one_current"
            ),
        ]
        indexes = [
            models.Index(fields=["category", "official", "current", "area_path"], name="count_sheet_quick"),
            models.Index(fields=["table", "category", "id"], name="count_sheet_table"),
            models.Index(fields=["election", "status"], name="count_sheet_status"),
        ]

    def __str__(self) -> str:
        return f"{self.table} {self.category.code} #{self.pk}"

    def figures(self) -> dict:
        """What two sheets are compared on."""
        return sheet_figures(self)


def sheet_figures(sheet) -> dict:
    """What two sheets are compared on, of a ResultSheet or anything with its figures' attributes."""
    return {
        "votes": {str(k): int(v) for k, v in sheet.votes.items()},
        "blank": sheet.blank,
        "null": sheet.null,
        "contested": sheet.contested,
        "challenged": sheet.challenged,
        "voters": sheet.voters,
    }


class SheetEvent(models.Model):
    """The audit trail of the count: every sheet received, every resolution, every import."""

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Recibida")
        RESOLVED = "resolved", _("Resuelta por coordinación")
        IMPORTED = "imported", _("Importada")
        AGREED = "agreed", _("Doble carga coincidente")

    sheet = models.ForeignKey(ResultSheet, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("tipo"), max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("nota"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("evento de acta")
        verbose_name_plural = _("eventos de actas")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.sheet_id} {self.kind}"


class CountTally(models.Model):
    """Running sums of the current party sheets per category and place area: what the quick count reads.

    One row per list (`list_id`) and one totals row (`list_id` 0) per category and area where
    places hang; kept by the services whenever a sheet becomes or stops being current, so a
    national quick count sums a few thousand rows instead of millions of votes.
    """

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    area_path = models.CharField(max_length=600)
    list_id = models.PositiveIntegerField()  # a BallotList id, or 0 for the totals row
    votes = models.BigIntegerField(default=0)
    tables = models.IntegerField(default=0)
    electors = models.BigIntegerField(default=0)
    voters = models.BigIntegerField(default=0)
    blank = models.BigIntegerField(default=0)
    null = models.BigIntegerField(default=0)
    contested = models.BigIntegerField(default=0)
    challenged = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["category", "area_path", "list_id"], name="count_tally_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.category_id} {self.area_path} {self.list_id}"


class OfficialImportLayout(models.TextChoices):
    NATIONAL = "national", _("Nacional: CSV largo (una fila por mesa, cargo y agrupación)")
    WIDE = "wide", _("Provincial: una fila por mesa, una columna por partido")


class OfficialImportState(models.TextChoices):
    CHECKING = "checking", _("Revisando el archivo")
    PREVIEWED = "previewed", _("Revisado: listo para aplicar")
    APPLYING = "applying", _("Aplicando")
    APPLIED = "applied", _("Aplicado")
    FAILED = "failed", _("Falló")


class OfficialImport(models.Model):
    """One uploaded file of official results per table: checked in the background (what was understood),
    then applied in the background by a lead. The file stays on disk; it is read as a stream, never whole.

    `preview` and `result` hold the import's summary (`ImportSummary.as_dict()`); progress while a
    worker reads the file lives in the cache (the import runs in one transaction, so a row update
    would not be seen until it ends)."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="+", verbose_name=_("elección"))
    layout = models.CharField(_("formato"), max_length=16, choices=OfficialImportLayout.choices)
    category = models.ForeignKey(
        Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("categoría")
    )
    create_missing = models.BooleanField(_("crear categorías y listas que falten"), default=False)
    file = models.FileField(_("archivo"), upload_to="count/official/%Y/%m/", max_length=300)
    file_name = models.CharField(_("nombre del archivo"), max_length=255)
    file_size = models.BigIntegerField(_("tamaño"), default=0)
    file_sha256 = models.CharField(_("SHA-256"), max_length=64)
    state = models.CharField(
        _("estado"), max_length=16, choices=OfficialImportState.choices, default=OfficialImportState.CHECKING
    )
    preview = models.JSONField(_("vista previa"), default=dict, blank=True)
    result = models.JSONField(_("resultado"), default=dict, blank=True)
    error_code = models.CharField(_("código de error"), max_length=64, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("subido por")
    )
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("aplicado por"),
    )
    created_at = models.DateTimeField(_("subido"), auto_now_add=True)
    applied_at = models.DateTimeField(_("aplicado"), null=True, blank=True)

    class Meta:
        verbose_name = _("importación de resultados oficiales")
        verbose_name_plural = _("importaciones de resultados oficiales")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.layout} {self.file_name}"

    @property
    def progress_key(self) -> str:
        """The cache key of (bytes read, file size) while a worker reads the file."""
        return f"count:official-import:{self.pk}:progress"

    @property
    def working(self) -> bool:
        return self.state in {OfficialImportState.CHECKING, OfficialImportState.APPLYING}
