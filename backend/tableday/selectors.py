"""Reads of the table's timeline: the derived state and the reports in order."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentRole, AssignmentStatus, Shift
from backend.core.prepared import PreparedQuery
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.permissions import visible

from .live import TableSite, area_ids_of_path
from .models import PRESENCE, PROGRESS, RANK, SHIFT_ENTRIES, STEP_TIME_FIELD, TableDay, TableReport, TableState


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


# --- What a report needs of its table (`services.table_report`), read with the table -----------------


@dataclass(frozen=True)
class TableFacts:
    """What `table_report` decides on besides the table: where it is (the board event), its
    current-state row (None: none yet) and whether it has any report (with neither it is waiting)."""

    site: TableSite
    day: TableDay | None
    has_reports: bool


# The area's ancestors by joins, as deep as most trees go (deeper ones by the path's prefixes).
_AREA_CHAIN = ("area_id", "area__parent_id", "area__parent__parent_id", "area__parent__parent__parent_id")
TABLE_DAY_FIELDS = ("state", "watcher_absent", *STEP_TIME_FIELD.values())


def table_fact_columns(table: str = "") -> list[str]:
    """The lookups of `TableFacts` from a queryset of tables (`table=""`) or of rows pointing to one
    (`table="table__"`), to end a `values_list` followed by an annotation `has_reports`."""
    place = f"{table}place__"
    return [
        f"{table}number",
        f"{table}election_id",
        f"{table}place_id",
        f"{place}name",
        f"{place}area__path",
        f"{place}area__depth",
        *(place + link for link in _AREA_CHAIN),
        f"{table}day__table_id",
        *(f"{table}day__{field}" for field in TABLE_DAY_FIELDS),
    ]


def table_has_reports(table_id: str = "pk") -> Exists:
    """The `has_reports` annotation of `table_fact_columns` (`table_id`: the outer row's table id)."""
    return Exists(TableReport.objects.filter(table=OuterRef(table_id)))


def table_facts_from_row(table_id: int, row) -> TableFacts:
    """`TableFacts` from the values of `table_fact_columns` and `has_reports`, in that order."""
    number, election_id, place_id, place_name, path, depth = row[:6]
    chain = row[6 : 6 + len(_AREA_CHAIN)]  # the place's area, its parent, ...
    day_id, *day_values = row[6 + len(_AREA_CHAIN) : -1]
    if depth < len(_AREA_CHAIN):
        area_ids = tuple(reversed(chain[: depth + 1]))
    else:
        area_ids = area_ids_of_path(election_id=election_id, path=path)
    site = TableSite(table_id, number, election_id, place_id, place_name, path, area_ids)
    day = (
        None if day_id is None else TableDay(table_id=table_id, **dict(zip(TABLE_DAY_FIELDS, day_values, strict=True)))
    )
    return TableFacts(site=site, day=day, has_reports=row[-1])


_TABLE_FACTS = PreparedQuery(
    lambda table_id: (
        Table.objects.filter(pk=table_id)
        .annotate(has_reports=table_has_reports())
        .values_list(*table_fact_columns(), "has_reports")
    ),
    "table_id",
)


def table_facts_get(*, table_id: int) -> TableFacts:
    """The table's `TableFacts`, read without a lock (the report's write re-checks them)."""
    return table_facts_from_row(table_id, _TABLE_FACTS.rows(table_id=table_id)[0])


@dataclass(frozen=True)
class TableForReport:
    table: Table  # with its place and the place's area loaded (as `table_get_with_area`)
    on_duty: bool  # the user's active assignment: this table's watcher or its place's fiscal general
    facts: TableFacts


# The API's report: the table, whether the user is on duty there (`can_report_table`) and its facts.
_TABLE_FOR_REPORT = PreparedQuery(
    lambda pk, user_id: (
        Table.objects.filter(pk=pk)
        .annotate(
            on_duty=Exists(
                Assignment.objects.filter(
                    volunteer__user_id=user_id, status__in=ACTIVE_STATUSES, place_id=OuterRef("place_id")
                ).filter(Q(role=AssignmentRole.PLACE) | Q(role=AssignmentRole.TABLE, table_id=OuterRef("pk")))
            ),
            has_reports=table_has_reports(),
        )
        .values_list("on_duty", *table_fact_columns(), "has_reports")
    ),
    "pk",
    "user_id",
)


def table_for_report(*, pk: int, user) -> TableForReport | None:
    """Everything a report through the API reads before the write, in one statement; None: no such table."""
    rows = _TABLE_FOR_REPORT.rows(pk=pk, user_id=user.pk or 0)
    if not rows:
        return None
    on_duty, *row = rows[0]
    facts = table_facts_from_row(pk, row)
    site = facts.site
    area = Area(pk=site.area_ids[-1], election_id=site.election_id, path=site.path, depth=len(site.area_ids) - 1)
    place = PollingPlace(pk=site.place_id, election_id=site.election_id, area=area, name=site.place_name)
    table = Table(pk=pk, election_id=site.election_id, place=place, number=site.number)
    return TableForReport(table=table, on_duty=on_duty, facts=facts)


@dataclass(frozen=True)
class DutyWithTable:
    """One active assignment of a volunteer, with its table's `TableFacts` (None: a fiscal general's)."""

    election_id: int
    role: str
    place_id: int
    table_id: int | None
    facts: TableFacts | None

    @property
    def table(self) -> Table | None:
        """The assignment's table as `table_report` and a reply use it (id, number, election, place)."""
        if self.table_id is None or self.facts is None:
            return None
        site = self.facts.site
        return Table(pk=self.table_id, number=site.number, election_id=site.election_id, place_id=site.place_id)


# The table keywords by SMS (ABRIO, CERRO...): the sender's active assignments, newest election first,
# with each one's table's facts, so the report decides on them without reading its table again.
_DUTIES_WITH_TABLES = PreparedQuery(
    lambda volunteer_id: (
        Assignment.objects.filter(volunteer_id=volunteer_id, status__in=ACTIVE_STATUSES)
        .annotate(has_reports=table_has_reports("table_id"))
        .order_by("-election__date", "id")
        .values_list("election_id", "role", "place_id", "table_id", *table_fact_columns("table__"), "has_reports")
    ),
    "volunteer_id",
)


def duties_with_tables(*, volunteer_id: int) -> list[DutyWithTable]:
    """The volunteer's active assignments, newest election first, each with its table's facts."""
    duties = []
    for election_id, role, place_id, table_id, *facts in _DUTIES_WITH_TABLES.rows(volunteer_id=volunteer_id):
        table_facts = table_facts_from_row(table_id, facts) if table_id is not None else None
        duties.append(DutyWithTable(election_id, role, place_id, table_id, table_facts))
    return duties
