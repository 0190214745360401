"""Writes on assignments. Every change goes through one of these and leaves an AssignmentEvent.

Called by the API, the console pages, the admin, SMS keyword commands and the auto-assigner.
Each function owns its transaction; notices for the volunteer are written inside it (outbox).
"""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.notices.models import NoticeKind
from backend.notices.services import notice_create
from backend.threads.services import thread_membership_changed

from .errors import AssignmentErrorCode
from .events import event_record
from .models import ACTIVE_STATUSES, ALLOWED_TRANSITIONS, Assignment, AssignmentEvent, AssignmentRole, AssignmentStatus


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
) -> Assignment:
    """Assign `volunteer` to `place` (and `table` for a table watcher) as a proposal.

    With `notify`, a Notice of kind `assignment` is written in the same transaction, so `sms/`
    tells the volunteer after commit.
    """
    if (role == AssignmentRole.TABLE) != (table is not None):
        raise ApplicationError(
            _("Un fiscal de mesa necesita una mesa; un fiscal general no."), code=AssignmentErrorCode.ROLE_MISMATCH
        )
    if table is not None and table.place_id != place.pk:
        raise ApplicationError(
            _("La mesa no pertenece a ese establecimiento."), code=AssignmentErrorCode.TABLE_NOT_IN_PLACE
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
            # Station threads: the volunteer's open sockets re-check membership (helper `threads`).
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
        # Station threads: a volunteer who left the place loses its thread's open sockets (helper `threads`).
        transaction.on_commit(lambda: thread_membership_changed(volunteer_id=locked_row.volunteer_id))
    return locked_row


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
    """The volunteer cannot go: the slot is freed. Called by SMS `NO`, the web page, coordinators."""
    return assignment_transition(
        assignment=assignment, to_status=AssignmentStatus.DECLINED, actor=actor, source=source, reason=reason
    )


def assignment_check_in(*, assignment: Assignment, actor=None, source: str) -> Assignment:
    """Election day: the watcher is at their place. Called by SMS `LLEGUE`, the web page, coordinators."""
    return assignment_transition(
        assignment=assignment, to_status=AssignmentStatus.CHECKED_IN, actor=actor, source=source
    )
