"""Auto-assign for an area: a dry-run preview of the changes, then apply."""

from django.shortcuts import render

from .. import domain
from ..access import console_view, current_election
from .common import ancestors, area_from_query


@console_view
def auto_assign(request):
    election = current_election(request)
    if election is None:
        return render(request, "console/no_election.html", {"nav_active": "coverage"})
    area = area_from_query(request, election)
    context = {
        "nav_active": "coverage",
        "election": election,
        "area": area,
        "crumbs": ancestors(area),
        "available": domain.auto_assign_available(),
    }
    return render(request, "console/auto_assign.html", context)
