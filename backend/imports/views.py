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
from backend.permissions import can_import

from .models import BatchStatus, ImportBatch, ImportKind
from .services import batch_apply, batch_create, batch_report, batch_start, problem_rows


class UploadForm(forms.Form):
    election = forms.ModelChoiceField(
        label=gettext_lazy("Elección"), queryset=Election.objects.order_by("-date"), to_field_name="slug"
    )
    kind = forms.ChoiceField(label=gettext_lazy("Qué importás"), choices=ImportKind.choices)
    file = forms.FileField(label=gettext_lazy("Planilla (.xlsx o .csv)"))
    default_area_code = forms.CharField(
        label=gettext_lazy("Código de área por defecto"),
        required=False,
        max_length=5,
        help_text=gettext_lazy("Para celulares escritos sin código de área, p. ej. 351."),
    )
    dry_run = forms.BooleanField(label=gettext_lazy("Solo vista previa (no guarda nada)"), required=False, initial=True)


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
            upload_file = values["file"]
            try:
                batch = batch_create(
                    actor=request.user,
                    election=values["election"],
                    kind=values["kind"],
                    file_name=upload_file.name,
                    data=upload_file.read(),
                    dry_run=values["dry_run"],
                    default_area_code=values["default_area_code"],
                    language=get_language() or "es-ar",
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
    context = {
        "batch": batch,
        "problems": problem_rows(batch) if batch.finished else [],
        "can_apply": batch.status == BatchStatus.PREVIEWED,
        "working": not batch.finished,
    }
    return render(request, "imports/detail.html", context)


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
