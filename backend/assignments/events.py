"""Small constructors for AssignmentEvent audit rows (one place builds them)."""

from .models import Assignment, AssignmentEvent


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
    return AssignmentEvent(
        assignment=assignment,
        kind=kind,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        source=source,
        from_status=from_status,
        to_status=to_status,
        reason=str(reason)[:255],
    )


def event_record(**kwargs) -> AssignmentEvent:
    event = event_build(**kwargs)
    event.save()
    return event
