"""The one place the console reaches into the other teams' services and selectors.

Views call these functions; each one delegates to the domain (assignment engine, imports, sms,
threads) and only reshapes answers for templates. A page never re-implements a rule the domain
already owns.
"""

from dataclasses import dataclass
from datetime import datetime

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from backend.assignments import selectors as assignment_selectors
from backend.assignments import services as assignment_services
from backend.assignments.models import Assignment
from backend.elections.models import Area, Election
from sms.commands import keyword_label
from sms.models import InboundMessage, OutboundMessage

SOURCE = "web"


@dataclass
class Coverage:
    slots: int = 0
    assigned: int = 0
    confirmed: int = 0
    checked_in: int = 0

    @property
    def uncovered(self) -> int:
        return max(self.slots - self.assigned, 0)

    @property
    def unconfirmed(self) -> int:
        return max(self.assigned - self.confirmed, 0)

    def add(self, other: "Coverage") -> None:
        self.slots += other.slots
        self.assigned += other.assigned
        self.confirmed += other.confirmed
        self.checked_in += other.checked_in

    @classmethod
    def of(cls, row: dict) -> "Coverage":
        return cls(row["slots"], row["assigned"], row["confirmed"], row["checked_in"])


# --- Coverage (the engine's selectors) -----------------------------------------------------------


def coverage_by_area(*, user, election: Election, areas: list[Area]) -> dict[int, Coverage]:
    """Rolled-up coverage of each of `areas` (already checked visible), keyed by area id."""
    result: dict[int, Coverage] = {}
    for area in {a.pk: a for a in areas}.values():
        if area.pk in result:
            continue
        # One call per subtree also answers for the children listed below it.
        for row in assignment_selectors.coverage_by_area(
            user=user, election=election, area=area, max_depth=area.depth + 1
        ):
            result.setdefault(row["id"], Coverage.of(row))
    return result


def coverage_by_place(*, user, election: Election, area: Area) -> dict[int, Coverage]:
    """Coverage of each visible place under `area`, keyed by place id."""
    return {
        row["id"]: Coverage.of(row)
        for row in assignment_selectors.coverage_by_place(user=user, election=election, area=area)
    }


def place_slots(*, user, place) -> dict:
    """The place's general and table slots with who holds each (the engine's per-table selector)."""
    return assignment_selectors.coverage_by_table(user=user, place=place)


def candidates_for_slot(*, user, place, role: str, table=None, slot: int = 0, limit: int = 8) -> list[dict]:
    """The engine's best available volunteers for one slot, narrowed to those the user may see."""
    return [
        {"volunteer_id": c.volunteer_id, "name": c.name, "reason": c.reason, "cost_km": c.cost_m / 1000}
        for c in assignment_selectors.candidates_for_slot(
            place=place, role=role, table=table, slot=slot, limit=limit, user=user
        )
    ]


# --- Writes: every one goes through a domain service ---------------------------------------------


def assign(*, volunteer, place, table, role: str, actor) -> Assignment:
    return assignment_services.assignment_create(
        volunteer=volunteer,
        place=place,
        table=table,
        role=role,
        actor=actor,
        source=SOURCE,
    )


def unassign(*, assignment: Assignment, actor, reason: str = "") -> Assignment:
    return assignment_services.assignment_unassign(
        assignment=assignment, actor=actor, source=SOURCE, reason=reason or _("quitada desde la consola")
    )


def set_locked(*, assignment: Assignment, locked: bool, actor) -> Assignment:
    return assignment_services.assignment_set_locked(assignment=assignment, locked=locked, actor=actor, source=SOURCE)


def check_in(*, assignment: Assignment, actor) -> Assignment:
    return assignment_services.assignment_check_in(assignment=assignment, actor=actor, source=SOURCE)


def swap(*, first: Assignment, second: Assignment, actor):
    return assignment_services.assignment_swap(first=first, second=second, actor=actor, source=SOURCE)


def auto_assign(*, election: Election, area: Area | None, dry_run: bool, actor, notify: bool = False):
    return assignment_services.auto_assign(election=election, area=area, dry_run=dry_run, actor=actor, notify=notify)


def replace_absent(*, assignment: Assignment, volunteer, actor) -> Assignment:
    from .services import late_watcher_replace

    return late_watcher_replace(assignment=assignment, volunteer=volunteer, actor=actor, source=SOURCE)


# --- Other teams' pages --------------------------------------------------------------------------


def _first_url(*names: str, args=None) -> str | None:
    for name in names:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return None


def thread_url(*, place) -> str | None:
    """The station thread page, one click from the board (None until the threads app has it)."""
    return _first_url("threads:thread", "threads:page", "thread-page", args=[place.pk])


def imports_url() -> str | None:
    return _first_url("imports:upload", "imports:index", "imports:home", "imports")


@dataclass
class MessageLine:
    direction: str  # "out" or "in"
    body: str
    status: str
    created_at: datetime


def volunteer_messages(*, volunteer, limit: int = 50) -> list[MessageLine]:
    """SMS sent to and received from a volunteer, newest first (the sms app's rows)."""
    sent = [
        MessageLine("out", m.body, m.get_status_display(), m.created_at)
        for m in OutboundMessage.objects.filter(volunteer=volunteer).order_by("-created_at", "-id")[:limit]
    ]
    received = [
        MessageLine("in", m.body, keyword_label(m.keyword), m.received_at)
        for m in InboundMessage.objects.filter(volunteer=volunteer).order_by("-received_at", "-id")[:limit]
    ]
    return sorted(sent + received, key=lambda line: line.created_at, reverse=True)[:limit]
