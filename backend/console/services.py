"""The console's one composite write: replacing a watcher who did not arrive.

Composed of the assignment services in one transaction, so the late watcher leaves the slot and
the chosen volunteer takes it, or neither happens.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from backend.assignments.models import AssignmentStatus
from backend.assignments.services import assignment_create, assignment_transition


def late_watcher_replace(*, assignment, volunteer, actor, source: str):
    """Election day: mark `assignment` absent (or cancel a never-answered proposal) and give its slot to `volunteer`.

    Called by the election-day board's one-click replacement. The new volunteer gets an
    assignment notice after commit, like any proposal; the late one a cancellation if they had
    been told.
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
            actor=actor,
            source=source,
            reason=_("reemplazo de %(name)s, que no se presentó") % {"name": late.volunteer.full_name},
            replaces=late,
        )
