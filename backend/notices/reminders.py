"""Scheduled reminders (called by the beat tasks in sms/tasks.py): written as notices, so they use the outbox."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend.assignments.models import Assignment, AssignmentStatus
from backend.notices.models import Notice, NoticeKind
from backend.notices.services import notice_create
from backend.tableday.selectors import shift_reminders_due


def _remind(*, assignments, which: str) -> int:
    already = set(
        Notice.objects.filter(kind=NoticeKind.REMINDER, payload__which=which, assignment__in=assignments).values_list(
            "assignment_id", flat=True
        )
    )
    created = 0
    with transaction.atomic():
        for assignment in assignments.select_related("volunteer"):
            if assignment.pk in already or assignment.volunteer.opted_out:
                continue
            notice_create(
                volunteer=assignment.volunteer,
                kind=NoticeKind.REMINDER,
                assignment=assignment,
                payload={"which": which},
            )
            created += 1
    return created


def reminders_unconfirmed(*, today=None) -> int:
    """Volunteers who were told and have not confirmed, SMS_REMINDER_DAYS_BEFORE days before the
    election. Once each. A proposal nobody was told of gets no reminder of something never said."""
    today = today or timezone.localdate()
    target = today + timedelta(days=settings.SMS_REMINDER_DAYS_BEFORE)
    assignments = Assignment.objects.filter(election__date=target, status=AssignmentStatus.NOTIFIED)
    return _remind(assignments=assignments, which="days_before")


def reminders_eve(*, today=None) -> int:
    """Confirmed volunteers, the evening before the election. Once each."""
    today = today or timezone.localdate()
    assignments = Assignment.objects.filter(election__date=today + timedelta(days=1), status=AssignmentStatus.CONFIRMED)
    return _remind(assignments=assignments, which="eve")


def reminders_shift(*, now=None) -> int:
    """Before a shift handover: the afternoon watcher ("te esperan a las 13:00 en la mesa X de <escuela>")
    and the morning one ("a las 13:00 te reemplaza <nombre>... responde ENTREGO"). Beat runs it every
    few minutes; each watcher is reminded once (a notice per assignment and kind, sent after commit)."""
    now = now or timezone.now()
    due = shift_reminders_due(now=now)
    if not due:
        return 0
    already = set(
        Notice.objects.filter(
            kind=NoticeKind.REMINDER,
            payload__which__in=["shift_in", "shift_out"],
            assignment_id__in=[a.pk for a, _which, _other in due],
        ).values_list("assignment_id", flat=True)
    )
    created = 0
    with transaction.atomic():
        for assignment, which, other in due:
            if assignment.pk in already or assignment.volunteer.opted_out:
                continue
            handover = assignment.election.shift_handover_time
            notice_create(
                volunteer=assignment.volunteer,
                kind=NoticeKind.REMINDER,
                assignment=assignment,
                payload={
                    "which": which,
                    "time": f"{handover.hour}:{handover.minute:02d}",
                    "other": other.volunteer.full_name if other is not None else "",
                },
            )
            created += 1
    return created
