"""The live feed of coverage pages and the election-day board: a group send per change, after commit.

`backend.assignments.services` calls `board_check_in_broadcast` through `transaction.on_commit`
when an assignment reaches `checked_in`, whatever the channel (SMS, web, API), and
`board_changed_broadcast` after any other change of a slot (assigned, notified, confirmed,
declined, replaced...). The consumer in `consumers.py` forwards each event to the coordinators
whose scope covers the place; pages bump their counters on a check-in and re-read themselves on a
change.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from backend.assignments.models import Assignment
from backend.elections.models import Area, PollingPlace

logger = logging.getLogger(__name__)


def board_group(election_id: int) -> str:
    return f"board.{election_id}"


def check_in_event(assignment: Assignment) -> dict:
    place = assignment.place
    area_path = place.area.path
    area_ids = list(
        Area.objects.filter(election_id=place.election_id, path__in=_prefixes(area_path)).values_list("id", flat=True)
    )
    return {
        "type": "check_in.created",
        "assignment_id": assignment.pk,
        "election_id": assignment.election_id,
        "place_id": place.pk,
        "place_name": place.name,
        "place_code": place.code,
        "table": assignment.table.number if assignment.table is not None else None,
        "volunteer": assignment.volunteer.full_name,
        "path": area_path,
        "area_ids": area_ids,
        "at": timezone.localtime(assignment.status_changed_at).strftime("%H:%M"),
    }


def _prefixes(path: str) -> list[str]:
    codes = [c for c in path.split("/") if c]
    return ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]


def board_check_in_broadcast(*, assignment_id: int) -> None:
    """Tell every open election-day board about one check-in. Runs after commit; never raises."""
    try:
        assignment = Assignment.objects.select_related("place__area", "table", "volunteer").get(pk=assignment_id)
        layer = get_channel_layer()
        if layer is None:
            return
        async_to_sync(layer.group_send)(board_group(assignment.election_id), check_in_event(assignment))
    except Exception:  # a dropped live update must never undo or fail a check-in
        logger.exception("board broadcast failed for assignment %s", assignment_id)


def board_changed_broadcast(*, election_id: int, place_id: int | None) -> None:
    """Tell open pages that the numbers of one place (None: anywhere) changed. After commit; never raises."""
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        path = ""
        if place_id is not None:
            path = PollingPlace.objects.filter(pk=place_id).values_list("area__path", flat=True).first() or ""
        async_to_sync(layer.group_send)(board_group(election_id), {"type": "board.changed", "path": path})
    except Exception:  # a dropped live update must never undo or fail the change itself
        logger.exception("board change broadcast failed for election %s", election_id)
