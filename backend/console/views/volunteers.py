"""Volunteers: search by name, DNI or phone; a profile with history, messages and opt-out status."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.accounts.services import magic_links_revoke
from backend.messaging.selectors import message_list_for_volunteer
from backend.permissions import Action
from backend.volunteers.models import Volunteer

from ..access import console_view
from ..selectors import volunteer_assignments_with_events, volunteer_search
from .common import get_visible


@console_view
def volunteers(request):
    query = request.GET.get("q", "").strip()
    results = list(volunteer_search(user=request.user, query=query, limit=50))
    context = {"nav_active": "volunteers", "query": query, "results": results}
    if request.headers.get("HX-Request"):
        return render(request, "console/_volunteer_results.html", context)
    return render(request, "console/volunteers.html", context)


@console_view
def volunteer(request, pk: int):
    person = get_visible(request, Volunteer.objects.select_related("area", "votes_at"), pk=pk)
    context = {
        "nav_active": "volunteers",
        "person": person,
        "assignments": volunteer_assignments_with_events(volunteer=person),
        "messages_log": message_list_for_volunteer(volunteer=person),
    }
    return render(request, "console/volunteer.html", context)


@require_POST
@console_view
def volunteer_links_revoke(request, pk: int):
    """Every sign-in link of the volunteer stops working, and the sessions they opened end."""
    person = get_visible(request, Volunteer.objects.select_related("area", "votes_at"), Action.CHANGE, pk=pk)
    revoked = magic_links_revoke(volunteer=person, actor=request.user)
    messages.success(request, _("Se revocaron %(n)s enlaces de acceso.") % {"n": revoked})
    return redirect("console:volunteer", pk=person.pk)
