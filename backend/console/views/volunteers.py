"""The search box (volunteers, places, tables) and a volunteer's profile, edit form and history."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from backend.accounts.services import magic_links_revoke
from backend.core.exceptions import ApplicationError
from backend.elections.selectors import place_search, table_search
from backend.messaging.selectors import message_list_for_volunteer
from backend.permissions import Action, can
from backend.volunteers.models import Availability, Channel, RolesAccepted, Volunteer
from backend.volunteers.selectors import volunteer_event_list, volunteer_search
from backend.volunteers.services import volunteer_update

from ..access import console_view, current_election
from ..selectors import volunteer_assignments_with_events, volunteer_details
from .common import get_visible

RESULTS = 50


@console_view
def volunteers(request):
    query = request.GET.get("q", "").strip()
    election = current_election(request)
    results = list(volunteer_search(user=request.user, query=query, limit=RESULTS))
    places, tables = [], []
    if query and election is not None:
        places = place_search(user=request.user, election=election, query=query)
        tables = table_search(user=request.user, election=election, query=query)
    context = {
        "nav_active": "volunteers",
        "query": query,
        "results": results,
        "details": volunteer_details(volunteers=results, election=election),
        "places": places,
        "tables": tables,
        "results_cap": RESULTS,
    }
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
        "history": volunteer_event_list(volunteer=person)[:50],
        "can_edit": can(request.user, Action.CHANGE, person),
    }
    return render(request, "console/volunteer.html", context)


class VolunteerEditForm(forms.Form):
    """Parses the edit form; every rule (phone notation, exclusion reason) lives in `volunteer_update`."""

    phone = forms.CharField(
        label=gettext_lazy("Celular"),
        required=False,
        max_length=40,
        help_text=gettext_lazy("En cualquier formato: 0351 15 500-0039, +54 9 351 500 0039..."),
    )
    availability = forms.ChoiceField(label=gettext_lazy("Disponibilidad"), choices=Availability.choices)
    roles_accepted = forms.ChoiceField(label=gettext_lazy("Roles"), choices=RolesAccepted.choices)
    channel = forms.ChoiceField(
        label=gettext_lazy("Canal"),
        choices=Channel.choices,
        required=False,
        help_text=gettext_lazy("Automático: WhatsApp si ya nos escribió por WhatsApp; si no, SMS."),
    )
    trained = forms.BooleanField(label=gettext_lazy("Capacitado"), required=False)
    excluded = forms.BooleanField(label=gettext_lazy("Excluido por coordinación"), required=False)
    excluded_reason = forms.CharField(label=gettext_lazy("Motivo de exclusión"), required=False, max_length=255)
    notes = forms.CharField(label=gettext_lazy("Notas"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("channel"):  # a form without the field leaves the channel as it is
            cleaned.pop("channel", None)
        return cleaned


@console_view
def volunteer_edit(request, pk: int):
    person = get_visible(request, Volunteer.objects.select_related("area", "votes_at"), Action.CHANGE, pk=pk)
    if request.method == "POST":
        form = VolunteerEditForm(request.POST)
        if form.is_valid():
            try:
                volunteer_update(volunteer=person, actor=request.user, source="web", **form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(_field_of(exc.code), str(exc.message))
            else:
                messages.success(request, _("Datos de %(name)s guardados.") % {"name": person.full_name})
                return redirect("console:volunteer", pk=person.pk)
    else:
        form = VolunteerEditForm(initial={name: getattr(person, name) for name in VolunteerEditForm.base_fields})
    return render(request, "console/volunteer_edit.html", {"nav_active": "volunteers", "person": person, "form": form})


def _field_of(code: str) -> str | None:
    return {
        "phone_invalid": "phone",
        "phone_taken": "phone",
        "exclusion_reason_required": "excluded_reason",
    }.get(code)


@require_POST
@console_view
def volunteer_links_revoke(request, pk: int):
    """Every sign-in link of the volunteer stops working, and the sessions they opened end."""
    person = get_visible(request, Volunteer.objects.select_related("area", "votes_at"), Action.CHANGE, pk=pk)
    revoked = magic_links_revoke(volunteer=person, actor=request.user)
    messages.success(request, _("Se revocaron %(n)s enlaces de acceso.") % {"n": revoked})
    return redirect("console:volunteer", pk=person.pk)
