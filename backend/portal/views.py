"""Volunteers' pages: the magic link entry and "Mi asignación". Thin: parse, authorise, call a service."""

from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from sesame.utils import get_user

from backend.accounts.services import SCOPE
from backend.assignments.models import EventSource
from backend.assignments.services import assignment_check_in, assignment_confirm, assignment_decline
from backend.core.exceptions import ApplicationError
from backend.permissions import Action, can
from backend.tableday.models import TableState
from backend.tableday.selectors import table_next_state, table_status_get
from backend.tableday.services import table_report
from backend.volunteers.models import Channel, Volunteer
from backend.volunteers.services import volunteer_seen_on_web, volunteer_update

from .selectors import my_assignment_get, short_link_user_get


@require_GET
def magic_link_open(request, token: str):
    """Log the volunteer in and go to their page. A GET only logs in: it never confirms anything."""
    user = get_user(token, scope=SCOPE)
    if user is None:
        return render(request, "portal/link_invalid.html", status=403)
    login(request, user, backend="sesame.backends.ModelBackend")
    return redirect("portal:mine")


@require_GET
def short_link_open(request, key: str):
    """A link from an SMS: sign the volunteer in and go to their page (a GET changes nothing else)."""
    user = short_link_user_get(key=key)
    if user is None:
        return render(request, "portal/link_invalid.html", status=403)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("portal:mine")


def _volunteer_of(request) -> Volunteer | None:
    if not request.user.is_authenticated:
        return None
    return Volunteer.objects.filter(user=request.user).first()


@require_GET
def mine(request):
    volunteer = _volunteer_of(request)
    if volunteer is None:
        return render(request, "portal/link_invalid.html", status=403)
    volunteer_seen_on_web(volunteer_id=volunteer.pk)
    mine_ = my_assignment_get(volunteer=volunteer)
    context = {"volunteer": volunteer, "mine": mine_, "channels": Channel.choices}
    if mine_ is not None and mine_.assignment.table is not None:
        status = table_status_get(table=mine_.assignment.table)
        following = table_next_state(status.state)
        context["table_state"] = TableState(status.state).label
        context["next_state"] = following
        context["next_label"] = TableState(following).label if following else ""
    return render(request, "portal/mine.html", context)


def _respond(request, service, success_message):
    volunteer = _volunteer_of(request)
    if volunteer is None:
        return render(request, "portal/link_invalid.html", status=403)
    mine_ = my_assignment_get(volunteer=volunteer)
    if mine_ is None or not can(request.user, Action.RESPOND, mine_.assignment):
        messages.error(request, _("No tenés una asignación activa."))
        return redirect("portal:mine")
    try:
        service(assignment=mine_.assignment, actor=request.user, source=EventSource.WEB)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, success_message)
    return redirect("portal:mine")


@require_POST
def confirm(request):
    return _respond(request, assignment_confirm, _("¡Gracias! Confirmaste tu lugar."))


@require_POST
def decline(request):
    return _respond(request, assignment_decline, _("Registramos que no podés ir. Gracias por avisar."))


@require_POST
def check_in(request):
    return _respond(request, assignment_check_in, _("Registramos tu llegada. ¡Buena jornada!"))


@require_POST
def table_report_next(request):
    """The one big button: report the table's next state. The button names the state it reports, so a
    double tap or a page left open reports the same state again, which changes nothing."""
    volunteer = _volunteer_of(request)
    if volunteer is None:
        return render(request, "portal/link_invalid.html", status=403)
    mine_ = my_assignment_get(volunteer=volunteer)
    if mine_ is None or mine_.assignment.table is None or not can(request.user, Action.RESPOND, mine_.assignment):
        messages.error(request, _("No tenés una mesa asignada."))
        return redirect("portal:mine")
    table = mine_.assignment.table
    try:
        result = table_report(
            table=table, state=request.POST.get("state", ""), actor=request.user, channel=EventSource.WEB
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        label = TableState(result.state).label
        messages.success(
            request, _("Registramos: mesa %(number)s, %(state)s.") % {"number": table.number, "state": label}
        )
    return redirect("portal:mine")


@require_POST
def channel_set(request):
    """The volunteer chooses SMS, WhatsApp or automatic for what we send them (audited like any edit)."""
    volunteer = _volunteer_of(request)
    if volunteer is None:
        return render(request, "portal/link_invalid.html", status=403)
    try:
        volunteer_update(
            volunteer=volunteer, actor=request.user, source=EventSource.WEB, channel=request.POST.get("channel", "")
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request, _("Listo: te escribimos por %(channel)s.") % {"channel": volunteer.get_channel_display()}
        )
    return redirect("portal:mine")
