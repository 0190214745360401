"""Server-rendered upload page for leads: choose election, kind and file; preview; apply; download the report."""

import contextlib

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.core.exceptions import ApplicationError
from backend.elections.models import Election
from backend.elections.station_columns import FIELDS, label
from backend.permissions import can_import

from .models import BatchStatus, ImportBatch, ImportKind
from .services import batch_apply, batch_create, batch_remap, batch_report, batch_start, problem_rows

IGNORE = "-"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (a station list with its companion files, or one zip)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)]


class UploadForm(forms.Form):
    election = forms.ModelChoiceField(
        label=gettext_lazy("Elección"), queryset=Election.objects.order_by("-date"), to_field_name="slug"
    )
    kind = forms.ChoiceField(label=gettext_lazy("Qué importás"), choices=ImportKind.choices)
    file = MultipleFileField(
        label=gettext_lazy("Planilla (.xlsx o .csv)"),
        help_text=gettext_lazy(
            "Para establecimientos y mesas podés subir varios archivos juntos (la lista y los de nombres de "
            "distritos, secciones y circuitos) o un .zip."
        ),
    )
    default_area_code = forms.CharField(
        label=gettext_lazy("Código de área por defecto"),
        required=False,
        max_length=5,
        help_text=gettext_lazy("Para celulares escritos sin código de área, p. ej. 351."),
    )
    dry_run = forms.BooleanField(label=gettext_lazy("Solo vista previa (no guarda nada)"), required=False, initial=True)
    all_or_nothing = forms.BooleanField(
        label=gettext_lazy("Todo o nada: si alguna fila se rechaza, no guardar nada"), required=False
    )


def _forbidden(request):
    return render(request, "imports/forbidden.html", status=403)


@login_required
def upload(request):
    if not can_import(request.user):
        return _forbidden(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values = form.cleaned_data
            try:
                batch = batch_create(
                    actor=request.user,
                    election=values["election"],
                    kind=values["kind"],
                    files=[(upload.name, upload.read()) for upload in values["file"]],
                    dry_run=values["dry_run"],
                    default_area_code=values["default_area_code"],
                    language=get_language() or "es-ar",
                    all_or_nothing=values["all_or_nothing"],
                )
            except ApplicationError as exc:
                form.add_error("file", str(exc.message))
            else:
                # A failure is recorded on the batch (failed, with the reason) and shown on its page.
                with contextlib.suppress(ApplicationError):
                    batch_start(batch=batch)
                return redirect("imports:detail", batch_id=batch.pk)
        status = 400
    recent = ImportBatch.objects.select_related("election", "created_by")[:10]
    return render(request, "imports/upload.html", {"form": form, "recent": recent}, status=status)


@login_required
def batch_detail(request, batch_id: int):
    if not can_import(request.user):
        return _forbidden(request)
    batch = get_object_or_404(ImportBatch.objects.select_related("election", "created_by"), pk=batch_id)
    details = batch.details or {}
    context = {
        "batch": batch,
        "problems": problem_rows(batch) if batch.finished else [],
        "can_apply": batch.status == BatchStatus.PREVIEWED and not details.get("aborted"),
        "working": not batch.finished,
        "stations": details if batch.kind == ImportKind.STATIONS and batch.finished else None,
        "fields": [(name, label(name)) for name in FIELDS],
        "can_remap": batch.kind == ImportKind.STATIONS and batch.status in (BatchStatus.PREVIEWED, BatchStatus.FAILED),
    }
    return render(request, "imports/detail.html", context)


@login_required
@require_POST
def batch_remap_view(request, batch_id: int):
    """The lead chose columns by hand on the preview: preview the same files again with that mapping."""
    if not can_import(request.user):
        return _forbidden(request)
    batch = get_object_or_404(ImportBatch, pk=batch_id)
    mapping = {}
    for key, value in request.POST.items():
        if key.startswith("map:") and value:
            mapping[key[4:]] = "" if value == IGNORE else value
    try:
        again = batch_remap(batch=batch, actor=request.user, mapping=mapping)
    except ApplicationError as exc:
        from django.contrib import messages

        messages.error(request, str(exc.message))
        return redirect("imports:detail", batch_id=batch.pk)
    with contextlib.suppress(ApplicationError):  # recorded on the batch, shown on its page
        batch_start(batch=again)
    return redirect("imports:detail", batch_id=again.pk)


@login_required
@require_POST
def batch_apply_view(request, batch_id: int):
    if not can_import(request.user):
        return _forbidden(request)
    batch = get_object_or_404(ImportBatch, pk=batch_id)
    try:
        batch_apply(batch=batch, actor=request.user)
    except ApplicationError as exc:
        from django.contrib import messages

        messages.error(request, str(exc.message))
    return redirect("imports:detail", batch_id=batch.pk)


@login_required
def report(request, batch_id: int):
    if not can_import(request.user):
        return _forbidden(request)
    batch = get_object_or_404(ImportBatch, pk=batch_id)
    try:
        return report_response(batch, request.user)
    except ApplicationError as exc:
        from django.contrib import messages

        messages.error(request, str(exc.message))
        return redirect("imports:detail", batch_id=batch.pk)


def report_response(batch: ImportBatch, user) -> FileResponse:
    """The xlsx report as a download (built on first request, then stored). Also used by the API."""
    if batch.status not in (BatchStatus.PREVIEWED, BatchStatus.APPLIED):
        raise ApplicationError(
            _("El informe está disponible cuando termina el procesamiento."), code="report_not_ready"
        )
    batch = batch_report(batch=batch, actor=user)
    return FileResponse(
        batch.report.open("rb"),
        as_attachment=True,
        filename=f"informe-lote-{batch.pk}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
