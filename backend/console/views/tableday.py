"""Election day at the tables: the day board (tables open/closed/counted, incidents) per area with
drill-down to place and table, the table's timeline with the coordinator's correction, and the
incident board (take, resolve, notes). Parse, authorise, call the tableday and incidents doors, render.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentRole, AssignmentStatus, EventSource, Shift
from backend.core.exceptions import ApplicationError
from backend.elections.models import PollingPlace, Table
from backend.incidents import services as incident_services
from backend.incidents.models import Incident, IncidentPhoto, IncidentStatus, Severity
from backend.incidents.selectors import incident_board_list, incident_counts, incident_counts_by_place
from backend.permissions import Action, visible
from backend.tableday.models import PROGRESS, TableState
from backend.tableday.selectors import (
    DayCounts,
    day_counts_by_area,
    day_counts_by_place,
    open_deadline,
    places_not_opened,
    table_days_of_place,
    table_report_list,
    table_status_get,
    watchers_present_by_area,
)
from backend.tableday.services import table_report

from ..access import console_view, current_election
from ..exports import export_log, xlsx_bytes, xlsx_response
from ..models import ExportKind
from .common import ancestors, area_from_query, back_to, flash_error, get_visible, page_of
from .coverage import _children

SOURCE = EventSource.WEB
FLAGGED_SHOWN = 20
INCIDENTS_SHOWN = 25


@console_view
def day_board(request):
    """Per area: tables by how far they got, incidents by category and status, late places flagged."""
    election = current_election(request)
    if election is None:
        return render(request, "console/no_election.html", {"nav_active": "tables"})
    area = area_from_query(request, election)
    children = _children(request, election, area)
    shown = [area] if area is not None else children
    counts = day_counts_by_area(user=request.user, election=election, areas=[*shown, *children], under=area)
    total = DayCounts()
    for a in shown:
        total.add(counts[a.pk])
    # Watchers at their tables and schools now (checked in): one grouped query over those rows.
    present_by_area = watchers_present_by_area(user=request.user, election=election, areas=shown, under=area)
    present = sum(present_by_area[a.pk] for a in shown)
    places = []
    if area is not None:
        per_place = day_counts_by_place(user=request.user, election=election, area=area, direct_only=True)
        if per_place:
            open_incidents = incident_counts_by_place(user=request.user, election=election, area=area)
            rows = [
                (p, per_place[p.pk], open_incidents.get(p.pk, 0))
                for p in PollingPlace.objects.filter(pk__in=per_place).order_by("code")
            ]
            rows.sort(key=lambda r: (-r[1].waiting, -r[2], r[0].code))  # most tables still waiting first
            places = page_of(request, rows)
    now = timezone.now()
    deadline = open_deadline(election=election)
    late_page = None
    if now >= deadline:
        late_page = Paginator(places_not_opened(user=request.user, election=election, area=area), FLAGGED_SHOWN)
        late_page = late_page.get_page(request.GET.get("sinabrir"))
    context = {
        "nav_active": "tables",
        "election": election,
        "area": area,
        "crumbs": ancestors(area, request.user),
        "total": total,
        "present": present,
        "nodes": [(child, counts[child.pk]) for child in children],
        "places": places,
        "incidents": incident_counts(user=request.user, election=election, area=area),
        "deadline": deadline,
        "late_page": late_page,
    }
    return render(request, "console/tableday/board.html", context)


@console_view
def day_place(request, pk: int):
    """One school on election day: each table's state and times, its watchers, the place's incidents."""
    place = get_visible(request, PollingPlace.objects.select_related("area", "election"), pk=pk)
    days = table_days_of_place(place=place)
    watchers: dict[int | None, list[Assignment]] = {}
    for a in visible(
        request.user, Assignment.objects.filter(place=place, status__in=ACTIVE_STATUSES).select_related("volunteer")
    ).order_by("role", "slot"):
        watchers.setdefault(a.table_id if a.role == AssignmentRole.TABLE else None, []).append(a)
    tables = [
        {"table": t, "day": days.get(t.pk), "watchers": watchers.get(t.pk, [])}
        for t in visible(request.user, Table.objects.filter(place=place)).order_by("number")
    ]
    incidents = incident_board_list(user=request.user, election=place.election, area=None).filter(place=place)
    context = {
        "nav_active": "tables",
        "place": place,
        "crumbs": [*ancestors(place.area, request.user), place.area],
        "tables": tables,
        "generals": watchers.get(None, []),
        "incidents": incidents[:INCIDENTS_SHOWN],
        "now": timezone.now(),
    }
    return render(request, "console/tableday/place.html", context)


@console_view
def day_table(request, pk: int):
    """A table's timeline (every report, corrections with their reason) and the correction form."""
    table = get_visible(request, Table.objects.select_related("place__area", "election"), pk=pk)
    status = table_status_get(table=table)
    context = {
        "nav_active": "tables",
        "table": table,
        "place": table.place,
        "crumbs": [*ancestors(table.place.area, request.user), table.place.area],
        "status": status,
        "state_label": TableState(status.state).label,
        "reports": table_report_list(table=table),
        "progress": [(s.value, s.label) for s in PROGRESS],
        "incidents": Incident.objects.filter(table=table).select_related("category", "owner").order_by("-id"),
        # The table's watchers, both halves of a split day (the morning one still after handing over).
        "watchers": visible(
            request.user,
            Assignment.objects.filter(
                Q(status__in=ACTIVE_STATUSES) | Q(status=AssignmentStatus.DONE, shift=Shift.MORNING), table=table
            ).select_related("volunteer"),
        ).order_by("slot", "shift"),
        "handover_time": table.election.shift_handover_time,
    }
    return render(request, "console/tableday/table.html", context)


@require_POST
@console_view
def day_table_correct(request, pk: int):
    """A coordinator sets a table's state outright (even back), with a reason; kept as a report."""
    table = get_visible(request, Table.objects.select_related("place__area"), Action.CHANGE, pk=pk)
    try:
        table_report(
            table=table,
            state=request.POST.get("state", ""),
            actor=request.user,
            channel=SOURCE,
            correction=True,
            note=request.POST.get("note", ""),
        )
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("Estado de la mesa %(n)s corregido.") % {"n": table.number})
    return redirect("console:day_table", pk=table.pk)


# --- The incident board -----------------------------------------------------------------------


@console_view
def incident_board(request):
    election = current_election(request)
    if election is None:
        return render(request, "console/no_election.html", {"nav_active": "incidents"})
    area = area_from_query(request, election)
    status = request.GET.get("estado", "")
    status = status if status in IncidentStatus.values else ""
    severity = request.GET.get("gravedad", "")
    severity = severity if severity in Severity.values else ""
    incidents = incident_board_list(user=request.user, election=election, area=area, status=status, severity=severity)
    page = Paginator(incidents, INCIDENTS_SHOWN).get_page(request.GET.get("pagina"))
    context = {
        "nav_active": "incidents",
        "election": election,
        "area": area,
        "crumbs": ancestors(area, request.user),
        "page": page,
        "counts": incident_counts(user=request.user, election=election, area=area),
        "status": status,
        "severity": severity,
        "statuses": IncidentStatus.choices,
        "severities": Severity.choices,
    }
    return render(request, "console/tableday/incidents.html", context)


def _incident(request, pk: int) -> Incident:
    return get_visible(
        request, Incident.objects.select_related("place__area", "table", "category"), Action.CHANGE, pk=pk
    )


def _incident_action(request, pk: int, action, done: str):
    incident = _incident(request, pk)
    try:
        action(incident)
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(request, done % {"id": incident.pk})
    return back_to(request, reverse("console:incident_board"))


@require_POST
@console_view
def incident_take(request, pk: int):
    return _incident_action(
        request,
        pk,
        lambda i: incident_services.incident_take(incident=i, actor=request.user, channel=SOURCE),
        _("Tomaste el incidente #%(id)s; avisamos a quien lo informó."),
    )


@require_POST
@console_view
def incident_resolve(request, pk: int):
    note = request.POST.get("note", "")
    return _incident_action(
        request,
        pk,
        lambda i: incident_services.incident_resolve(incident=i, actor=request.user, channel=SOURCE, note=note),
        _("Incidente #%(id)s resuelto; avisamos a quien lo informó."),
    )


@require_POST
@console_view
def incident_note(request, pk: int):
    text = request.POST.get("text", "")
    return _incident_action(
        request,
        pk,
        lambda i: incident_services.incident_note_add(incident=i, actor=request.user, channel=SOURCE, text=text),
        _("Nota agregada al incidente #%(id)s."),
    )


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


@console_view
def incident_export(request):
    """Every incident in the user's scope with every field and its whole history, for the legal team. Logged."""
    election = current_election(request)
    if election is None:
        return render(request, "console/no_election.html", status=404)
    area = area_from_query(request, election)
    rows = []
    for i in incident_board_list(user=request.user, election=election, area=area).order_by("id"):
        history = "\n".join(
            " · ".join(
                part
                for part in (
                    timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M"),
                    str(e.get_kind_display()),
                    _person(e.actor),
                    f"{e.from_value} → {e.to_value}" if e.to_value else "",
                    e.text,
                )
                if part
            )
            for e in i.events.all()
        )
        rows.append(
            (
                i.pk,
                timezone.localtime(i.created_at).replace(tzinfo=None),
                i.place.area.name,
                i.place.code,
                i.place.name,
                i.table.number if i.table is not None else None,
                i.category.name,
                _("sí") if i.category_confirmed else _("no"),
                str(i.get_severity_display()),
                str(i.get_status_display()),
                i.text,
                str(i.get_channel_display()),
                _person(i.reporter),
                _person(i.owner),
                timezone.localtime(i.taken_at).replace(tzinfo=None) if i.taken_at else None,
                timezone.localtime(i.resolved_at).replace(tzinfo=None) if i.resolved_at else None,
                i.escalation_level,
                "\n".join(request.build_absolute_uri(url) for url in incident_photo_urls(i)),
                history,
            )
        )
    header = [
        _("Número"),
        _("Informado"),
        _("Área"),
        _("Código"),
        _("Establecimiento"),
        _("Mesa"),
        _("Categoría"),
        _("Categoría confirmada"),
        _("Gravedad"),
        _("Estado"),
        _("Texto"),
        _("Canal"),
        _("Informó"),
        _("Responsable"),
        _("Tomado"),
        _("Resuelto"),
        _("Nivel de escalamiento"),
        _("Fotos"),
        _("Historial"),
    ]
    content, count = xlsx_bytes(title=_("Incidentes"), header=header, rows=rows)
    export_log(
        user=request.user,
        kind=ExportKind.INCIDENTS,
        election=election,
        area=area,
        filters=dict(request.GET),
        rows=count,
    )
    return xlsx_response(content, stem="incidentes")


def incident_photo_urls(incident: Incident) -> list[str]:
    return [reverse("console:incident_photo", args=[photo.pk]) for photo in incident.photos.all()]


@console_view
def incident_photo(request, pk: int):
    """One incident photo, to whoever may see the incident's place (404 otherwise, never which)."""
    photo = get_object_or_404(IncidentPhoto.objects.select_related("incident__place__area"), pk=pk)
    get_visible(request, PollingPlace.objects.select_related("area"), pk=photo.incident.place_id)
    response = FileResponse(photo.file.open("rb"), content_type=photo.content_type)
    response["Content-Disposition"] = f'inline; filename="{(photo.file.name or "").rsplit("/", 1)[-1]}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
