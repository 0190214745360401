"""Credentials on paper: the election's setup (party, signatory, wording), one school's or one
watcher's PDF, a zip of an area's schools built by the worker with a progress bar, and the
accreditation list with each assignment's status (xlsx and PDF)."""

import base64

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.accounts.models import Role
from backend.assignments.models import Assignment
from backend.core.exceptions import ApplicationError
from backend.core.models import FileJobState
from backend.credentials.documents import accreditation_pdf
from backend.credentials.models import WORDING_FIELDS
from backend.credentials.selectors import accreditation_status_rows, batch_get, credential_setup_get
from backend.credentials.services import (
    assignment_credential_pdf,
    batch_dir,
    credential_setup_save,
    credentials_batch_start,
    place_credentials_pdf,
)
from backend.elections.models import PollingPlace
from backend.permissions import role_of

from ..access import console_view, current_election, root_areas
from ..exports import export_log, xlsx_bytes, xlsx_response
from ..models import ExportKind
from .common import area_from_query, get_visible

PDF_TYPE = "application/pdf"


def pdf_response(content: bytes, *, filename: str, inline: bool = True) -> HttpResponse:
    response = HttpResponse(content, content_type=PDF_TYPE)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@console_view
def credentials_home(request):
    election = current_election(request)
    if election is None:
        return render(request, "console/no_election.html", status=404)
    setup = credential_setup_get(election=election)
    is_lead = role_of(request.user) == Role.LEAD
    if request.method == "POST":
        if not is_lead:
            return render(request, "console/forbidden.html", status=403)
        upload = request.FILES.get("signature")
        try:
            credential_setup_save(
                election=election,
                actor=request.user,
                party_name=request.POST.get("party_name", ""),
                list_number=request.POST.get("list_number", ""),
                signatory_name=request.POST.get("signatory_name", ""),
                signatory_dni=request.POST.get("signatory_dni", ""),
                table_wording=request.POST.get("table_wording", ""),
                place_wording=request.POST.get("place_wording", ""),
                signature=upload.read() if upload else None,
            )
        except ApplicationError as exc:
            # Keep what was typed: the form comes back with the error and the person's text.
            messages.error(request, str(exc.message))
            for field in ("party_name", "list_number", "signatory_name", "signatory_dni"):
                setattr(setup, field, request.POST.get(field, ""))
            setup.table_wording = request.POST.get("table_wording", "")
            setup.place_wording = request.POST.get("place_wording", "")
            return render(
                request, "console/credentials.html", _home_context(request, election, setup, is_lead), status=400
            )
        messages.success(request, _("Datos de las credenciales guardados."))
        return redirect("console:credentials")
    return render(request, "console/credentials.html", _home_context(request, election, setup, is_lead))


def _home_context(request, election, setup, is_lead: bool) -> dict:
    signature = bytes(setup.signature_png or b"")
    return {
        "nav_active": "credentials",
        "election": election,
        "setup": setup,
        "is_lead": is_lead,
        "signature_data": base64.b64encode(signature).decode("ascii") if signature else "",
        "placeholders": ["{" + f + "}" for f in WORDING_FIELDS],
        "areas": root_areas(request.user, election),
    }


@console_view
def place_pdf(request, pk: int):
    place = get_visible(request, PollingPlace.objects.select_related("area", "election"), pk=pk)
    try:
        content, _pages = place_credentials_pdf(place=place, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("console:place", pk=place.pk)
    return pdf_response(content, filename=f"credenciales-{place.code}.pdf")


@console_view
def assignment_pdf(request, pk: int):
    assignment = get_visible(
        request, Assignment.objects.select_related("volunteer", "place__area", "table", "election"), pk=pk
    )
    layout = "phone" if request.GET.get("formato") == "telefono" else "a4"
    try:
        content, _pages = assignment_credential_pdf(assignment=assignment, actor=request.user, layout=layout)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("console:volunteer", pk=assignment.volunteer_id)
    return pdf_response(content, filename=f"credencial-{assignment.volunteer.dni}.pdf")


@require_POST
@console_view
def batch_start(request):
    election = current_election(request)
    if election is None:
        raise Http404()
    area = area_from_query(request, election)
    try:
        batch = credentials_batch_start(election=election, area=area, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("console:credentials")
    return redirect("console:credentials_batch", pk=batch.pk)


@console_view
def batch(request, pk: int):
    found = batch_get(user=request.user, pk=pk)
    if found is None:
        raise Http404()
    template = (
        "console/_credentials_progress.html" if request.headers.get("HX-Request") else "console/credentials_batch.html"
    )
    return render(request, template, {"nav_active": "credentials", "batch": found, "running": _running(found)})


def _running(found) -> bool:
    return found.state in {FileJobState.QUEUED, FileJobState.RUNNING}


@console_view
def batch_download(request, pk: int):
    found = batch_get(user=request.user, pk=pk)
    if found is None or found.state != FileJobState.DONE or not found.file_name:
        raise Http404()
    path = batch_dir() / found.file_name
    if not path.is_file():
        raise Http404()
    stem = f"credenciales-{found.area.code if found.area else found.election.slug}"
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"{stem}.zip", content_type="application/zip")


def _accreditation(request):
    election = current_election(request)
    if election is None:
        raise Http404()
    area = area_from_query(request, election)
    rows = accreditation_status_rows(user=request.user, election=election, area=area)
    return election, area, rows


@console_view
def accreditation_xlsx(request):
    election, area, rows = _accreditation(request)
    header = [
        _("Apellido"),
        _("Nombre"),
        _("DNI"),
        _("Código establecimiento"),
        _("Establecimiento"),
        _("Dirección"),
        _("Mesa"),
        _("Rol"),
        _("Estado"),
        _("Credencial"),
    ]
    values = [
        (
            r.last_name,
            r.first_name,
            r.dni,
            r.place_code,
            r.place_name,
            r.address,
            r.table,
            r.role,
            r.status,
            r.credential,
        )
        for r in rows
    ]
    content, count = xlsx_bytes(title=_("Acreditación"), header=header, rows=values)
    export_log(user=request.user, kind=ExportKind.ACCREDITATION, election=election, area=area, rows=count)
    return xlsx_response(content, stem="acreditacion-estado")


@console_view
def accreditation_pdf_view(request):
    election, area, rows = _accreditation(request)
    setup = credential_setup_get(election=election)
    title = _("Acreditación de fiscales — %(election)s") % {"election": election.name}
    subtitle = " · ".join(
        part
        for part in (
            setup.party_name + (f" ({_('lista')} {setup.list_number})" if setup.list_number else ""),
            area.name if area else "",
            _("al %(date)s") % {"date": timezone.localtime().strftime("%d/%m/%Y %H:%M")},
        )
        if part.strip()
    )
    content = accreditation_pdf(rows, title=title, subtitle=subtitle)
    export_log(user=request.user, kind=ExportKind.ACCREDITATION, election=election, area=area, rows=len(rows))
    return pdf_response(content, filename="acreditacion-fiscales.pdf", inline=False)
