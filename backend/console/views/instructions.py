"""Instructions: the broadcast composer over the sms app's broadcast services, with live delivery counts.

Segment (areas, roles, statuses, "only people with every value"), template text, then a preview
(recipients, who lacks each {variable}, segments, cost, time, a sample) before anything is
created; large sends wait for a lead's approval. Views parse, ask the permission module, call
backend.messaging.broadcasts and render.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.assignments.models import AssignmentRole, AssignmentStatus
from backend.core.exceptions import ApplicationError
from backend.elections.models import Area
from backend.messaging import broadcasts
from backend.messaging.models import Broadcast, BroadcastStatus
from backend.messaging.texts import BROADCAST_VARS
from backend.permissions import Action, can

from ..access import console_view, current_election, root_areas

STATUS_CHOICES = [
    AssignmentStatus.PROPOSED,
    AssignmentStatus.NOTIFIED,
    AssignmentStatus.CONFIRMED,
    AssignmentStatus.CHECKED_IN,
]


def _area_choices(user, election) -> list[Area]:
    """The user's top areas and one level below: enough to aim an instruction without a long list."""
    roots = root_areas(user, election)
    # One query for every root's children (not one per district); by path, each root leads its own.
    children = [a for a in Area.objects.filter(parent__in=roots) if can(user, Action.VIEW, a)]
    return sorted([*roots, *children], key=lambda a: a.path)


def _segment(request) -> dict:
    def ints(name):
        return [int(v) for v in request.POST.getlist(name) if v.isdigit()]

    return {
        "areas": ints("areas"),
        "places": ints("places"),
        "roles": [v for v in request.POST.getlist("roles") if v],
        "statuses": [v for v in request.POST.getlist("statuses") if v],
        "complete_only": request.POST.get("complete_only") == "1",
    }


def _form_context(request, election) -> dict:
    return {
        "nav_active": "instructions",
        "election": election,
        "areas": _area_choices(request.user, election),
        "roles": AssignmentRole.choices,
        "statuses": [(s.value, s.label) for s in STATUS_CHOICES],
        "variables": BROADCAST_VARS,
        "broadcasts": broadcasts.broadcast_list_visible_to(user=request.user, election=election)[:20],
    }


def _composer_input(request) -> dict:
    """The composer form as the broadcast services take it (preview and create read the same form)."""
    return {
        "body": request.POST.get("body", ""),
        "segment": _segment(request),
        "transliterate": request.POST.get("transliterate") == "1",
    }


@console_view
def instructions(request):
    election = current_election(request)
    if election is None:
        return render(request, "console/no_election.html", {"nav_active": "instructions"})
    return render(request, "console/instructions.html", _form_context(request, election))


@require_POST
@console_view
def instruction_preview(request):
    """htmx fragment: what this send would cost and look like; nothing is stored."""
    election = current_election(request)
    if election is None:
        raise Http404()
    try:
        preview = broadcasts.broadcast_preview(user=request.user, election=election, **_composer_input(request))
    except ApplicationError as exc:
        return render(request, "console/_instruction_preview.html", {"error": exc.message})
    return render(request, "console/_instruction_preview.html", {"preview": preview})


@require_POST
@console_view
def instruction_create(request):
    election = current_election(request)
    if election is None:
        raise Http404()
    try:
        broadcast = broadcasts.broadcast_create(actor=request.user, election=election, **_composer_input(request))
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        context = _form_context(request, election)
        context["body"] = request.POST.get("body", "")
        return render(request, "console/instructions.html", context, status=400)
    return redirect("console:instruction", pk=broadcast.pk)


def _broadcast(request, pk) -> Broadcast:
    broadcast = get_object_or_404(
        Broadcast.objects.select_related("election", "created_by", "approved_by", "sent_by", "cancelled_by"), pk=pk
    )
    if not can(request.user, Action.VIEW, broadcast):
        raise Http404()
    return broadcast


ACTIVE = (BroadcastStatus.SENDING,)
OPEN = (BroadcastStatus.DRAFT, BroadcastStatus.PENDING_APPROVAL, BroadcastStatus.APPROVED)


@console_view
def instruction(request, pk: int):
    broadcast = _broadcast(request, pk)
    may_change = can(request.user, Action.CHANGE, broadcast)
    context = {
        "nav_active": "instructions",
        "b": broadcast,
        "counts": broadcasts.broadcast_counts(broadcast=broadcast),
        "live": broadcast.status in ACTIVE,
    }
    if request.headers.get("HX-Request"):
        return render(request, "console/_instruction_counts.html", context)
    audience = broadcasts.broadcast_audience(broadcast=broadcast) if broadcast.status in OPEN else None
    context.update(
        audience=audience,
        can_approve=broadcast.status == BroadcastStatus.PENDING_APPROVAL
        and can(request.user, Action.APPROVE, broadcast),
        can_send=may_change and broadcast.status in (BroadcastStatus.DRAFT, BroadcastStatus.APPROVED),
        can_cancel=may_change and broadcast.status not in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED),
    )
    return render(request, "console/instruction.html", context)


def _confirmed(request) -> int | None:
    value = request.POST.get("confirm_recipients", "")
    return int(value) if value.isdigit() else None


@require_POST
@console_view
def instruction_send(request, pk: int):
    broadcast = _broadcast(request, pk)
    try:
        broadcasts.broadcast_send(actor=request.user, broadcast=broadcast, confirm_recipients=_confirmed(request))
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Instrucción encolada: sale al ritmo configurado."))
    return redirect("console:instruction", pk=broadcast.pk)


@require_POST
@console_view
def instruction_approve(request, pk: int):
    broadcast = _broadcast(request, pk)
    try:
        broadcasts.broadcast_approve(actor=request.user, broadcast=broadcast)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Envío aprobado."))
    return redirect("console:instruction", pk=broadcast.pk)


@require_POST
@console_view
def instruction_cancel(request, pk: int):
    broadcast = _broadcast(request, pk)
    try:
        cancelled = broadcasts.broadcast_cancel(actor=request.user, broadcast=broadcast)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, broadcasts.broadcast_cancel_summary(cancelled))
    return redirect("console:instruction", pk=broadcast.pk)
