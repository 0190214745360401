"""Election day: live check-ins per area and place, late watchers flagged with replacements."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.accounts.permissions import Action, visible
from backend.assignments.models import AssignmentStatus
from backend.assignments.selectors import assignment_list_visible
from backend.core.exceptions import ApplicationError
from backend.elections.models import PollingPlace
from backend.threads.selectors import announcement_unread_list
from backend.volunteers.models import Volunteer

from .. import domain
from ..access import console_view, current_election
from ..selectors import check_in_deadline, late_assignments
from .board import _assignment
from .common import ancestors, area_from_query, back_to, flash_error, get_visible, page_of
from .coverage import _children

FLAGGED_SHOWN = 20
UNREAD_SHOWN = 30


@console_view
def election_day(request):
    election = current_election(request)
    if election is None:
        return render(request, "console/no_election.html", {"nav_active": "day"})
    area = area_from_query(request, election)
    children = _children(request, election, area)
    coverage_map = domain.coverage_by_area(
        user=request.user, election=election, areas=[*([area] if area else []), *children]
    )
    total = domain.Coverage()
    for a in [area] if area is not None else children:
        total.add(coverage_map[a.pk])
    places = []
    if area is not None:
        direct = visible(request.user, PollingPlace.objects.filter(election=election, area=area)).order_by("code")
        if direct.exists():
            per_place = domain.coverage_by_place(user=request.user, election=election, area=area)
            rows = [(p, per_place.get(p.pk, domain.Coverage())) for p in direct]
            # Places missing most watchers first.
            rows.sort(key=lambda pc: (-(pc[1].assigned - pc[1].checked_in), pc[0].code))
            places = page_of(request, rows)
            places.object_list = [(p, cov, domain.thread_url(place=p)) for p, cov in places.object_list]
    now = timezone.now()
    late = late_assignments(user=request.user, election=election, area=area, now=now)
    # A phone page cannot hold thousands of cards: pages of 20 (?tarde=N), every one reachable.
    late_page = Paginator(late, FLAGGED_SHOWN).get_page(request.GET.get("tarde"))
    late_total = late_page.paginator.count
    flagged = [
        (assignment, proposals, domain.thread_url(place=assignment.place))
        for assignment, proposals in _with_proposals(request.user, list(late_page.object_list))
    ]
    unread = announcement_unread_list(user=request.user)
    recent = assignment_list_visible(
        user=request.user, election=election, area=area, status=AssignmentStatus.CHECKED_IN
    ).order_by("-status_changed_at")[:15]
    context = {
        "nav_active": "day",
        "election": election,
        "area": area,
        "crumbs": ancestors(area, request.user),
        "nodes": [(child, coverage_map[child.pk]) for child in children],
        "places": places,
        "total": total,
        "deadline": check_in_deadline(election=election),
        "deadline_passed": now >= check_in_deadline(election=election),
        "flagged": flagged,
        "late_total": late_total,
        "late_page": late_page,
        "recent": recent,
        "unread": unread[:UNREAD_SHOWN],
        "unread_total": len(unread),
    }
    return render(request, "console/day.html", context)


PROPOSALS_PER_WATCHER = 2


def _with_proposals(user, late: list) -> list[tuple]:
    """Each late watcher with up to two replacements, never the same person for two of them.

    Late watchers of one place share the same nearby volunteers, so the engine is asked once per
    place, role and slot, for enough people to give each of them their own pair.
    """
    wanted: dict[tuple, int] = {}
    for assignment in late:
        key = (assignment.place_id, assignment.role, assignment.slot)
        wanted[key] = wanted.get(key, 0) + PROPOSALS_PER_WATCHER
    pools: dict[tuple, list] = {}
    taken: set[int] = set()
    out = []
    for assignment in late:
        key = (assignment.place_id, assignment.role, assignment.slot)
        if key not in pools:
            pools[key] = domain.candidates_for_slot(
                user=user,
                place=assignment.place,
                role=assignment.role,
                table=assignment.table,
                slot=assignment.slot,
                # Neighbouring places draw on the same people: room for those already handed out.
                limit=wanted[key] + len(taken),
            )
        proposals = [c for c in pools[key] if c["volunteer_id"] not in taken][:PROPOSALS_PER_WATCHER]
        taken.update(c["volunteer_id"] for c in proposals)
        out.append((assignment, proposals))
    return out


@require_POST
@console_view
def replace(request, pk: int):
    """One click: the late watcher is marked absent and the proposed volunteer takes the slot."""
    late = _assignment(request, pk)
    volunteer = get_visible(request, Volunteer.objects.all(), pk=request.POST.get("volunteer") or 0)
    get_visible(request, PollingPlace.objects.all(), Action.CHANGE, pk=late.place_id)
    try:
        domain.replace_absent(assignment=late, volunteer=volunteer, actor=request.user)
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(
            request,
            _("%(new)s reemplaza a %(old)s.") % {"new": volunteer.full_name, "old": late.volunteer.full_name},
        )
    return back_to(request, reverse("console:election_day"))
