"""Small constructors for AssignmentEvent audit rows (one place builds them)."""

from .models import Assignment, AssignmentEvent


def event_row(
    *,
    assignment_id: int,
    kind: str,
    actor=None,
    source: str,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
) -> dict:
    """The audit row `event_build` makes, as field values for the bulk writer (`backend.core.bulk`):
    a plan writes a hundred thousand of them, and a model instance per row would cost more than the
    write itself."""
    return {
        "assignment_id": assignment_id,
        "kind": str(kind),
        "actor_id": actor.pk if getattr(actor, "is_authenticated", False) else None,
        "source": str(source),
        "from_status": str(from_status),
        "to_status": str(to_status),
        "reason": str(reason)[:255],
    }


def event_build(
    *,
    assignment: Assignment,
    kind: str,
    actor=None,
    source: str,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
) -> AssignmentEvent:
    row = event_row(
        assignment_id=assignment.pk,
        kind=kind,
        actor=actor,
        source=source,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
    )
    del row["assignment_id"], row["actor_id"]
    return AssignmentEvent(
        assignment=assignment, actor=actor if getattr(actor, "is_authenticated", False) else None, **row
    )


def event_record(**kwargs) -> AssignmentEvent:
    event = event_build(**kwargs)
    event.save()
    return event
