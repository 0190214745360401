"""Volunteers' pages: the magic link entry and "Mi asignación". Thin: parse, authorise, call a service."""

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from sesame.utils import get_user

from backend.accounts.services import SCOPE
from backend.assignments.models import AssignmentRole, EventSource
from backend.assignments.services import assignment_confirm, assignment_decline
from backend.core.exceptions import ApplicationError
from backend.count.models import Category, SheetSource
from backend.count.selectors import sheet_forms_for_table
from backend.count.services import SheetFigures, sheet_photo_submit, sheet_submit
from backend.credentials.services import assignment_credential_pdf
from backend.elections.models import Table
from backend.incidents.categories import categories_for
from backend.incidents.services import incident_report
from backend.permissions import Action, can, can_submit_sheet
from backend.tableday.models import PROGRESS, TableState
from backend.tableday.selectors import table_next_state, table_status_get
from backend.tableday.services import shift_hand_over, table_report, walk_in_watcher_record, watcher_check_in
from backend.volunteers.models import Channel, Volunteer
from backend.volunteers.services import volunteer_seen_on_web, volunteer_update

from .selectors import my_assignment_get, my_finished_shift_get, school_overview, short_link_user_get

DRAFT_KEY = "portal_incident_draft"
WALK_IN_KEY = "portal_walk_in_draft"
WALK_IN_FIELDS = ("table", "first_name", "last_name", "dni", "phone")


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
    if mine_ is None:
        context["finished_shift"] = my_finished_shift_get(volunteer=volunteer)
    if mine_ is not None and mine_.assignment.table is not None:
        status = table_status_get(table=mine_.assignment.table)
        following = table_next_state(status.state)
        context["table_state"] = TableState(status.state).label
        context["next_state"] = following
        context["next_label"] = TableState(following).label if following else ""
        context["sheet_ready"] = status.state in {TableState.COUNTED, TableState.SHEET_SENT}
    if mine_ is not None:
        assignment = mine_.assignment
        context["categories"] = categories_for(assignment.election)
        context["school_tables"] = Table.objects.filter(place=assignment.place).order_by("number")
        # What the watcher wrote before a refusal comes back in the form: nothing typed is lost.
        context["draft"] = request.session.pop(DRAFT_KEY, {})
        context["walk_in"] = request.session.pop(WALK_IN_KEY, {})
        if assignment.role == AssignmentRole.PLACE:
            context["school"] = school_overview(place=assignment.place)
            context["progress"] = [(s.value, s.label) for s in PROGRESS if s != TableState.WAITING]
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
    return _respond(request, watcher_check_in, _("Registramos tu llegada. ¡Buena jornada!"))


@require_POST
def hand_over(request):
    """The morning-shift watcher's "Entregué la mesa" (as ENTREGO by SMS)."""
    return _respond(
        request,
        lambda **kw: shift_hand_over(**kw).assignment,
        _("Registramos que entregaste la mesa. ¡Gracias por tu turno!"),
    )


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


def _sheet_table(request):
    """The table whose sheet the volunteer may fill: their own, or (fiscal general) ?mesa=<number> of the school."""
    volunteer = _volunteer_of(request)
    if volunteer is None:
        return None, None
    mine_ = my_assignment_get(volunteer=volunteer)
    if mine_ is None:
        return volunteer, None
    table = mine_.assignment.table
    wanted = request.GET.get("mesa") or request.POST.get("mesa")
    if wanted and str(wanted).isdigit():
        table = Table.objects.filter(place_id=mine_.assignment.place_id, number=int(wanted)).first() or table
    if table is None or not can_submit_sheet(request.user, table):
        return volunteer, None
    return volunteer, Table.objects.select_related("place__area").get(pk=table.pk)


@require_GET
def sheet_form(request):
    """The result sheet, one form per category, once the table is counted."""
    volunteer, table = _sheet_table(request)
    if volunteer is None:
        return render(request, "portal/link_invalid.html", status=403)
    if table is None:
        messages.error(request, _("No tenés una mesa asignada."))
        return redirect("portal:mine")
    status = table_status_get(table=table)
    counted = status.state in {TableState.COUNTED, TableState.SHEET_SENT}
    return render(
        request,
        "portal/sheet.html",
        {"table": table, "counted": counted, "forms": sheet_forms_for_table(table=table)},
    )


def _number(value: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ApplicationError(_("«%(value)s» no es un número entero.") % {"value": value}, code="count_bad_number")
    return int(value)


@require_POST
def sheet_post(request):
    volunteer, table = _sheet_table(request)
    if volunteer is None:
        return render(request, "portal/link_invalid.html", status=403)
    if table is None:
        messages.error(request, _("No tenés una mesa asignada."))
        return redirect("portal:mine")
    target = f"{reverse('portal:sheet')}?mesa={table.number}"
    status = table_status_get(table=table)
    if status.state not in {TableState.COUNTED, TableState.SHEET_SENT}:
        messages.error(request, _("Primero informá que la mesa está escrutada."))
        return redirect(target)
    category = Category.objects.filter(election_id=table.election_id, pk=request.POST.get("category") or 0).first()
    if category is None:
        messages.error(request, _("Elegí una categoría."))
        return redirect(target)
    try:
        votes = {
            int(key.removeprefix("list_")): _number(value)
            for key, value in request.POST.items()
            if key.startswith("list_") and key.removeprefix("list_").isdigit()
        }
        figures = SheetFigures(
            votes=votes,
            **{
                name: _number(request.POST.get(name, ""))
                for name in ("blank", "null", "contested", "challenged", "voters")
            },
        )
        photo = request.FILES.get("photo")
        if not any(v is not None for v in [*votes.values(), figures.voters]) and photo is not None:
            sheet_photo_submit(table=table, category=category, photo=photo, source=SheetSource.WEB, actor=request.user)
            messages.success(
                request, _("Recibimos la foto del acta de %(code)s: la van a transcribir.") % {"code": category.code}
            )
            return redirect(target)
        result = sheet_submit(
            table=table, category=category, figures=figures, source=SheetSource.WEB, actor=request.user, photo=photo
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect(target)
    if result.accepted:
        messages.success(request, _("Acta de %(code)s recibida. ¡Gracias!") % {"code": category.code})
    else:
        messages.error(
            request,
            _("Guardamos el acta de %(code)s, pero revisala: %(reasons)s")
            % {"code": category.code, "reasons": " ".join(f.message for f in result.flags)},
        )
    return redirect(target)


@require_GET
def credential_pdf(request):
    """The watcher's own credential, A4 or phone-sized (?formato=telefono), to print or show at the door."""
    volunteer = _volunteer_of(request)
    if volunteer is None:
        return render(request, "portal/link_invalid.html", status=403)
    mine_ = my_assignment_get(volunteer=volunteer)
    if mine_ is None:
        messages.error(request, _("No tenés una asignación activa."))
        return redirect("portal:mine")
    layout = "phone" if request.GET.get("formato") == "telefono" else "a4"
    try:
        content, _pages = assignment_credential_pdf(assignment=mine_.assignment, actor=request.user, layout=layout)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("portal:mine")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="credencial-{volunteer.dni}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


def _active(request):
    """(volunteer, their active assignment) or (None, None) when there is nothing to act on."""
    volunteer = _volunteer_of(request)
    mine_ = my_assignment_get(volunteer=volunteer) if volunteer is not None else None
    if mine_ is None or not can(request.user, Action.RESPOND, mine_.assignment):
        return volunteer, None
    return volunteer, mine_.assignment


def _school_table(assignment, raw) -> Table | None:
    if not str(raw or "").isdigit():
        return None
    return Table.objects.filter(place_id=assignment.place_id, pk=int(raw)).first()


@require_POST
def incident_report_web(request):
    """The watcher's problem form: category (or let it be guessed), table, text, photos."""
    volunteer, assignment = _active(request)
    if volunteer is None:
        return render(request, "portal/link_invalid.html", status=403)
    if assignment is None:
        messages.error(request, _("No tenés una asignación activa."))
        return redirect("portal:mine")
    text = request.POST.get("text", "")
    code = request.POST.get("category", "")
    category = next((c for c in categories_for(assignment.election) if c.code == code), None)
    table = _school_table(assignment, request.POST.get("table")) or assignment.table
    photos = [(f.content_type or "", f.read()) for f in request.FILES.getlist("photo")]
    try:
        incident = incident_report(
            place=assignment.place,
            table=table,
            text=text,
            category=category,
            actor=request.user,
            channel=EventSource.WEB,
            photos=photos,
        )
    except ApplicationError as exc:
        request.session[DRAFT_KEY] = {"text": text[:2000], "category": code}
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("Problema #%(id)s recibido (%(category)s). Te avisamos cuando alguien lo tome.")
            % {"id": incident.pk, "category": incident.category.name},
        )
    return redirect("portal:mine")


def _general(request):
    volunteer, assignment = _active(request)
    if assignment is not None and assignment.role != AssignmentRole.PLACE:
        assignment = None
    return volunteer, assignment


@require_POST
def school_table_report(request):
    """The fiscal general reports a state for any table of the school."""
    volunteer, general = _general(request)
    if volunteer is None:
        return render(request, "portal/link_invalid.html", status=403)
    table = _school_table(general, request.POST.get("table")) if general is not None else None
    if table is None:
        messages.error(request, _("Esa mesa no es de tu escuela."))
        return redirect("portal:mine")
    try:
        result = table_report(
            table=table, state=request.POST.get("state", ""), actor=request.user, channel=EventSource.WEB
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("Registramos: mesa %(number)s, %(state)s.")
            % {"number": table.number, "state": TableState(result.state).label},
        )
    return redirect("portal:mine")


@require_POST
def school_walk_in(request):
    """ "Tengo fiscal": the fiscal general records a person who came to watch an uncovered table."""
    volunteer, general = _general(request)
    if volunteer is None:
        return render(request, "portal/link_invalid.html", status=403)
    table = _school_table(general, request.POST.get("table")) if general is not None else None
    if general is None or table is None:
        messages.error(request, _("Esa mesa no es de tu escuela."))
        return redirect("portal:mine")
    try:
        assignment = walk_in_watcher_record(
            general=general,
            table=table,
            first_name=request.POST.get("first_name", ""),
            last_name=request.POST.get("last_name", ""),
            dni=request.POST.get("dni", ""),
            phone=request.POST.get("phone", ""),
            actor=request.user,
            channel=EventSource.WEB,
        )
    except ApplicationError as exc:
        request.session[WALK_IN_KEY] = {name: request.POST.get(name, "")[:100] for name in WALK_IN_FIELDS}
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("%(name)s fiscaliza la mesa %(number)s.")
            % {"name": assignment.volunteer.full_name, "number": table.number},
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
