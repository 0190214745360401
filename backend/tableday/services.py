"""Writes of the table's timeline. Every door (SMS, the volunteer's page, the API) calls `table_report`."""

import datetime
import functools
import re
from dataclasses import dataclass

from django.db import connections, transaction
from django.db.models import Field
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.assignments.errors import AssignmentErrorCode
from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentRole, AssignmentStatus, Shift
from backend.assignments.services import assignment_check_in, assignment_create, assignment_transition
from backend.core.exceptions import ApplicationError
from backend.core.live import board_group, live_send
from backend.core.prepared import PreparedQuery
from backend.core.text import clean_text
from backend.elections.models import Table
from backend.volunteers.models import Volunteer
from backend.volunteers.services import volunteer_create

from .errors import TableReportErrorCode
from .live import table_report_event
from .models import PRESENCE, RANK, SHIFT_ENTRIES, STEP_TIME_FIELD, TableDay, TableReport, TableState
from .selectors import (
    TABLE_DAY_FIELDS,
    TableFacts,
    TableStatus,
    shift_partner,
    table_fact_columns,
    table_facts_from_row,
    table_facts_get,
    table_has_reports,
    table_report_list,
    table_status_from_reports,
    table_status_step,
)


@dataclass(frozen=True)
class TableReportResult:
    report: TableReport | None  # None: nothing new to record (a repeat or a late report)
    state: str
    watcher_absent: str

    @property
    def changed(self) -> bool:
        return self.report is not None


def table_report(
    *,
    table: Table,
    state: str,
    actor=None,
    channel: str,
    correction: bool = False,
    note: str = "",
    facts: TableFacts | None = None,
) -> TableReportResult:
    """Record what someone says about a table. Called by SMS keywords, the volunteer's page and the API.

    A report of a state the table already reached or passed (a repeat, or an SMS that arrived late)
    is accepted and records nothing: the table never moves back. A jump ahead (CERRO before ABRIO)
    moves straight there. A correction (a coordinator's; the adapter authorises it) sets the state
    outright and needs a reason. After commit, a new row goes to the live board.

    `facts`: the table's `TableFacts` when the door has just read them with the table (the API's
    `table_for_report`, the SMS door's `duties_with_tables`), else they are read here. On PostgreSQL
    the decision is taken on them, unlocked, and the write re-checks them under the table's lock.
    """
    try:
        state = TableState(state)
        if state in SHIFT_ENTRIES:
            raise ValueError(state)  # written only by the shift services, with whose shift it was
    except ValueError:
        raise ApplicationError(
            _("Estado de mesa desconocido: %(state)s.") % {"state": state}, code=TableReportErrorCode.UNKNOWN_STATE
        ) from None
    note = clean_text(note or "", max_length=300).strip()
    if correction and not note:
        raise ApplicationError(
            _("Una corrección necesita un motivo."), code=TableReportErrorCode.CORRECTION_NEEDS_REASON
        )
    if correction and state in PRESENCE:
        raise ApplicationError(
            _("Solo se corrige el avance de la mesa (en espera, abierta, cerrada, escrutada, acta enviada)."),
            code=TableReportErrorCode.CORRECTION_NEEDS_PROGRESS_STATE,
        )
    report_of = {"table": table, "state": state, "actor": actor, "channel": channel, "correction": correction}
    if transaction.get_connection().vendor == "postgresql":
        # Outside the caller's transaction the read and the one write statement run without BEGIN and
        # COMMIT around them: the statement is atomic alone, and it re-checks what the read found.
        if facts is None:
            facts = table_facts_get(table_id=table.pk)
        # The fold of an old timeline (reports but no current-state row) is done under the lock only.
        if facts.day is not None or not facts.has_reports:
            result = _decide_and_write(facts, note=note, only_if_unchanged=True, **report_of)
            if result is not None:
                return result
        # Another report of this table committed between the read and the write (or the table has
        # reports but no current-state row yet): the locked way below.
    # No savepoint: nothing inside raises but the database, and then the caller's whole
    # transaction must roll back anyway (an SMS's reply, a request); one round trip less each way.
    with transaction.atomic(savepoint=False):
        # Lock the table so that two reports of one table (a watcher's SMS and the fiscal general's
        # web click) are folded one after the other and both see the other's row.
        facts = _table_facts_locked(table.pk)
        if transaction.get_connection().vendor == "postgresql":
            # In READ COMMITTED a statement that waited for the lock still returns the joined rows of
            # its own snapshot: the current-state row as it was before the report that held the lock.
            # Read it again, after the lock, where that report's row is visible. (SQLite's
            # transactions here begin IMMEDIATE: the lock is taken before the read.)
            facts = table_facts_get(table_id=table.pk)
        result = _decide_and_write(facts, note=note, only_if_unchanged=False, **report_of)
    assert result is not None  # written unconditionally: the lock is held
    return result


def _current_status(table: Table, facts: TableFacts) -> TableStatus:
    """The stored current state; folded from the reports only for a table whose row is missing but
    that has reports (from before the row existed); a table with neither is waiting."""
    if facts.day is not None:
        return TableStatus(state=facts.day.state, watcher_absent=facts.day.watcher_absent)
    if facts.has_reports:
        return table_status_from_reports(table_report_list(table=table))
    return TableStatus(state=TableState.WAITING, watcher_absent="")


def _decide_and_write(
    facts: TableFacts,
    *,
    table: Table,
    state: str,
    actor,
    channel: str,
    correction: bool,
    note: str,
    only_if_unchanged: bool,
) -> TableReportResult | None:
    """Decide on the table's `facts` and write the report with the current-state row.

    Under the table's lock (`only_if_unchanged=False`) the write always happens. On PostgreSQL's
    unlocked way (`only_if_unchanged=True`: two statements with the read, where the locked way takes
    three) the write takes the lock itself and happens only if the current-state row is still as
    read; else nothing is written and this returns None.
    """
    current = _current_status(table, facts)
    if not correction and _adds_nothing(state, current.state, current.watcher_absent):
        # A repeat or a late report: nothing is written. Decided without the lock, the reply names the
        # state as read, which a report committing at this very moment may already have moved on.
        return TableReportResult(report=None, state=current.state, watcher_absent=current.watcher_absent)
    after = table_status_step(current, state, correction=correction)
    report = _report_and_day_write(
        table=table,
        state=state,
        channel=channel,
        actor=actor,
        correction=correction,
        note=note,
        after=after,
        day=facts.day,
        only_if_unchanged=only_if_unchanged,
    )
    if report is None:
        return None
    live_send(board_group(facts.site.election_id), table_report_event(facts.site, report, after.state))
    return TableReportResult(report=report, state=after.state, watcher_absent=after.watcher_absent)


# The table's facts (`selectors.TableFacts`) read with the table's row locked for the caller's
# transaction: only the row, the joined rows are read as the statement's snapshot had them, before any
# wait for the lock.
_TABLE_FACTS_LOCKED = PreparedQuery(
    lambda table_id: (
        Table.objects.select_for_update(of=("self",))
        .filter(pk=table_id)
        .annotate(has_reports=table_has_reports())
        .values_list(*table_fact_columns(), "has_reports")
    ),
    "table_id",
)


def _table_facts_locked(table_id: int) -> TableFacts:
    return table_facts_from_row(table_id, _TABLE_FACTS_LOCKED.rows(table_id=table_id)[0])


def _adds_nothing(state: str, current: str, absent: str) -> bool:
    if state in PRESENCE:
        return absent == state
    if state == TableState.WAITING:
        return True  # every table starts waiting; only a correction moves one back there
    return RANK[TableState(state)] <= RANK[TableState(current)] and not absent


def _step_times(day: TableDay, state: str, at) -> dict:
    """The time of each step after the table reaches `state` at `at` (a step it has not reached: None)."""
    rank = RANK[TableState(state)]
    times: dict[str, datetime.datetime | None] = {}
    for step, field in STEP_TIME_FIELD.items():
        if RANK[step] > rank:
            times[field] = None  # a correction moved the table back: that step is not reached
        elif RANK[step] == rank and getattr(day, field) is None:
            times[field] = at
        else:
            times[field] = getattr(day, field)
    return times


def _day_write(table_id: int, after: TableStatus, at, day: TableDay | None) -> None:
    """Keep the table's current-state row in step with its reports (same transaction, same lock):
    one UPDATE of the row read under the lock, or the table's first row inserted at once."""
    fields: dict = {"state": after.state, "watcher_absent": after.watcher_absent}
    if day is None:
        TableDay.objects.create(table_id=table_id, **fields, **_step_times(TableDay(), after.state, at))
    else:
        fields.update(_step_times(day, after.state, at), updated_at=timezone.now())
        TableDay.objects.filter(pk=table_id).update(**fields)


def _report_and_day_write(
    *,
    table: Table,
    state: str,
    channel: str,
    actor,
    correction: bool,
    note: str,
    after: TableStatus,
    day: TableDay | None,
    only_if_unchanged: bool = False,
) -> TableReport | None:
    """The report's row and the table's current-state row (`_day_write`), in one statement on
    PostgreSQL: the report's INSERT and the day's INSERT or UPDATE as data-modifying parts of one
    WITH (atomically; the report's time is the step's time).

    `only_if_unchanged` (PostgreSQL, for a decision taken without the lock): the statement first
    locks the table, and writes only if the current-state row is still `day` (every field the
    decision used; None: still no row), else nothing and returns None. The UPDATE re-checks its
    condition on the row's newest version even when the statement waited for the lock, and the
    INSERT of a first row does nothing if a row appeared meanwhile (ON CONFLICT); the report is
    inserted only from the day's written row. The lock comes first, as on every other path of the
    table's timeline (no deadlock with a report holding the lock and waiting for the day's row).
    """
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        report = TableReport.objects.create(
            table=table, state=state, channel=channel, actor=actor, correction=correction, note=note
        )
        _day_write(table.pk, after, report.created_at, day=day)
        return report
    at = timezone.now()
    report = TableReport(
        table=table, state=state, channel=channel, actor=actor, correction=correction, note=note, created_at=at
    )
    day_fields: dict = {
        "state": after.state,
        "watcher_absent": after.watcher_absent,
        **_step_times(day if day is not None else TableDay(), after.state, at),
        "updated_at": at,
    }
    sql = _report_and_day_sql(insert_day=day is None, only_if_unchanged=only_if_unchanged)
    report_values = [f.get_db_prep_save(getattr(report, f.attname), connection) for f in _REPORT_COLUMNS]
    day_values = [f.get_db_prep_save(day_fields[f.name], connection) for f in _DAY_COLUMNS]
    if not only_if_unchanged and day is None:
        params = [*report_values, table.pk, *day_values]
    elif not only_if_unchanged:
        params = [*report_values, *day_values, table.pk]
    elif day is None:
        params = [table.pk, *day_values, *report_values]
    else:
        as_read = [f.get_db_prep_save(getattr(day, f.name), connection) for f in _DAY_CHECKED]
        params = [table.pk, *day_values, *as_read, *report_values]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None  # the current-state row changed since it was read: nothing written
    report.pk = row[0]
    report._state.adding, report._state.db = False, connection.alias
    return report


_REPORT_COLUMNS = [f for f in TableReport._meta.concrete_fields if not f.primary_key]


def _day_fields(*names: str) -> list[Field]:
    return [field for name in names if isinstance(field := TableDay._meta.get_field(name), Field)]


_DAY_COLUMNS = _day_fields("state", "watcher_absent", *STEP_TIME_FIELD.values(), "updated_at")
_DAY_CHECKED = _day_fields(*TABLE_DAY_FIELDS)  # what a report's decision reads


@functools.cache
def _report_and_day_sql(*, insert_day: bool, only_if_unchanged: bool) -> str:
    """The SQL of `_report_and_day_write` on PostgreSQL (its columns never change: built once)."""
    connection = connections["default"]  # any PostgreSQL connection: names and types only

    def quote(name) -> str:
        return connection.ops.quote_name(name)

    def typed(field) -> str:  # a value selected into a column (no VALUES list to type it)
        return f"CAST(%s AS {field.cast_db_type(connection)})"

    report_table, report_key = quote(TableReport._meta.db_table), quote(TableReport._meta.pk.column)
    report_columns = ", ".join(quote(f.column) for f in _REPORT_COLUMNS)
    day_table, day_key = quote(TableDay._meta.db_table), quote(TableDay._meta.pk.column)
    day_columns = ", ".join([day_key, *(quote(f.column) for f in _DAY_COLUMNS)])
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in _DAY_COLUMNS)
    if not only_if_unchanged:
        report_sql = (
            f"INSERT INTO {report_table} ({report_columns}) "
            f"VALUES ({', '.join(['%s'] * len(_REPORT_COLUMNS))}) RETURNING {report_key}"
        )
        if insert_day:
            day_sql = f"INSERT INTO {day_table} ({day_columns}) VALUES ({', '.join(['%s'] * (len(_DAY_COLUMNS) + 1))})"
        else:
            day_sql = f"UPDATE {day_table} SET {assignments} WHERE {day_key} = %s"
        return f"WITH report AS ({report_sql}), day AS ({day_sql}) SELECT {report_key} FROM report"
    table_key = quote(Table._meta.pk.column)
    locked_sql = f"SELECT {table_key} FROM {quote(Table._meta.db_table)} WHERE {table_key} = %s FOR UPDATE"
    if insert_day:
        day_sql = (
            f"INSERT INTO {day_table} ({day_columns}) SELECT {table_key}, "
            f"{', '.join(typed(f) for f in _DAY_COLUMNS)} FROM locked "
            f"ON CONFLICT ({day_key}) DO NOTHING RETURNING {day_key}"
        )
    else:
        unchanged = " AND ".join(f"{quote(f.column)} IS NOT DISTINCT FROM {typed(f)}" for f in _DAY_CHECKED)
        day_sql = (
            f"UPDATE {day_table} SET {assignments} FROM locked "
            f"WHERE {day_table}.{day_key} = locked.{table_key} AND {unchanged} RETURNING {day_table}.{day_key}"
        )
    report_sql = (
        f"INSERT INTO {report_table} ({report_columns}) "
        f"SELECT {', '.join(typed(f) for f in _REPORT_COLUMNS)} FROM day RETURNING {report_key}"
    )
    return (
        f"WITH locked AS ({locked_sql}), day AS ({day_sql}), report AS ({report_sql}) SELECT {report_key} FROM report"
    )


def _day_save(table: Table, state: str, absent: str, at) -> None:
    """`_day_write` for the repair, which reads the row itself."""
    day = TableDay.objects.filter(table=table).first()
    _day_write(table.pk, TableStatus(state=state, watcher_absent=absent), at, day)


def table_day_rebuild(*, table: Table) -> TableDay:
    """Rebuild the current-state row of a table from its reports (a repair; the reports are the truth)."""
    with transaction.atomic():
        Table.objects.select_for_update().filter(pk=table.pk).first()
        TableDay.objects.filter(table=table).delete()
        day = TableDay(table=table)
        reports = list(table_report_list(table=table))
        for i in range(1, len(reports) + 1):
            status = table_status_from_reports(reports[:i])
            _day_save(table, status.state, status.watcher_absent, reports[i - 1].created_at)
        return TableDay.objects.filter(table=table).first() or day


def walk_in_watcher_record(
    *, general: Assignment, table: Table, first_name: str, last_name: str, dni: str, phone: str, actor, channel: str
) -> Assignment:
    """The fiscal general's "tengo fiscal": a person who came to the school watches an uncovered table.

    Finds the volunteer by DNI or creates them (`volunteer_create`), assigns them to the table
    (`assignment_create`, the same eligibility and free-slot rules as the console) and, on election
    day, records them present. All or nothing: a refusal leaves no half-made volunteer.
    """
    if general.role != AssignmentRole.PLACE or general.status not in ACTIVE_STATUSES:
        raise ApplicationError(_("Solo el fiscal general de la escuela registra fiscales."), code="walk_in_not_general")
    if table.place_id != general.place_id:
        raise ApplicationError(_("Esa mesa no es de tu escuela."), code="walk_in_other_place")
    dni = re.sub(r"[.\s-]", "", dni or "")
    if not re.fullmatch(r"\d{7,8}", dni):
        raise ApplicationError(_("El DNI tiene 7 u 8 dígitos, sin puntos."), code="walk_in_dni")
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    if not first_name or not last_name:
        raise ApplicationError(_("Falta el nombre o el apellido."), code="walk_in_name")
    place = table.place
    with transaction.atomic():
        volunteer = Volunteer.objects.filter(dni=dni).first()
        if volunteer is None:
            volunteer = volunteer_create(
                actor=actor,
                source=channel,
                dni=dni,
                first_name=first_name,
                last_name=last_name,
                phone=phone,
                area=place.area,
            )
        assignment = assignment_create(
            volunteer=volunteer,
            place=place,
            table=table,
            role=AssignmentRole.TABLE,
            actor=actor,
            source=channel,
            reason=_("Llegó a la escuela; lo registró el fiscal general."),
            notify=False,
        )
        if timezone.localdate() == place.election.date:
            assignment = assignment_check_in(assignment=assignment, actor=actor, source=channel)
    return assignment


# --- Shifts: a morning watcher hands the table over to an afternoon one ----------------------------


def _shift_label(shift: str) -> str:
    return str(Shift(shift).label).lower()


def _timeline_entry(*, table: Table, state: str, actor, channel: str, note: str) -> TableReport:
    """A shift entry on the table's timeline: a row among the reports that never changes the table's state."""
    report = TableReport.objects.create(
        table=table, state=state, channel=channel, actor=actor, note=clean_text(note, max_length=300)
    )
    # The caller holds the table's lock already: this reads where the table is, and its state.
    facts = table_facts_get(table_id=table.pk)
    current = _current_status(table, facts).state
    live_send(board_group(facts.site.election_id), table_report_event(facts.site, report, current))
    return report


def watcher_check_in(*, assignment: Assignment, actor=None, source: str) -> Assignment:
    """Election day: a watcher is at their place (SMS `LLEGUE`, the volunteer's page, the console's
    board, the API, the admin). `assignment_check_in` with, for a watcher of a shift, the arrival on
    the table's timeline ("llegó ... (turno tarde)"), beside the reports, live on the board after commit.
    A repeated check-in records nothing new.
    """
    with transaction.atomic():
        before = assignment.status
        assignment = assignment_check_in(assignment=assignment, actor=actor, source=source)
        if (
            assignment.shift != Shift.DAY
            and assignment.table_id is not None
            and before != AssignmentStatus.CHECKED_IN
            and assignment.status == AssignmentStatus.CHECKED_IN
        ):
            table = Table.objects.select_for_update().filter(pk=assignment.table_id).first()
            assert table is not None  # the assignment's own table (a foreign key)
            _timeline_entry(
                table=table,
                state=TableState.SHIFT_ARRIVED,
                actor=actor,
                channel=source,
                note=_("Llegó %(name)s (%(shift)s).")
                % {"name": assignment.volunteer.full_name, "shift": _shift_label(assignment.shift)},
            )
    return assignment


@dataclass(frozen=True)
class HandoverResult:
    assignment: Assignment  # the morning watcher's, now done
    incoming: Assignment  # the afternoon watcher's
    table: Table
    changed: bool  # False: the handover had already been recorded


def shift_hand_over(*, assignment: Assignment, actor=None, source: str) -> HandoverResult:
    """The morning watcher hands the table over to the afternoon one (SMS `ENTREGO`, the volunteer's
    page, the API).

    Only a morning watcher who is present hands over, and only to an afternoon watcher who has
    reported arriving (`LLEGUE`): the table is never left unwatched by a tap. The morning assignment
    ends (`done`, audited with who took over) and the handover goes on the table's timeline, live on
    the board after commit; it never changes the table's state. A repeat records nothing.
    """
    if assignment.shift != Shift.MORNING or assignment.table_id is None:
        raise ApplicationError(
            _("Solo el fiscal del turno mañana entrega la mesa."), code=AssignmentErrorCode.NOT_A_SHIFT
        )
    with transaction.atomic():
        # The table first, then the assignments (the order of `table_report` and the check-in).
        table = Table.objects.select_for_update().filter(pk=assignment.table_id).first()
        assert table is not None  # the assignment's own table (a foreign key)
        # Only the assignment row (its table, nullable, is an outer join PostgreSQL will not lock).
        row = (
            Assignment.objects.select_for_update(of=("self",))
            .select_related("volunteer", "table")
            .get(pk=assignment.pk)
        )
        incoming = shift_partner(assignment=row)
        if row.status == AssignmentStatus.DONE and incoming is not None:
            return HandoverResult(assignment=row, incoming=incoming, table=table, changed=False)
        if row.status != AssignmentStatus.CHECKED_IN:
            raise ApplicationError(
                _("Para entregar la mesa primero registrá tu llegada (LLEGUE)."),
                code=AssignmentErrorCode.HANDOVER_NOT_PRESENT,
            )
        if incoming is None:
            raise ApplicationError(
                _("No hay fiscal del turno tarde para tu mesa: quedate y avisá a tu fiscal general."),
                code=AssignmentErrorCode.HANDOVER_NOBODY_ARRIVED,
            )
        if incoming.status != AssignmentStatus.CHECKED_IN:
            raise ApplicationError(
                _("%(name)s todavía no avisó que llegó: que responda LLEGUE y después entregá la mesa.")
                % {"name": incoming.volunteer.full_name},
                code=AssignmentErrorCode.HANDOVER_NOBODY_ARRIVED,
            )
        row = assignment_transition(
            assignment=row,
            to_status=AssignmentStatus.DONE,
            actor=actor,
            source=source,
            reason=_("entregó la mesa a %(name)s") % {"name": incoming.volunteer.full_name},
        )
        _timeline_entry(
            table=table,
            state=TableState.HANDED_OVER,
            actor=actor,
            channel=source,
            note=_("%(out)s entregó la mesa a %(in)s.")
            % {"out": row.volunteer.full_name, "in": incoming.volunteer.full_name},
        )
    return HandoverResult(assignment=row, incoming=incoming, table=table, changed=True)
