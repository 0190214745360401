"""Auto-assign for an area: a dry-run preview of the changes, then apply (the engine decides)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from backend.accounts.models import Role
from backend.assignments.services import auto_assign as auto_assign_run
from backend.core.exceptions import ApplicationError
from backend.permissions import Action, can, role_of

from ..access import console_view, current_election, root_areas
from .common import ancestors, area_from_query


@console_view
def auto_assign(request):
    election = current_election(request)
    if election is None:
        return render(request, "console/no_election.html", {"nav_active": "coverage"})
    area = area_from_query(request, election)
    roots = root_areas(request.user, election)
    if area is None and role_of(request.user) != Role.LEAD:
        # A coordinator works on one of their subtrees; with a single one, that is the choice.
        if len(roots) != 1:
            return render(
                request,
                "console/auto_assign.html",
                {"nav_active": "coverage", "election": election, "choose": roots},
            )
        area = roots[0]
    if area is not None and not can(request.user, Action.CHANGE, area):
        raise Http404()
    context = {"nav_active": "coverage", "election": election, "area": area, "crumbs": ancestors(area, request.user)}
    if request.method == "POST":
        try:
            result = auto_assign_run(
                election=election,
                area=area,
                dry_run=False,
                actor=request.user,
                notify=request.POST.get("notify") == "1",
            )
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
            return redirect(request.get_full_path())
        messages.success(
            request,
            _("Listo: %(created)s nuevas, %(moved)s cambios, %(cancelled)s bajas; cubiertos %(after)s de %(slots)s.")
            % {
                "created": result.created,
                "moved": result.moved,
                "cancelled": result.cancelled,
                "after": result.covered_after,
                "slots": result.slots,
            },
        )
        return redirect(reverse("console:coverage") + (f"?area={area.pk}" if area else ""))
    if request.GET.get("vista") == "previa":
        try:
            context["result"] = auto_assign_run(election=election, area=area, dry_run=True, actor=request.user)
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
    return render(request, "console/auto_assign.html", context)
