"""Accreditation export: watchers per place and table in the layout a party files."""

from django.shortcuts import render
from django.utils.translation import gettext as _

from ..access import console_view, current_election
from ..exports import export_log, xlsx_bytes, xlsx_response
from ..models import ExportKind
from ..selectors import accreditation_rows
from .common import area_from_query


@console_view
def accreditation_export(request):
    election = current_election(request)
    if election is None:
        return render(request, "console/no_election.html", status=404)
    area = area_from_query(request, election)
    rows = accreditation_rows(user=request.user, election=election, area=area)
    header = [
        _("Apellido"),
        _("Nombre"),
        _("DNI"),
        _("Código establecimiento"),
        _("Establecimiento"),
        _("Dirección"),
        _("Mesa"),
        _("Rol"),
    ]
    content, count = xlsx_bytes(title=_("Fiscales"), header=header, rows=rows)
    export_log(
        user=request.user,
        kind=ExportKind.ACCREDITATION,
        election=election,
        area=area,
        filters={k: v for k, v in request.GET.items()},
        rows=count,
    )
    return xlsx_response(content, stem="acreditacion-fiscales")
