"""Reads of the table's timeline: the derived state and the reports in order."""

from dataclasses import dataclass

from django.db.models import QuerySet

from backend.elections.models import Table

from .models import PRESENCE, PROGRESS, RANK, TableReport, TableState


@dataclass(frozen=True)
class TableStatus:
    state: str  # one of PROGRESS
    watcher_absent: str  # "" or one of PRESENCE (the latest word about the watcher)


def table_status_from_reports(reports) -> TableStatus:
    """Fold reports (oldest first) into the current state: the furthest progress reached since the
    last correction; a correction sets the state outright."""
    state = TableState.WAITING.value
    absent = ""
    for report in reports:
        if report.state in PRESENCE:
            absent = report.state
            continue
        if report.correction or RANK[TableState(report.state)] > RANK[TableState(state)]:
            state = report.state
        if report.state != TableState.WAITING:
            absent = ""  # someone reported progress from the table: it is watched again
    return TableStatus(state=state, watcher_absent=absent)


def table_report_list(*, table: Table) -> QuerySet[TableReport]:
    return TableReport.objects.filter(table=table).select_related("actor").order_by("id")


def table_status_get(*, table: Table) -> TableStatus:
    return table_status_from_reports(table_report_list(table=table))


def table_next_state(state: str) -> str | None:
    """The state the watcher's one big button reports next (None once the sheet is sent)."""
    rank = RANK[TableState(state)]
    return PROGRESS[rank + 1].value if rank + 1 < len(PROGRESS) else None
