"""Writes on assignments. Every change goes through one of these and leaves an AssignmentEvent.

Called by the API, the console pages, the admin, SMS keyword commands and the auto-assigner.
Each function owns its transaction; notices for the volunteer are written inside it (outbox).
"""

import math

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role
from backend.core.exceptions import ApplicationError, PermissionDenied
from backend.credentials.models import RevokeReason
from backend.credentials.services import credentials_issue, credentials_revoke
from backend.notices.models import NoticeKind
from backend.notices.services import notice_create
from backend.permissions import role_of
from backend.threads.services import thread_post_system_notice
from backend.volunteers.models import Volunteer

from .engine import plan_build, plan_describe
from .engine.rules import PROBLEM_ABSENT, Problem, eligibility_problems, pair_cost, volunteer_facts
from .errors import AssignmentErrorCode
from .events import event_record
from .live import assignment_changed_broadcast, assignment_checked_in_broadcast, assignments_membership_changed
from .models import (
    ACTIVE_STATUSES,
    ALLOWED_TRANSITIONS,
    SHIFT_OVERLAPS,
    Assignment,
    AssignmentEvent,
    AssignmentRole,
    AssignmentStatus,
    EventSource,
    Shift,
)
from .plan_writer import plan_write
from .selectors import candidates_for_slot


def _free_slot(*, place, table, role: str, shift: str = Shift.DAY) -> int:
    election = place.election
    if role == AssignmentRole.TABLE:
        capacity = election.table_watchers_per_table
        # A slot is free for a shift when nobody holds that part of the day in it.
        taken = set(
            Assignment.objects.filter(
                table=table, role=role, status__in=ACTIVE_STATUSES, shift__in=SHIFT_OVERLAPS[shift]
            ).values_list("slot", flat=True)
        )
    else:
        capacity = election.place_watchers_per_place
        taken = set(
            Assignment.objects.filter(place=place, role=role, status__in=ACTIVE_STATUSES).values_list("slot", flat=True)
        )
    for slot in range(capacity):
        if slot not in taken:
            return slot
    raise ApplicationError(_("Ese lugar ya tiene todos sus fiscales."), code=AssignmentErrorCode.NO_FREE_SLOT)


def _was_absent(*, volunteer, election_id: int) -> bool:
    return Assignment.objects.filter(
        election_id=election_id, volunteer=volunteer, status=AssignmentStatus.NO_SHOW
    ).exists()


def _refuse_problems(volunteer, problems: list[Problem]) -> None:
    if not problems:
        return
    texts = [p.text for p in problems]
    absent_only = all(p.code == PROBLEM_ABSENT for p in problems)
    raise ApplicationError(
        _("%(name)s no puede tomar este puesto: %(problems)s.")
        % {"name": volunteer.full_name, "problems": ", ".join(texts)},
        code=AssignmentErrorCode.ABSENT_TODAY if absent_only else AssignmentErrorCode.NOT_ELIGIBLE,
        extra={"problems": texts},
    )


def assignment_create(
    *,
    volunteer,
    place,
    table=None,
    role: str,
    actor=None,
    source: str,
    reason: str = "",
    locked: bool = False,
    slot: int | None = None,
    notify: bool = True,
    replaces: Assignment | None = None,
    allow_absent: bool = False,
    shift: str = Shift.DAY,
) -> Assignment:
    """Assign `volunteer` to `place` (and `table` for a table watcher) as a proposal: the manual "assign".

    `shift`: the whole day, or the morning or afternoon of a table slot (a half-day volunteer may
    take the half they are free for). A shift assignment is pinned (`locked`): the engine plans
    whole days only and never moves a half; a coordinator still removes it with "Quitar".

    Called by the console, the API, the admin, decline and no-show replacements. Checks the one
    eligibility rule (a volunteer marked absent today only with `allow_absent`, a coordinator's
    explicit say) and stores the cost and reason of the one cost rule, as the engine does;
    `reason` is the person's note, kept in the audit row. With `notify`, a Notice of kind
    `assignment` is written in the same transaction and relayed after commit; the volunteer's
    open thread sockets re-check their membership after commit.
    """
    if (role == AssignmentRole.TABLE) != (table is not None):
        raise ApplicationError(
            _("Un fiscal de mesa necesita una mesa; un fiscal general no."), code=AssignmentErrorCode.ROLE_MISMATCH
        )
    if table is not None and table.place_id != place.pk:
        raise ApplicationError(
            _("La mesa no pertenece a ese establecimiento."), code=AssignmentErrorCode.TABLE_NOT_IN_PLACE
        )
    if shift not in Shift.values or (shift != Shift.DAY and role != AssignmentRole.TABLE):
        raise ApplicationError(
            _("Los turnos mañana y tarde son para fiscales de mesa."), code=AssignmentErrorCode.SHIFT_INVALID
        )
    if shift != Shift.DAY:
        locked = True
    facts = volunteer_facts(volunteer, absent=_was_absent(volunteer=volunteer, election_id=place.election_id))
    _refuse_problems(
        volunteer,
        eligibility_problems(
            facts,
            requires_training=place.election.requires_training,
            role=role,
            slot=slot or 0,
            place_path=place.area.path,
            allow_absent=allow_absent,
            shift=shift,
        ),
    )
    cost, fit = pair_cost(volunteer=volunteer, place=place)
    if replaces is not None:
        fit = _("reemplazo de %(name)s: %(reason)s") % {"name": replaces.volunteer.full_name, "reason": fit}
    try:
        with transaction.atomic():
            if Assignment.objects.filter(
                election_id=place.election_id, volunteer=volunteer, status__in=ACTIVE_STATUSES
            ).exists():
                raise ApplicationError(
                    _("%(name)s ya tiene una asignación activa en esta elección.") % {"name": volunteer.full_name},
                    code=AssignmentErrorCode.ALREADY_ASSIGNED,
                )
            if slot is None:
                slot = _free_slot(place=place, table=table, role=role, shift=shift)
            assignment = Assignment.objects.create(
                election_id=place.election_id,
                volunteer=volunteer,
                place=place,
                table=table,
                role=role,
                slot=slot,
                shift=shift,
                locked=locked,
                reason=str(fit)[:255],
                cost=cost if math.isfinite(cost) else None,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
                replaces=replaces,
            )
            event_record(
                assignment=assignment,
                kind=AssignmentEvent.Kind.CREATED,
                actor=actor,
                source=source,
                to_status=assignment.status,
                reason=reason or (fit if source == EventSource.ENGINE else _("asignación manual")),
            )
            if notify:
                notice_create(volunteer=volunteer, kind=NoticeKind.ASSIGNMENT, assignment=assignment)
            if replaces is not None:
                # The slot's old credential was revoked when its assignment ended; the new watcher's is issued.
                credentials_issue(assignments=[assignment])
            assignment_changed_broadcast(election_id=place.election_id, place_id=place.pk)
            assignments_membership_changed(volunteer_ids=[volunteer.pk])
    except IntegrityError as exc:
        # Two coordinators raced for the same slot or person: the database constraint decided.
        raise ApplicationError(
            _("Ese lugar o esa persona acaban de ser asignados por otra persona."), code=AssignmentErrorCode.SLOT_TAKEN
        ) from exc
    return assignment


# An assignment that ends this way takes its printed credential with it (the QR reads "revocada").
_ENDS_CREDENTIAL: dict[str, str] = {
    AssignmentStatus.DECLINED: RevokeReason.DECLINED,
    AssignmentStatus.CANCELLED: RevokeReason.CANCELLED,
    AssignmentStatus.NO_SHOW: RevokeReason.NO_SHOW,
}


def assignment_transition(
    *, assignment: Assignment, to_status: str, actor=None, source: str, reason: str = ""
) -> Assignment:
    """Move an assignment along its lifecycle (confirm, decline, check in, cancel...).

    Refuses moves the lifecycle does not allow. A cancellation of an assignment the volunteer
    already knew about writes a `cancellation` notice.
    """
    with transaction.atomic():
        locked_row = Assignment.objects.select_for_update().get(pk=assignment.pk)
        from_status = locked_row.status
        if to_status == from_status:
            return locked_row
        if to_status not in ALLOWED_TRANSITIONS.get(from_status, ()):
            raise ApplicationError(
                _("No se puede pasar de «%(from)s» a «%(to)s».")
                % {"from": AssignmentStatus(from_status).label, "to": AssignmentStatus(to_status).label},
                code=AssignmentErrorCode.INVALID_TRANSITION,
            )
        locked_row.status = to_status
        locked_row.status_changed_at = timezone.now()
        locked_row.save(update_fields=["status", "status_changed_at", "updated_at"])
        event_record(
            assignment=locked_row,
            kind=AssignmentEvent.Kind.STATUS,
            actor=actor,
            source=source,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
        )
        if to_status in _ENDS_CREDENTIAL:
            credentials_revoke(assignment_ids=[locked_row.pk], reason=_ENDS_CREDENTIAL[to_status])
        if to_status == AssignmentStatus.CANCELLED and from_status in {
            AssignmentStatus.NOTIFIED,
            AssignmentStatus.CONFIRMED,
        }:
            notice_create(volunteer=locked_row.volunteer, kind=NoticeKind.CANCELLATION, assignment=locked_row)
        if to_status == AssignmentStatus.CHECKED_IN:
            assignment_checked_in_broadcast(assignment=locked_row)
        else:
            assignment_changed_broadcast(election_id=locked_row.election_id, place_id=locked_row.place_id)
        # Station threads: a volunteer who left the place loses its thread's open sockets.
        assignments_membership_changed(volunteer_ids=[locked_row.volunteer_id])
    return locked_row


def assignment_set_locked(
    *, assignment: Assignment, locked: bool, actor=None, source: str, reason: str = ""
) -> Assignment:
    """Pin an assignment so the auto-assigner never moves it (or release it; never a shift, which the
    engine does not plan)."""
    with transaction.atomic():
        row = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if row.locked == locked:
            return row
        if not locked and row.shift != Shift.DAY:
            raise ApplicationError(
                _("Un turno queda fijado: la asignación automática no reparte turnos."),
                code=AssignmentErrorCode.SHIFT_STAYS_LOCKED,
            )
        row.locked = locked
        row.save(update_fields=["locked", "updated_at"])
        event_record(
            assignment=row,
            kind=AssignmentEvent.Kind.LOCKED if locked else AssignmentEvent.Kind.UNLOCKED,
            actor=actor,
            source=source,
            from_status=row.status,
            to_status=row.status,
            reason=reason,
        )
    return row


def _shift_name(shift: str) -> str:
    return str(Shift(shift).label).lower()


def assignment_set_shift(
    *, assignment: Assignment, shift: str, actor=None, source: str, reason: str = ""
) -> Assignment:
    """A coordinator moves a table watcher to the whole day, the morning or the afternoon of their slot.

    Called by the console's place page and the API. Refused when another active watcher of the same
    table slot holds a part of the day the new shift needs (a whole day needs both halves free), or
    when the volunteer is not free for that part of the day. A half is pinned like any shift (the
    engine plans whole days); a watcher who knows of the assignment is told of the change by SMS
    (a `change` notice with the new shift, relayed after commit)."""
    if shift not in Shift.values:
        raise ApplicationError(
            _("Turno desconocido: %(shift)s.") % {"shift": shift}, code=AssignmentErrorCode.SHIFT_INVALID
        )
    try:
        with transaction.atomic():
            row = (
                Assignment.objects.select_for_update(of=("self",))
                .select_related("volunteer__area", "volunteer__votes_at__area", "place__area", "election", "table")
                .get(pk=assignment.pk)
            )
            if row.shift == shift:
                return row
            table = row.table
            if row.role != AssignmentRole.TABLE or table is None:
                raise ApplicationError(
                    _("Los turnos mañana y tarde son para fiscales de mesa."), code=AssignmentErrorCode.SHIFT_INVALID
                )
            if row.status not in ACTIVE_STATUSES:
                raise ApplicationError(
                    _("La asignación de %(name)s ya no está activa.") % {"name": row.volunteer.full_name},
                    code=AssignmentErrorCode.NOT_ACTIVE,
                )
            # A morning watcher who handed over (`done`) still holds the morning, as coverage counts it.
            holding = Q(status__in=ACTIVE_STATUSES) | Q(status=AssignmentStatus.DONE, shift=Shift.MORNING)
            holder = (
                Assignment.objects.filter(
                    holding,
                    table=table,
                    slot=row.slot,
                    role=AssignmentRole.TABLE,
                    shift__in=SHIFT_OVERLAPS[shift],
                )
                .exclude(pk=row.pk)
                .select_related("volunteer")
                .first()
            )
            if holder is not None:
                raise ApplicationError(
                    _(
                        "No se puede pasar a %(name)s a %(shift)s: %(other)s tiene %(their)s de la mesa %(table)s. "
                        "Cambiá o quitá primero esa asignación."
                    )
                    % {
                        "name": row.volunteer.full_name,
                        "shift": _shift_name(shift),
                        "other": holder.volunteer.full_name,
                        "their": _shift_name(holder.shift),
                        "table": table.number,
                    },
                    code=AssignmentErrorCode.SHIFT_CLASH,
                    extra={"holder": holder.pk},
                )
            # They hold an active assignment, so they are not absent today.
            _refuse_problems(
                row.volunteer,
                eligibility_problems(
                    volunteer_facts(row.volunteer),
                    requires_training=row.election.requires_training,
                    role=row.role,
                    slot=row.slot,
                    place_path=row.place.area.path,
                    shift=shift,
                ),
            )
            before = row.shift
            row.shift = shift
            row.locked = row.locked or shift != Shift.DAY
            row.save(update_fields=["shift", "locked", "updated_at"])
            event_record(
                assignment=row,
                kind=AssignmentEvent.Kind.SHIFT,
                actor=actor,
                source=source,
                from_status=row.status,
                to_status=row.status,
                reason=(
                    reason
                    or _("de %(before)s a %(after)s") % {"before": _shift_name(before), "after": _shift_name(shift)}
                )[:255],
            )
            if row.status != AssignmentStatus.PROPOSED or row.notices.exists():
                notice_create(volunteer=row.volunteer, kind=NoticeKind.CHANGE, assignment=row, payload={"shift": shift})
            assignment_changed_broadcast(election_id=row.election_id, place_id=row.place_id)
    except IntegrityError as exc:
        # Another coordinator gave that half of the slot to someone at the same moment.
        raise ApplicationError(
            _("Ese turno de la mesa acaba de ser asignado por otra persona."), code=AssignmentErrorCode.SLOT_TAKEN
        ) from exc
    return row


def assignment_confirm(*, assignment: Assignment, actor=None, source: str) -> Assignment:
    """The volunteer (or a coordinator for them) confirms. Called by SMS `SI`, the web page, the API."""
    return assignment_transition(
        assignment=assignment, to_status=AssignmentStatus.CONFIRMED, actor=actor, source=source
    )


def assignment_decline(*, assignment: Assignment, actor=None, source: str, reason: str = "") -> Assignment:
    """The volunteer cannot go: the slot is freed and the best available replacement is proposed at once.

    Called by SMS `NO`, the web page and coordinators ("mark declined"). Nobody else is moved: the
    replacement is the cheapest eligible volunteer who is free (see `candidates_for_slot`). Returns
    the declined assignment; the proposed replacement (or None when nobody is available) is on its
    `replacement` attribute and, durably, in `declined.replacements` (the new row's `replaces`).
    The replacement's volunteer gets an assignment notice after commit, like any manual proposal.
    """
    with transaction.atomic():
        declined = assignment_transition(
            assignment=assignment, to_status=AssignmentStatus.DECLINED, actor=actor, source=source, reason=reason
        )
        declined.replacement = None
        if declined.status == AssignmentStatus.DECLINED and not declined.replacements.exists():
            declined.replacement = assignment_propose_replacement(declined=declined, actor=actor, source=source)
            _tell_place_coordinators_of_decline(declined=declined, source=source)
    return declined


def _tell_place_coordinators_of_decline(*, declined: Assignment, source: str) -> None:
    """Post the decline and its replacement in the place's thread, where its coordinators see it live."""
    how_by_source: dict[str, str] = {
        EventSource.SMS: _("respondió NO por SMS"),
        EventSource.WEB: _("avisó desde su página"),
    }
    how = how_by_source.get(source, _("marcado por coordinación"))
    where = (
        _("la mesa %(number)s") % {"number": declined.table.number}
        if declined.table is not None
        else _("fiscal general del establecimiento")
    )
    replacement = declined.replacement
    if replacement is not None:
        outcome = _("Reemplazo propuesto: %(name)s.") % {"name": replacement.volunteer.full_name}
    else:
        outcome = _("No hay reemplazo disponible: asigná a alguien desde la consola.")
    thread_post_system_notice(
        place=declined.place,
        body=_("%(name)s no puede ir (%(where)s, %(how)s). %(outcome)s")
        % {"name": declined.volunteer.full_name, "where": where, "how": how, "outcome": outcome},
    )


def assignment_propose_replacement(*, declined: Assignment, actor=None, source: str) -> Assignment | None:
    """Propose the best free volunteer for the slot `declined` held, moving nobody; None if nobody fits."""
    place, table = declined.place, declined.table
    with transaction.atomic():
        taken = Assignment.objects.filter(place=place, role=declined.role, table=table, slot=declined.slot).filter(
            status__in=ACTIVE_STATUSES, shift__in=SHIFT_OVERLAPS[declined.shift]
        )
        if taken.exists():
            return None
        best = candidates_for_slot(
            place=place, role=declined.role, table=table, slot=declined.slot, limit=1, shift=declined.shift
        )
        if not best:
            event_record(
                assignment=declined,
                kind=AssignmentEvent.Kind.STATUS,
                actor=actor,
                source=source,
                from_status=declined.status,
                to_status=declined.status,
                reason=_("sin reemplazo disponible"),
            )
            return None
        candidate = best[0]
        volunteer = Volunteer.objects.select_related("area", "votes_at__area").get(pk=candidate.volunteer_id)
        replacement = assignment_create(
            volunteer=volunteer,
            place=place,
            table=table,
            role=declined.role,
            slot=declined.slot,
            shift=declined.shift,
            actor=actor,
            source=source,
            reason=_("reemplazo de %(name)s") % {"name": declined.volunteer.full_name},
            replaces=declined,
        )
        event_record(
            assignment=declined,
            kind=AssignmentEvent.Kind.STATUS,
            actor=actor,
            source=source,
            from_status=declined.status,
            to_status=declined.status,
            reason=_("reemplazo propuesto: %(name)s") % {"name": volunteer.full_name},
        )
    return replacement


def assignment_check_in(*, assignment: Assignment, actor=None, source: str) -> Assignment:
    """Election day: the watcher is at their place. Called by SMS `LLEGUE`, the volunteer's page, the
    console's board, the API and the admin; all obey the same rule: only on election day (local
    date), refused otherwise with `not_election_day`. The board hears of it after commit."""
    election = assignment.election
    if timezone.localdate() != election.date:
        raise ApplicationError(
            _("Solo se puede registrar la llegada el día de la elección (%(date)s).")
            % {"date": election.date.strftime("%d/%m/%Y")},
            code=AssignmentErrorCode.NOT_ELECTION_DAY,
        )
    return assignment_transition(
        assignment=assignment, to_status=AssignmentStatus.CHECKED_IN, actor=actor, source=source
    )


def late_watcher_replace(*, assignment: Assignment, volunteer, actor, source: str) -> Assignment:
    """Election day: mark `assignment` absent (or cancel a never-answered proposal) and give its slot to `volunteer`.

    Called by the election-day board's one-click replacement and the API's replace endpoint. One
    transaction: the late watcher leaves the slot and the chosen volunteer takes it, or neither
    happens. The new volunteer gets an assignment notice after commit, like any proposal; the late
    one a cancellation if they had been told.
    """
    with transaction.atomic():
        answered = assignment.status in {AssignmentStatus.NOTIFIED, AssignmentStatus.CONFIRMED}
        late = assignment_transition(
            assignment=assignment,
            to_status=AssignmentStatus.NO_SHOW if answered else AssignmentStatus.CANCELLED,
            actor=actor,
            source=source,
            reason=_("no se presentó a tiempo"),
        )
        return assignment_create(
            volunteer=volunteer,
            place=late.place,
            table=late.table,
            role=late.role,
            slot=late.slot,
            shift=late.shift,
            actor=actor,
            source=source,
            reason=_("reemplazo de %(name)s, que no se presentó") % {"name": late.volunteer.full_name},
            replaces=late,
        )


def assignment_unassign(*, assignment: Assignment, actor=None, source: str, reason: str = "") -> Assignment:
    """A coordinator takes a volunteer off their slot (the assignment is cancelled; the slot is free).

    Refused for a locked assignment (unlock it first). A volunteer who had been told gets a
    cancellation notice after commit.
    """
    if assignment.locked and assignment.shift == Shift.DAY:
        raise ApplicationError(
            _("La asignación está fijada: liberala antes de quitarla."), code=AssignmentErrorCode.LOCKED
        )
    return assignment_transition(
        assignment=assignment, to_status=AssignmentStatus.CANCELLED, actor=actor, source=source, reason=reason
    )


_SWAP_TEMP_SLOT = 32_000


def assignment_swap(*, first: Assignment, second: Assignment, actor=None, source: str, reason: str = "") -> tuple:
    """Two volunteers exchange their slots (place, table, role); statuses stay, both get a MOVED event.

    Each must be eligible for the other's slot; locked or inactive assignments are refused. A
    volunteer who had been told of their old slot gets a change notice after commit.
    """
    if first.pk == second.pk:
        raise ApplicationError(_("Elegí dos asignaciones distintas."), code=AssignmentErrorCode.SAME_ASSIGNMENT)
    with transaction.atomic():
        a, b = (
            Assignment.objects.select_for_update(of=("self",))
            .select_related("volunteer__area", "volunteer__votes_at__area", "place__area", "election", "table")
            .get(pk=pk)
            for pk in sorted((first.pk, second.pk))
        )
        if a.election_id != b.election_id:
            raise ApplicationError(
                _("Las asignaciones son de elecciones distintas."), code=AssignmentErrorCode.WRONG_ELECTION
            )
        for row in (a, b):
            if row.status not in ACTIVE_STATUSES:
                raise ApplicationError(
                    _("La asignación de %(name)s ya no está activa.") % {"name": row.volunteer.full_name},
                    code=AssignmentErrorCode.NOT_ACTIVE,
                )
            if row.locked:
                raise ApplicationError(
                    _("La asignación de %(name)s está fijada: liberala antes de intercambiarla.")
                    % {"name": row.volunteer.full_name},
                    code=AssignmentErrorCode.LOCKED,
                )
        for row, other in ((a, b), (b, a)):
            # Both hold an active assignment, so neither is absent today.
            problems = eligibility_problems(
                volunteer_facts(row.volunteer),
                requires_training=row.election.requires_training,
                role=other.role,
                slot=other.slot,
                place_path=other.place.area.path,
            )
            _refuse_problems(row.volunteer, problems)
        slot_a = (a.place, a.table, a.role, a.slot)
        slot_b = (b.place, b.table, b.role, b.slot)
        # Each credential names a table or school: both are reprinted for the new slots.
        credentials_revoke(assignment_ids=[a.pk, b.pk], reason=RevokeReason.MOVED)
        # Park one row on a temporary slot so neither unique index sees two holders at any moment.
        a.slot = _SWAP_TEMP_SLOT
        a.save(update_fields=["slot", "updated_at"])
        for row, (place, table, role, slot), other in ((b, slot_a, a), (a, slot_b, b)):
            row.place, row.table, row.role, row.slot = place, table, role, slot
            row.cost, row.reason = pair_cost(volunteer=row.volunteer, place=place)
            row.reason = str(row.reason)[:255]
            row.save(update_fields=["place", "table", "role", "slot", "cost", "reason", "updated_at"])
            event_record(
                assignment=row,
                kind=AssignmentEvent.Kind.MOVED,
                actor=actor,
                source=source,
                from_status=row.status,
                to_status=row.status,
                reason=reason or _("intercambio con %(name)s") % {"name": other.volunteer.full_name},
            )
            if row.status in (AssignmentStatus.NOTIFIED, AssignmentStatus.CONFIRMED):
                notice_create(volunteer=row.volunteer, kind=NoticeKind.CHANGE, assignment=row)
        # Station threads: both volunteers changed place.
        assignments_membership_changed(volunteer_ids=[a.volunteer_id, b.volunteer_id])
    return a if a.pk == first.pk else b, b if b.pk == second.pk else a


def auto_assign(
    *,
    election,
    area=None,
    dry_run: bool,
    actor=None,
    notify: bool = False,
    k: int = 10,
    source: str = EventSource.ENGINE,
    method: str = "flow",
    on_progress=None,
):
    """Fill every free slot of the election (or of `area`'s subtree) with the best available volunteers.

    Called by `manage.py auto_assign`, the API and the console (through the Celery task of
    `tasks.auto_assign_start`). The whole election (no `area`) is a lead's decision: anyone else
    is refused with `whole_election_leads_only` (the command-line run has no actor). Coverage
    weighted by priority first, then least travel, solved exactly (min-cost flow); locked and
    confirmed assignments stay; current proposals stay unless moving them is worth more than a
    small bonus. A dry run writes nothing; otherwise `plan_write` writes the proposals (status
    `proposed`), moves, cancellations, their events and notices in one transaction. With `notify`,
    new proposals also get an assignment notice, relayed after commit. Returns an
    `AutoAssignResult` (coverage before/after, per area, changes with reasons, timings).
    """
    auto_assign_check_scope(actor=actor, area=area)
    plan = plan_build(election=election, area=area, k=k, method=method, on_progress=on_progress)
    if not dry_run:
        if on_progress:
            on_progress("write")
        plan_write(plan, actor=actor, source=source, notify=notify)
        assignment_changed_broadcast(election_id=election.pk, place_id=None)
    plan_describe(plan)
    return plan.result


def auto_assign_check_scope(*, actor, area) -> None:
    """Whole-election auto-assign is for leads; a coordinator runs it on an area of their scope."""
    if area is None and actor is not None and role_of(actor) != Role.LEAD:
        raise PermissionDenied(
            _("Solo un responsable asigna automáticamente toda la elección: elegí un área de tu alcance."),
            code=AssignmentErrorCode.WHOLE_ELECTION_LEADS_ONLY,
        )
