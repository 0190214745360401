"""Place board: one polling place's tables and watchers; assign, unassign, swap, lock, check in."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.assignments import services as assignment_services
from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentRole, EventSource, Shift
from backend.assignments.selectors import candidates_for_slot, coverage_by_table, coverage_state, state_label
from backend.core.exceptions import ApplicationError
from backend.elections.models import PollingPlace, Table
from backend.permissions import Action, can
from backend.tableday.services import watcher_check_in
from backend.volunteers.models import Volunteer
from backend.volunteers.selectors import volunteer_search

from ..access import console_view
from ..selectors import volunteer_details
from .common import ancestors, back_to, candidate_rows, flash_error, get_visible, thread_url

# Every change made from the console is recorded as coming from the web.
SOURCE = EventSource.WEB


def _back(request, place_id: int):
    return back_to(request, reverse("console:place", args=[place_id]))


def _flat_slots(slots: dict) -> list[dict]:
    """The general(s) first, then each table's slots, as one list for the page."""
    rows = [
        {"role": AssignmentRole.PLACE, "table_id": None, "table_number": None, "slot": s["slot"], "a": s["assignment"]}
        for s in slots["general"]
    ]
    for table in slots["tables"]:
        rows += [
            {
                "role": AssignmentRole.TABLE,
                "table_id": table["id"],
                "table_number": table["number"],
                "slot": s["slot"],
                "shift": s["shift"],
                "shift_label": "" if s["shift"] == Shift.DAY else str(Shift(s["shift"]).label),
                "a": s["assignment"],
            }
            for s in table["slots"]
        ]
    for row in rows:
        a = row["a"]
        row["state"] = (
            "open" if a is None else ("good" if a["status"] in ("confirmed", "checked_in", "done") else "covered")
        )
    return rows


def _swap_options(slots: list[dict]) -> None:
    """Each held slot's "swap with" choices (every other held slot), rendered here once per slot:
    a school of 60 tables has 3,600 options, which the template language took half a second for."""
    held = [
        (
            s["a"]["assignment_id"],
            f"{s['a']['volunteer']} · "
            + (_("Mesa %(n)s") % {"n": s["table_number"]} if s["table_number"] else _("general")),
        )
        for s in slots
        if s["a"]
    ]
    for s in slots:
        if s["a"]:
            mine = s["a"]["assignment_id"]
            s["swap_options"] = format_html_join(
                "", '<option value="{}">{}</option>', ((pk, label) for pk, label in held if pk != mine)
            )


@console_view
def place(request, pk: int):
    place = get_visible(request, PollingPlace.objects.select_related("area", "election"), pk=pk)
    slots = _flat_slots(coverage_by_table(user=request.user, place=place))
    _swap_options(slots)
    filled = sum(1 for s in slots if s["a"])
    state = coverage_state(slots=len(slots), assigned=filled)
    context = {
        "nav_active": "coverage",
        "place": place,
        "election": place.election,
        "crumbs": [*ancestors(place.area, request.user), place.area],
        "slots": slots,
        "open_count": len(slots) - filled,
        "filled": filled,
        "state": state,
        "state_label": state_label(state),
        "others": [s for s in slots if s["a"]],
        "can_change": can(request.user, Action.CHANGE, place),
        "thread_url": thread_url(place=place),
        "shifts": Shift.choices,
    }
    return render(request, "console/place.html", context)


@console_view
def candidates(request, pk: int):
    """htmx fragment: the engine's best volunteers for one slot, or a name/DNI search."""
    place = get_visible(request, PollingPlace.objects.select_related("election"), pk=pk)
    role = request.GET.get("rol", AssignmentRole.TABLE)
    if role not in AssignmentRole.values:
        raise Http404()
    table = None
    if role == AssignmentRole.TABLE:
        table_id = request.GET.get("mesa", "")
        if not table_id.isdigit():
            raise Http404()
        table = get_visible(request, Table.objects.all(), pk=int(table_id), place=place)
    slot = request.GET.get("puesto", "0")
    slot = int(slot) if slot.isdigit() else 0
    shift = request.GET.get("turno", Shift.DAY)
    if shift not in Shift.values or (shift != Shift.DAY and role != AssignmentRole.TABLE):
        shift = Shift.DAY
    # A half of a split slot keeps its shift; a whole slot may be given to a morning or an afternoon.
    shift_fixed = request.GET.get("fijo") == "1"
    query = request.GET.get("q", "").strip()
    if query:
        people = list(volunteer_search(user=request.user, query=query, limit=10))
        details = volunteer_details(volunteers=people, election=place.election, place=place)
        found = [
            {
                "volunteer_id": v.pk,
                "name": v.full_name,
                "reason": _("vota aquí") if details[v.pk]["votes_here"] else "",
                "cost_km": None,
                **details[v.pk],
            }
            for v in people
        ]
    else:
        found = candidate_rows(
            candidates_for_slot(user=request.user, place=place, role=role, table=table, slot=slot, limit=8, shift=shift)
        )
        people = list(
            Volunteer.objects.filter(pk__in=[c["volunteer_id"] for c in found]).select_related("area", "votes_at__area")
        )
        # The engine lists only free people; the details still say where each one lives.
        details = volunteer_details(volunteers=people, election=None, place=place)
        for c in found:
            c.update(details.get(c["volunteer_id"], {}))
    context = {
        "place": place,
        "table": table,
        "role": role,
        "slot": slot,
        "shift": shift,
        "shift_fixed": shift_fixed,
        "shifts": Shift.choices,
        "candidates": found,
        "query": query,
        "can_change": can(request.user, Action.CHANGE, place),
    }
    return render(request, "console/_candidates.html", context)


@require_POST
@console_view
def assign(request):
    place = get_visible(request, PollingPlace.objects.all(), Action.CHANGE, pk=request.POST.get("place") or 0)
    role = request.POST.get("role", "")
    table = None
    if role == AssignmentRole.TABLE:
        table = get_visible(request, Table.objects.all(), pk=request.POST.get("table") or 0, place=place)
    elif role != AssignmentRole.PLACE:
        messages.error(request, _("Elegí un rol válido."))
        return _back(request, place.pk)
    volunteer = get_visible(request, Volunteer.objects.all(), pk=request.POST.get("volunteer") or 0)
    slot = request.POST.get("slot", "")
    try:
        assignment = assignment_services.assignment_create(
            volunteer=volunteer,
            place=place,
            table=table,
            role=role,
            shift=request.POST.get("shift") or Shift.DAY,
            slot=int(slot) if slot.isdigit() and int(slot) < 100 else None,
            actor=request.user,
            source=SOURCE,
            reason=_("asignación manual"),
        )
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(
            request,
            _("%(name)s asignado/a a %(where)s.")
            % {"name": volunteer.full_name, "where": assignment.table or assignment.place.name},
        )
    return _back(request, place.pk)


def _assignment(request, pk) -> Assignment:
    return get_visible(
        request,
        Assignment.objects.select_related("place__area", "volunteer", "table"),
        Action.CHANGE,
        pk=pk,
        status__in=ACTIVE_STATUSES,
    )


@require_POST
@console_view
def unassign(request, pk: int):
    assignment = _assignment(request, pk)
    try:
        assignment_services.assignment_unassign(
            assignment=assignment,
            actor=request.user,
            source=SOURCE,
            reason=request.POST.get("reason", "") or _("quitada desde la consola"),
        )
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("%(name)s quedó sin asignación.") % {"name": assignment.volunteer.full_name})
    return _back(request, assignment.place_id)


@require_POST
@console_view
def lock(request, pk: int):
    assignment = _assignment(request, pk)
    locked = request.POST.get("locked") == "1"
    try:
        assignment_services.assignment_set_locked(
            assignment=assignment, locked=locked, actor=request.user, source=SOURCE
        )
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("Asignación fijada.") if locked else _("Asignación liberada para el asignador."))
    return _back(request, assignment.place_id)


@require_POST
@console_view
def shift(request, pk: int):
    """*Cambiar turno*: the whole day, the morning or the afternoon of the watcher's table slot."""
    assignment = _assignment(request, pk)
    try:
        changed = assignment_services.assignment_set_shift(
            assignment=assignment,
            shift=request.POST.get("shift", ""),
            actor=request.user,
            source=SOURCE,
            reason=request.POST.get("reason", ""),
        )
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(
            request,
            _("%(name)s: %(shift)s.") % {"name": assignment.volunteer.full_name, "shift": changed.get_shift_display()},
        )
    return _back(request, assignment.place_id)


@require_POST
@console_view
def swap(request, pk: int):
    assignment = _assignment(request, pk)
    other = _assignment(request, request.POST.get("other") or 0)
    try:
        assignment_services.assignment_swap(first=assignment, second=other, actor=request.user, source=SOURCE)
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(
            request,
            _("%(a)s y %(b)s intercambiaron lugares.")
            % {"a": assignment.volunteer.full_name, "b": other.volunteer.full_name},
        )
    return _back(request, assignment.place_id)


@require_POST
@console_view
def check_in(request, pk: int):
    """A coordinator records that the watcher is at their place (e.g. confirmed by phone)."""
    assignment = _assignment(request, pk)
    try:
        watcher_check_in(assignment=assignment, actor=request.user, source=SOURCE)
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("%(name)s está presente.") % {"name": assignment.volunteer.full_name})
    return _back(request, assignment.place_id)
