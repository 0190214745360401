"""Election day: live check-ins per area and place, late watchers flagged with replacements."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.assignments.models import AssignmentStatus
from backend.assignments.selectors import (
    Coverage,
    assignment_list_visible,
    coverage_map_by_area,
    coverage_map_by_place,
    late_watcher_proposals,
)
from backend.assignments.services import late_watcher_replace
from backend.core.exceptions import ApplicationError
from backend.elections.models import PollingPlace
from backend.permissions import Action, visible
from backend.threads.selectors import announcement_unread_list
from backend.volunteers.models import Volunteer

from ..access import console_view, current_election
from ..selectors import check_in_deadline, late_ahead_of, late_assignments
from .board import SOURCE, _assignment
from .common import (
    ancestors,
    area_from_query,
    back_to,
    candidate_rows,
    flash_error,
    get_visible,
    page_of,
    thread_url,
)
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
    coverage_map = coverage_map_by_area(
        user=request.user, election=election, areas=[*([area] if area else []), *children]
    )
    total = Coverage()
    for a in [area] if area is not None else children:
        total.add(coverage_map[a.pk])
    places = []
    if area is not None:
        direct = visible(request.user, PollingPlace.objects.filter(election=election, area=area)).order_by("code")
        if direct.exists():
            per_place = coverage_map_by_place(user=request.user, election=election, area=area, direct=True)
            rows = [(p, per_place.get(p.pk, Coverage())) for p in direct]
            # Places missing most watchers first.
            rows.sort(key=lambda pc: (-(pc[1].assigned - pc[1].checked_in), pc[0].code))
            places = page_of(request, rows)
            places.object_list = [(p, cov, thread_url(place=p)) for p, cov in places.object_list]
    now = timezone.now()
    late = late_assignments(user=request.user, election=election, area=area, now=now)
    # A phone page cannot hold thousands of cards: pages of 20 (?tarde=N), every one reachable.
    # The page's ids first (one lean sorted query, no joins), then those 20 rows with their place,
    # table and person: sorting every late watcher with their joined rows cost most of the page.
    late_page = Paginator(late.values_list("pk", flat=True), FLAGGED_SHOWN).get_page(request.GET.get("tarde"))
    late_total = late_page.paginator.count
    late_page.object_list = list(late.filter(pk__in=list(late_page.object_list)))
    # Replacements are ranked only for the row a coordinator opens (`late_proposals`): the list of
    # who is missing is what the board owes at once.
    flagged = [(assignment, thread_url(place=assignment.place)) for assignment in late_page.object_list]
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


@console_view
def late_proposals(request, pk: int):
    """One late watcher's two proposed replacements, each with its one-click "Reemplazar": a
    fragment for the board's "Proponer reemplazo" (htmx), or a small page without JavaScript."""
    late = _assignment(request, pk)
    ahead = late_ahead_of(user=request.user, late=late)
    proposals = [] if ahead is None else late_watcher_proposals(user=request.user, late=late, ahead=ahead)
    board = reverse("console:election_day")
    target = request.GET.get("next", "")
    if not (target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})):
        target = board
    context = {
        "nav_active": "day",
        "a": late,
        "still_late": ahead is not None,
        "proposals": candidate_rows(proposals),
        "next": target,
    }
    template = "console/_late_proposals.html" if request.headers.get("HX-Request") else "console/late_proposals.html"
    return render(request, template, context)


@require_POST
@console_view
def replace(request, pk: int):
    """One click: the late watcher is marked absent and the proposed volunteer takes the slot."""
    late = _assignment(request, pk)
    volunteer = get_visible(request, Volunteer.objects.all(), pk=request.POST.get("volunteer") or 0)
    get_visible(request, PollingPlace.objects.all(), Action.CHANGE, pk=late.place_id)
    try:
        late_watcher_replace(assignment=late, volunteer=volunteer, actor=request.user, source=SOURCE)
    except ApplicationError as exc:
        flash_error(request, exc)
    else:
        messages.success(
            request,
            _("%(new)s reemplaza a %(old)s.") % {"new": volunteer.full_name, "old": late.volunteer.full_name},
        )
    return back_to(request, reverse("console:election_day"))
