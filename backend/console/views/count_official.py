"""Election night, the two screens that close the loop: uploading the authority's results per table
(checked and applied in the background, a 243 MB national file included) and resolving a table's
differing sheets side by side."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from backend.core.exceptions import ApplicationError
from backend.core.uploads import DiskUploadHandler, UploadTooBig
from backend.count.models import Category, OfficialImport, OfficialImportLayout, ResultSheet, SheetStatus
from backend.count.results_import import official_import_apply, official_import_upload, official_max_bytes
from backend.count.selectors import conflict_list, conflict_view, official_import_list, official_import_progress
from backend.count.services import sheet_resolve
from backend.permissions import can_import, can_resolve_sheets

from ..access import console_view, current_election
from .common import area_from_query, page_of


class OfficialUploadForm(forms.Form):
    layout = forms.ChoiceField(
        label=gettext_lazy("Formato del archivo"),
        choices=OfficialImportLayout.choices,
        widget=forms.RadioSelect,
        initial=OfficialImportLayout.NATIONAL,
    )
    category = forms.ModelChoiceField(
        label=gettext_lazy("Categoría (solo formato provincial sin columna «cargo»)"),
        queryset=Category.objects.none(),
        required=False,
    )
    create_missing = forms.BooleanField(
        label=gettext_lazy("Crear las categorías y listas del archivo que no estén cargadas"), required=False
    )
    file = forms.FileField(label=gettext_lazy("Archivo de resultados (.csv; el provincial también .xlsx)"))

    def __init__(self, *args, election, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(election=election).order_by("position", "id")


def _lead_only(request):
    if not can_import(request.user):
        return render(request, "console/forbidden.html", status=403)
    return None


@csrf_exempt  # CSRF is checked by `_official_upload_form`, once the upload handler below is in place
@console_view
def official_upload(request):
    """Choose the format, upload; the file is checked in the background and its preview shown next.

    The file goes to disk as it arrives whatever its size, capped at `official_max_bytes()`: the
    API's handler (`DiskUploadHandler`), one behaviour for both doors. It must be set before anything
    reads the body, and CSRF's check reads it: hence this view is exempt and the form's view is
    protected (Django's documented way to change the upload handlers of a view)."""
    refused = _lead_only(request)
    if refused is not None:
        return refused
    election = current_election(request)
    if election is None:
        return render(request, "console/no_election.html", {"nav_active": "official"})
    request.upload_handlers = [DiskUploadHandler(request, max_bytes=official_max_bytes())]
    try:
        return _official_upload_form(request, election=election)
    except UploadTooBig as exc:
        # Nothing was stored and nothing changes: the page again, the reason under the file field.
        form = OfficialUploadForm(election=election)
        return _official_upload_page(request, election=election, form=form, status=413, refused=str(exc.message))


@csrf_protect
def _official_upload_form(request, *, election):
    form = OfficialUploadForm(request.POST or None, request.FILES or None, election=election)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values = form.cleaned_data
            try:
                job = official_import_upload(
                    election=election,
                    layout=values["layout"],
                    upload=values["file"],
                    actor=request.user,
                    category=values["category"],
                    create_missing=values["create_missing"],
                )
            except ApplicationError as exc:
                form.add_error("file", str(exc.message))
            else:
                return redirect("console:official_import", pk=job.pk)
        status = 400
    return _official_upload_page(request, election=election, form=form, status=status)


def _official_upload_page(request, *, election, form, status: int, refused: str = ""):
    context = {
        "nav_active": "official",
        "election": election,
        "form": form,
        "refused": refused,
        "recent": official_import_list(election=election),
        "max_mb": official_max_bytes() // 2**20,
    }
    return render(request, "console/official_upload.html", context, status=status)


def _job(request, pk: int) -> OfficialImport:
    election = current_election(request)
    return get_object_or_404(
        OfficialImport.objects.select_related("election", "category", "created_by", "applied_by"),
        pk=pk,
        election=election,
    )


@console_view
def official_import(request, pk: int):
    """What was understood (the preview), then the result; a progress bar while the worker reads."""
    refused = _lead_only(request)
    if refused is not None:
        return refused
    job = _job(request, pk)
    context = {"nav_active": "official", "job": job, "progress": official_import_progress(job=job)}
    template = "console/_official_state.html" if request.headers.get("HX-Request") else "console/official_import.html"
    return render(request, template, context)


@require_POST
@console_view
def official_apply(request, pk: int):
    refused = _lead_only(request)
    if refused is not None:
        return refused
    job = _job(request, pk)
    try:
        official_import_apply(job=job, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    return redirect("console:official_import", pk=job.pk)


@console_view
def conflicts(request):
    """Differing sheets waiting in the coordinator's scope, the most votes at stake first."""
    election = current_election(request)
    if election is None:
        return render(request, "console/no_election.html", {"nav_active": "conflicts"})
    area = area_from_query(request, election)
    found = conflict_list(user=request.user, election=election, area=area)
    return render(
        request,
        "console/conflicts.html",
        {"nav_active": "conflicts", "election": election, "area": area, "page": page_of(request, found)},
    )


@console_view
def conflict(request, pk: int):
    """One table and category: the current sheet beside the differing ones, photos and senders; choose one."""
    election = current_election(request)
    sheet = get_object_or_404(
        ResultSheet.objects.select_related("table__place__area", "category"), pk=pk, election=election, official=False
    )
    if not can_resolve_sheets(request.user, sheet.table):
        raise Http404()
    view = conflict_view(sheet=sheet)
    status = 200
    if request.method == "POST":
        chosen = next((c.sheet for c in view.columns if str(c.sheet.pk) == request.POST.get("sheet", "")), None)
        try:
            if chosen is None:
                raise ApplicationError(_("Elegí cuál de las actas vale."), code="count_choose_sheet")
            sheet_resolve(
                sheet=chosen,
                actor=request.user,
                note=request.POST.get("note", ""),
                ask_back=request.POST.get("ask_back") == "1",
            )
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
            status = 400
        else:
            messages.success(
                request,
                _("Mesa %(table)s, %(category)s: quedó el acta #%(id)s.")
                % {"table": view.table.number, "category": view.category.name, "id": chosen.pk},
            )
            return redirect("console:conflicts")
    waiting = any(c.waiting for c in view.columns)
    context = {
        "nav_active": "conflicts",
        "view": view,
        "waiting": waiting,
        "note": request.POST.get("note", ""),
        "settled": not waiting or sheet.status == SheetStatus.SET_ASIDE,
    }
    return render(request, "console/conflict.html", context, status=status)
