"""Writes on assignments. Every change goes through one of these and leaves an AssignmentEvent.

Called by the API, the console pages, the admin, SMS keyword commands and the auto-assigner.
Each function owns its transaction; notices for the volunteer are written inside it (outbox).
"""

from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.notices.models import NoticeKind
from backend.notices.services import notice_create
from backend.threads.services import thread_membership_changed
from backend.volunteers.models import Volunteer

from .engine.rules import eligibility_problems, pair_cost
from .errors import AssignmentErrorCode
from .events import event_record
from .models import (
    ACTIVE_STATUSES,
    ALLOWED_TRANSITIONS,
    Assignment,
    AssignmentEvent,
    AssignmentRole,
    AssignmentStatus,
    EventSource,
)


def _free_slot(*, place, table, role: str) -> int:
    election = place.election
    if role == AssignmentRole.TABLE:
        capacity = election.table_watchers_per_table
        taken = set(
            Assignment.objects.filter(table=table, role=role, status__in=ACTIVE_STATUSES).values_list("slot", flat=True)
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


def assignment_create(
    *,
    volunteer,
    place,
    table=None,
    role: str,
    actor=None,
    source: str,
    reason: str = "",
    cost: float | None = None,
    locked: bool = False,
    slot: int | None = None,
    notify: bool = True,
    replaces: Assignment | None = None,
) -> Assignment:
    """Assign `volunteer` to `place` (and `table` for a table watcher) as a proposal: the manual "assign".

    Validates the engine's eligibility rules (role accepted, availability, training, not opted
    out or excluded, same district). With `notify`, a Notice of kind `assignment` is written in
    the same transaction, so `sms/` tells the volunteer after commit.
    """
    if (role == AssignmentRole.TABLE) != (table is not None):
        raise ApplicationError(
            _("Un fiscal de mesa necesita una mesa; un fiscal general no."), code=AssignmentErrorCode.ROLE_MISMATCH
        )
    if table is not None and table.place_id != place.pk:
        raise ApplicationError(
            _("La mesa no pertenece a ese establecimiento."), code=AssignmentErrorCode.TABLE_NOT_IN_PLACE
        )
    problems = eligibility_problems(
        volunteer=volunteer, election=place.election, role=role, slot=slot or 0, place=place
    )
    if problems:
        raise ApplicationError(
            _("%(name)s no puede tomar este puesto: %(problems)s.")
            % {"name": volunteer.full_name, "problems": ", ".join(problems)},
            code=AssignmentErrorCode.NOT_ELIGIBLE,
            extra={"problems": problems},
        )
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
                slot = _free_slot(place=place, table=table, role=role)
            assignment = Assignment.objects.create(
                election_id=place.election_id,
                volunteer=volunteer,
                place=place,
                table=table,
                role=role,
                slot=slot,
                locked=locked,
                reason=str(reason)[:255],
                cost=cost,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
                replaces=replaces,
            )
            event_record(
                assignment=assignment,
                kind=AssignmentEvent.Kind.CREATED,
                actor=actor,
                source=source,
                to_status=assignment.status,
                reason=reason,
            )
            if notify:
                notice_create(volunteer=volunteer, kind=NoticeKind.ASSIGNMENT, assignment=assignment)
            _after_commit_board_changed(election_id=place.election_id, place_id=place.pk)
            # Station threads: the volunteer's open sockets re-check membership.
            transaction.on_commit(lambda: thread_membership_changed(volunteer_id=volunteer.pk))
    except IntegrityError as exc:
        # Two coordinators raced for the same slot or person: the database constraint decided.
        raise ApplicationError(
            _("Ese lugar o esa persona acaban de ser asignados por otra persona."), code=AssignmentErrorCode.SLOT_TAKEN
        ) from exc
    return assignment


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
        if to_status == AssignmentStatus.CANCELLED and from_status in {
            AssignmentStatus.NOTIFIED,
            AssignmentStatus.CONFIRMED,
        }:
            notice_create(volunteer=locked_row.volunteer, kind=NoticeKind.CANCELLATION, assignment=locked_row)
        if to_status == AssignmentStatus.CHECKED_IN:
            _after_commit_board_check_in(locked_row.pk)
        else:
            _after_commit_board_changed(election_id=locked_row.election_id, place_id=locked_row.place_id)
        # Station threads: a volunteer who left the place loses its thread's open sockets.
        transaction.on_commit(lambda: thread_membership_changed(volunteer_id=locked_row.volunteer_id))
    return locked_row


def _after_commit_board_check_in(assignment_id: int) -> None:
    """The election-day board hears of every check-in, whatever channel it came by, once committed."""
    from backend.console.live import board_check_in_broadcast

    transaction.on_commit(lambda: board_check_in_broadcast(assignment_id=assignment_id))


def _after_commit_board_changed(*, election_id: int, place_id: int | None) -> None:
    """Open coverage pages and boards re-read their numbers after any other change of a slot."""
    from backend.console.live import board_changed_broadcast

    transaction.on_commit(lambda: board_changed_broadcast(election_id=election_id, place_id=place_id))


def assignment_set_locked(
    *, assignment: Assignment, locked: bool, actor=None, source: str, reason: str = ""
) -> Assignment:
    """Pin an assignment so the auto-assigner never moves it (or release it)."""
    with transaction.atomic():
        row = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if row.locked == locked:
            return row
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
    from backend.threads.services import thread_post_system_notice

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
    from .selectors import candidates_for_slot

    place, table = declined.place, declined.table
    with transaction.atomic():
        taken = Assignment.objects.filter(place=place, role=declined.role, table=table, slot=declined.slot).filter(
            status__in=ACTIVE_STATUSES
        )
        if taken.exists():
            return None
        best = candidates_for_slot(place=place, role=declined.role, table=table, slot=declined.slot, limit=1)
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
            actor=actor,
            source=source,
            reason=_("reemplazo de %(name)s: %(reason)s")
            % {"name": declined.volunteer.full_name, "reason": candidate.reason},
            cost=candidate.cost_m,
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
    """Election day: the watcher is at their place. Called by SMS `LLEGUE`, the web page, coordinators."""
    return assignment_transition(
        assignment=assignment, to_status=AssignmentStatus.CHECKED_IN, actor=actor, source=source
    )


def assignment_unassign(*, assignment: Assignment, actor=None, source: str, reason: str = "") -> Assignment:
    """A coordinator takes a volunteer off their slot (the assignment is cancelled; the slot is free).

    Refused for a locked assignment (unlock it first). A volunteer who had been told gets a
    cancellation notice after commit.
    """
    if assignment.locked:
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
            problems = eligibility_problems(
                volunteer=row.volunteer, election=row.election, role=other.role, slot=other.slot, place=other.place
            )
            if problems:
                raise ApplicationError(
                    _("%(name)s no puede tomar ese puesto: %(problems)s.")
                    % {"name": row.volunteer.full_name, "problems": ", ".join(problems)},
                    code=AssignmentErrorCode.NOT_ELIGIBLE,
                    extra={"problems": problems},
                )
        slot_a = (a.place, a.table, a.role, a.slot)
        slot_b = (b.place, b.table, b.role, b.slot)
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
        for vid in (a.volunteer_id, b.volunteer_id):
            transaction.on_commit(partial(thread_membership_changed, volunteer_id=vid))
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

    Called by `manage.py auto_assign`, the API (a Celery task for large scopes) and the console.
    Coverage weighted by priority first, then least travel, solved exactly (min-cost flow);
    locked and confirmed assignments stay; current proposals stay unless moving them is worth
    more than a small bonus. A dry run writes nothing; otherwise the proposals (status
    `proposed`), moves, cancellations and their events are written in one transaction. With
    `notify`, new proposals also get an assignment notice (by default the coordinator reviews
    first and notifies later). Returns an `AutoAssignResult` (coverage before/after, per area,
    changes with reasons, timings).
    """
    from .engine import plan_apply, plan_build, plan_describe

    plan = plan_build(election=election, area=area, k=k, method=method, on_progress=on_progress)
    if not dry_run:
        if on_progress:
            on_progress("write")
        plan_apply(plan, actor=actor, source=source, notify=notify)
        _after_commit_board_changed(election_id=election.pk, place_id=None)
    plan_describe(plan)
    return plan.result
