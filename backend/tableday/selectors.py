"""Reads of the table's timeline: the derived state and the reports in order."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentStatus, Shift
from backend.core.prepared import PreparedQuery
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.permissions import visible

from .models import PRESENCE, PROGRESS, RANK, SHIFT_ENTRIES, TableDay, TableReport, TableState


@dataclass(frozen=True)
class TableStatus:
    state: str  # one of PROGRESS
    watcher_absent: str  # "" or one of PRESENCE (the latest word about the watcher)


def table_status_from_reports(reports) -> TableStatus:
    """Fold reports (oldest first) into the current state: the furthest progress reached since the
    last correction; a correction sets the state outright."""
    status = TableStatus(state=TableState.WAITING.value, watcher_absent="")
    for report in reports:
        status = table_status_step(status, report.state, correction=report.correction)
    return status


def table_status_step(status: TableStatus, reported: str, *, correction: bool = False) -> TableStatus:
    """The state after one more report (the fold's step: the service applies it to the stored state)."""
    if reported in SHIFT_ENTRIES:
        return status  # a shift's arrival or handover: on the timeline, never a state
    if reported in PRESENCE:
        return TableStatus(state=status.state, watcher_absent=reported)
    state = status.state
    if correction or RANK[TableState(reported)] > RANK[TableState(state)]:
        state = reported
    # Someone reported progress from the table: it is watched again.
    absent = "" if reported != TableState.WAITING else status.watcher_absent
    return TableStatus(state=state, watcher_absent=absent)


def table_report_list(*, table: Table) -> QuerySet[TableReport]:
    return TableReport.objects.filter(table=table).select_related("actor").order_by("id")


# The API answers every report with the table's whole timeline: its SQL compiled once, not per request.
_TABLE_REPORTS = PreparedQuery(
    lambda table_id: TableReport.objects.filter(table_id=table_id).select_related("actor").order_by("id"), "table_id"
)


def table_report_list_loaded(*, table_id: int) -> list[TableReport]:
    """`table_report_list` read at once (the reports with their actors, oldest first)."""
    return _TABLE_REPORTS.objects(table_id=table_id)


def table_status_get(*, table: Table) -> TableStatus:
    return table_status_from_reports(table_report_list(table=table))


def table_next_state(state: str) -> str | None:
    """The state the watcher's one big button reports next (None once the sheet is sent)."""
    rank = RANK[TableState(state)]
    return PROGRESS[rank + 1].value if rank + 1 < len(PROGRESS) else None


# --- The day board: grouped counts (one query per page, whatever the size of the election) ------


@dataclass
class DayCounts:
    """Tables of one area or place by how far they got, as the day board adds them up."""

    tables: int = 0
    opened: int = 0  # open or further
    closed: int = 0  # closed or further
    counted: int = 0  # counted or further
    sheet_sent: int = 0
    unwatched: int = 0  # last word: no watcher, or the watcher left
    first_opened_at: datetime.datetime | None = None
    last_opened_at: datetime.datetime | None = None

    @property
    def waiting(self) -> int:
        return self.tables - self.opened

    def add(self, other: "DayCounts") -> None:
        self.tables += other.tables
        self.opened += other.opened
        self.closed += other.closed
        self.counted += other.counted
        self.sheet_sent += other.sheet_sent
        self.unwatched += other.unwatched
        self.first_opened_at = _earliest(self.first_opened_at, other.first_opened_at)
        self.last_opened_at = _latest(self.last_opened_at, other.last_opened_at)


def _earliest(a, b):
    return b if a is None else a if b is None else min(a, b)


def _latest(a, b):
    return b if a is None else a if b is None else max(a, b)


def _add_row(counts: DayCounts, state: str | None, absent: str | None, n: int, first, last) -> None:
    rank = RANK[TableState(state or TableState.WAITING)]
    counts.tables += n
    counts.opened += n if rank >= RANK[TableState.OPEN] else 0
    counts.closed += n if rank >= RANK[TableState.CLOSED] else 0
    counts.counted += n if rank >= RANK[TableState.COUNTED] else 0
    counts.sheet_sent += n if rank >= RANK[TableState.SHEET_SENT] else 0
    counts.unwatched += n if absent else 0
    counts.first_opened_at = _earliest(counts.first_opened_at, first)
    counts.last_opened_at = _latest(counts.last_opened_at, last)


def _grouped(tables: QuerySet[Table], key: str):
    return (
        tables.values(key, "day__state", "day__watcher_absent")
        .annotate(n=Count("id"), first=Min("day__opened_at"), last=Max("day__opened_at"))
        .order_by()
        .values_list(key, "day__state", "day__watcher_absent", "n", "first", "last")
    )


def _tables_under(user, election: Election, area: Area | None) -> QuerySet[Table]:
    tables = Table.objects.filter(election=election)
    if area is not None:
        tables = tables.filter(place__area__path__startswith=area.path)
    return visible(user, tables)


def day_counts_by_area(
    *, user, election: Election, areas: list[Area], under: Area | None = None
) -> dict[int, DayCounts]:
    """Rolled-up counts of each of `areas` (all inside `under`, or the whole election), by area id.

    One grouped query by (place's area, state); each area row is added to every listed ancestor.
    """
    result = {a.pk: DayCounts() for a in areas}
    by_path = {a.path: result[a.pk] for a in areas}
    rows = list(_grouped(_tables_under(user, election, under), "place__area_id"))
    paths = dict(Area.objects.filter(pk__in={r[0] for r in rows}).values_list("pk", "path"))
    for area_id, state, absent, n, first, last in rows:
        parts = paths[area_id].strip("/").split("/")
        for i in range(1, len(parts) + 1):
            counts = by_path.get("/" + "/".join(parts[:i]) + "/")
            if counts is not None:
                _add_row(counts, state, absent, n, first, last)
    return result


def watchers_present_by_area(
    *, user, election: Election, areas: list[Area], under: Area | None = None
) -> dict[int, int]:
    """Watchers checked in (at their table or school now) under each of `areas`, by area id.

    One grouped query over the checked-in assignments only (the coverage index: election, status,
    place), rolled up by path as `day_counts_by_area` does: the day board's "fiscales presentes".
    """
    result = {a.pk: 0 for a in areas}
    by_path = {a.path: a.pk for a in areas}
    rows = Assignment.objects.filter(election=election, status=AssignmentStatus.CHECKED_IN)
    if under is not None:
        rows = rows.filter(place__area__path__startswith=under.path)
    counted = list(
        visible(user, rows).values("place__area_id").annotate(n=Count("id")).values_list("place__area_id", "n")
    )
    paths = dict(Area.objects.filter(pk__in={r[0] for r in counted}).values_list("pk", "path"))
    for area_id, n in counted:
        parts = paths[area_id].strip("/").split("/")
        for i in range(1, len(parts) + 1):
            pk = by_path.get("/" + "/".join(parts[:i]) + "/")
            if pk is not None:
                result[pk] += n
    return result


def day_counts_by_place(*, user, election: Election, area: Area, direct_only: bool = False) -> dict[int, DayCounts]:
    """Counts of each visible place under `area` (or directly in it), keyed by place id."""
    tables = _tables_under(user, election, area)
    if direct_only:
        tables = tables.filter(place__area=area)
    result: dict[int, DayCounts] = {}
    for place_id, state, absent, n, first, last in _grouped(tables, "place_id"):
        _add_row(result.setdefault(place_id, DayCounts()), state, absent, n, first, last)
    return result


def open_deadline(*, election: Election) -> datetime.datetime:
    """When a table that has not reported opening counts as late: the election's date at TABLEDAY_OPEN_DEADLINE."""
    hour, minute = (int(x) for x in settings.TABLEDAY_OPEN_DEADLINE.split(":"))
    naive = datetime.datetime.combine(election.date, datetime.time(hour, minute))
    return timezone.make_aware(naive, timezone.get_default_timezone())


def places_not_opened(*, user, election: Election, area: Area | None = None) -> QuerySet:
    """(place id, place code, place name, tables still waiting), places with any unopened table, by code.

    A grouped query: the flag list of the board after the opening deadline.
    """
    waiting = Q(day__isnull=True) | Q(day__state=TableState.WAITING)
    return (
        _tables_under(user, election, area)
        .filter(waiting)
        .values("place_id", "place__code", "place__name")
        .annotate(waiting=Count("id"))
        .order_by("place__code", "place_id")
    )


def table_days_of_place(*, place: PollingPlace) -> dict[int, TableDay]:
    return {d.table_id: d for d in TableDay.objects.filter(table__place=place)}


# --- Shifts ---------------------------------------------------------------------------------------


def shift_partner(*, assignment: Assignment) -> Assignment | None:
    """The other half of a split slot: the afternoon watcher of a morning one and the other way round."""
    if assignment.shift == Shift.DAY or assignment.table_id is None:
        return None
    other = Shift.AFTERNOON if assignment.shift == Shift.MORNING else Shift.MORNING
    statuses = [*ACTIVE_STATUSES, AssignmentStatus.DONE] if other == Shift.MORNING else list(ACTIVE_STATUSES)
    return (
        Assignment.objects.filter(table_id=assignment.table_id, slot=assignment.slot, shift=other, status__in=statuses)
        .select_related("volunteer", "table")
        .order_by("-id")
        .first()
    )


def shift_entries_of_place(*, place: PollingPlace) -> dict[int, list[TableReport]]:
    """The shift arrivals and handovers on the timelines of a school's tables, oldest first, by table id."""
    out: dict[int, list[TableReport]] = {}
    for report in TableReport.objects.filter(table__place=place, state__in=SHIFT_ENTRIES).order_by("id"):
        out.setdefault(report.table_id, []).append(report)
    return out


def handover_at(*, election: Election) -> datetime.datetime:
    """The moment of the election's shift handover (its date at `shift_handover_time`, local time)."""
    naive = datetime.datetime.combine(election.date, election.shift_handover_time)
    return timezone.make_aware(naive, timezone.get_default_timezone())


def shift_reminders_due(*, now: datetime.datetime) -> list[tuple[Assignment, str, Assignment | None]]:
    """(assignment, "shift_in" | "shift_out", the other half) for the shift watchers to remind now.

    Within SHIFT_REMINDER_MINUTES_BEFORE before an election's handover (elections of today, local
    date): the afternoon watchers who were told and have not arrived, and the morning watchers whose
    afternoon partner is assigned (without one there is nobody to hand over to: the console shows
    the half-covered table). Whether a reminder was already written is the caller's check.
    """
    today = timezone.localdate(now)
    ahead = datetime.timedelta(minutes=settings.SHIFT_REMINDER_MINUTES_BEFORE)
    due = []
    rows = (
        Assignment.objects.filter(
            election__date=today,
            shift__in=[Shift.MORNING, Shift.AFTERNOON],
            status__in=[AssignmentStatus.NOTIFIED, AssignmentStatus.CONFIRMED, AssignmentStatus.CHECKED_IN],
        )
        .select_related("election", "volunteer", "table")
        .order_by("id")
    )
    for assignment in rows:
        at = handover_at(election=assignment.election)
        if not at - ahead <= now < at:
            continue
        partner = shift_partner(assignment=assignment)
        if assignment.shift == Shift.AFTERNOON and assignment.status != AssignmentStatus.CHECKED_IN:
            due.append((assignment, "shift_in", partner))
        elif assignment.shift == Shift.MORNING and partner is not None:
            due.append((assignment, "shift_out", partner))
    return due
