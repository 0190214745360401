"""Shared model bases."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)
    updated_at = models.DateTimeField(_("actualizado"), auto_now=True)

    class Meta:
        abstract = True


class FileJobState(models.TextChoices):
    QUEUED = "queued", _("En cola")
    RUNNING = "running", _("Generando")
    DONE = "done", _("Listo")
    FAILED = "failed", _("Falló")
    EXPIRED = "expired", _("Borrado")


class FileJob(models.Model):
    """A file the worker builds for the person who asked (a zip of credentials, a large
    spreadsheet): the page polls `state` and `done`/`total`, then they download it. Such files
    hold names, DNIs and phones, so they are deleted after GENERATED_FILES_KEEP_HOURS
    (`backend.core.files.file_jobs_expire`); the row stays, in state "expired"."""

    election = models.ForeignKey("elections.Election", on_delete=models.CASCADE, related_name="+")
    area = models.ForeignKey("elections.Area", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=8, choices=FileJobState.choices, default=FileJobState.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def percent(self) -> int:
        return 100 if self.state == FileJobState.DONE else int(100 * self.done / self.total) if self.total else 0

    @property
    def running(self) -> bool:
        return self.state in {FileJobState.QUEUED, FileJobState.RUNNING}
