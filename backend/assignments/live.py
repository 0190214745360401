"""Live events caused by assignment changes, sent through the one real-time door (`backend.core.live`).

Called inside the services' transactions; the door sends after commit.
"""

from functools import partial

from django.utils import timezone

from backend.core.live import board_group, live_send
from backend.elections.models import Area, PollingPlace
from backend.threads.services import thread_membership_changed

from .models import Assignment


def board_check_in_event(assignment_id: int) -> dict:
    """The board's `check_in.created` event, built after commit from the committed row."""
    assignment = Assignment.objects.select_related("place__area", "table", "volunteer").get(pk=assignment_id)
    place = assignment.place
    area_path = place.area.path
    codes = [c for c in area_path.split("/") if c]
    prefixes = ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]
    area_ids = list(Area.objects.filter(election_id=place.election_id, path__in=prefixes).values_list("id", flat=True))
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


def assignment_checked_in_broadcast(*, assignment: Assignment) -> None:
    """Every open election-day board hears of a check-in, whatever door it came by, once committed."""
    live_send(board_group(assignment.election_id), partial(board_check_in_event, assignment.pk))


def board_changed_event(place_id: int | None) -> dict:
    """The board's `board.changed` event: the area path of the place whose slots changed ("" for many)."""
    path = ""
    if place_id is not None:
        path = PollingPlace.objects.filter(pk=place_id).values_list("area__path", flat=True).first() or ""
    return {"type": "board.changed", "path": path}


def assignment_changed_broadcast(*, election_id: int, place_id: int | None) -> None:
    """Open coverage pages and boards re-read their numbers after any change of a slot but a check-in."""
    live_send(board_group(election_id), partial(board_changed_event, place_id))


def assignments_membership_changed(*, volunteer_ids) -> None:
    """These volunteers' assignments changed place (or ended): their open thread sockets re-check."""
    for volunteer_id in dict.fromkeys(volunteer_ids):
        thread_membership_changed(volunteer_id=volunteer_id)
