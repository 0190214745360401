"""Coverage: the area tree with slots, assigned, confirmed and checked in; drill down; export."""

from django.shortcuts import render
from django.utils.translation import gettext as _

from backend.assignments.selectors import Coverage, coverage_map_by_area, coverage_map_by_place
from backend.elections.models import PollingPlace
from backend.permissions import Action, can, visible

from ..access import console_view, current_election, root_areas
from .common import ancestors, area_from_query, page_of

FILTERS = {
    "sin-cubrir": lambda cov: cov.uncovered > 0,
    "sin-confirmar": lambda cov: cov.unconfirmed > 0,
}


def _children(request, election, area):
    if area is None:
        return root_areas(request.user, election)
    return [a for a in area.children.order_by("path") if can(request.user, Action.VIEW, a)]


@console_view
def coverage(request):
    election = current_election(request)
    if election is None:
        return render(request, "console/no_election.html", {"nav_active": "coverage"})
    area = area_from_query(request, election)
    children = _children(request, election, area)
    shown = [area] if area is not None else children
    coverage_map = coverage_map_by_area(user=request.user, election=election, areas=[*shown, *children])
    total = Coverage()
    for a in shown:
        total.add(coverage_map[a.pk])
    active_filter = request.GET.get("ver", "")
    keep = FILTERS.get(active_filter, lambda cov: True)
    nodes = [(child, coverage_map[child.pk]) for child in children if keep(coverage_map[child.pk])]
    places = []
    if area is not None:
        direct = visible(request.user, PollingPlace.objects.filter(election=election, area=area)).order_by("code")
        if direct.exists():
            per_place = coverage_map_by_place(user=request.user, election=election, area=area, direct=True)
            places = [(p, per_place.get(p.pk, Coverage())) for p in direct]
            # Worst first: the places with most uncovered slots lead the list.
            places = sorted(((p, cov) for p, cov in places if keep(cov)), key=lambda pc: (-pc[1].uncovered, pc[0].code))
    context = {
        "nav_active": "coverage",
        "election": election,
        "area": area,
        "crumbs": ancestors(area, request.user),
        "total": total,
        "nodes": nodes,
        "places": page_of(request, places),
        "active_filter": active_filter,
        "filters": [("", _("Todo")), ("sin-cubrir", _("Sin cubrir")), ("sin-confirmar", _("Sin confirmar"))],
    }
    return render(request, "console/coverage.html", context)
