"""Reads on assignments."""

from .models import ACTIVE_STATUSES, Assignment


def assignment_get_active_for_volunteer(*, volunteer, election=None) -> Assignment | None:
    qs = Assignment.objects.filter(volunteer=volunteer, status__in=ACTIVE_STATUSES).select_related(
        "place", "table", "election"
    )
    if election is not None:
        qs = qs.filter(election=election)
    return qs.order_by("-election__date").first()
