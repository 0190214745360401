"""Two reports of one table at once (a watcher's SMS and the fiscal general's click): the second,
which waits for the table's lock, must decide on the state the first one left, on PostgreSQL.

Real PostgreSQL, two connections: one thread reports inside a transaction it keeps open (holding the
table's lock) until the other thread's report is seen waiting for that lock, then commits. SQLite
serialises writers, so there the second report could not even start: skipped.
"""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from backend.tableday.models import TableDay, TableReport
from backend.tableday.services import table_report

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers: no report ever waits"),
]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _waits_for_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def _report_while_another_holds_the_lock(table, *, first: str, second: str):
    """`first` is reported in a transaction that commits only once `second`'s report waits for the
    table's lock; returns what `second`'s report answered (or the error it raised)."""
    waiter_pid: list[int] = []
    waiter_started = threading.Event()
    outcome: dict = {}

    def holder():
        try:
            with transaction.atomic():
                table_report(table=table, state=first, channel="sms")
                waiter_started.set()
                deadline = time.monotonic() + 10
                while not (waiter_pid and _waits_for_a_lock(waiter_pid[0])):
                    if time.monotonic() > deadline:
                        raise AssertionError("the second report never waited for the table's lock")
                    time.sleep(0.01)
        except Exception as error:  # surfaced by the test below
            outcome["holder_error"] = error
        finally:
            connections.close_all()

    def waiter():
        try:
            waiter_pid.append(_backend_pid())
            waiter_started.wait(10)
            outcome["result"] = table_report(table=table, state=second, channel="web")
        except Exception as error:
            outcome["waiter_error"] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert "holder_error" not in outcome, outcome.get("holder_error")
    assert "waiter_error" not in outcome, outcome.get("waiter_error")
    return outcome["result"]


def _states(table) -> list[str]:
    return list(TableReport.objects.filter(table=table).order_by("id").values_list("state", flat=True))


def test_two_first_openings_at_once_record_one_report_and_no_error(geo):
    # given: a table nobody reported yet (no current-state row)
    table = geo.north_tables[0]
    # when: ABRIO by SMS and the fiscal general's click at the same moment
    second = _report_while_another_holds_the_lock(table, first="open", second="open")
    # then: the click is a repeat of what the SMS recorded
    assert not second.changed and second.state == "open"
    assert _states(table) == ["open"]
    assert TableDay.objects.get(table=table).state == "open"


def test_the_same_closing_twice_at_once_is_recorded_once(geo):
    # given: an open table (its current-state row exists)
    table = geo.north_tables[0]
    table_report(table=table, state="open", channel="sms")
    # when
    second = _report_while_another_holds_the_lock(table, first="closed", second="closed")
    # then
    assert not second.changed and second.state == "closed"
    assert _states(table) == ["open", "closed"]
    assert TableDay.objects.get(table=table).state == "closed"


def test_a_report_that_waited_never_moves_the_table_back(geo):
    # given: an open table
    table = geo.north_tables[0]
    table_report(table=table, state="open", channel="sms")
    # when: the count is reported while a late CERRO is on its way in
    second = _report_while_another_holds_the_lock(table, first="counted", second="closed")
    # then: the late CERRO adds nothing and the table stays counted
    assert not second.changed and second.state == "counted"
    assert _states(table) == ["open", "counted"]
    day = TableDay.objects.get(table=table)
    assert (day.state, day.counted_at is not None) == ("counted", True)


def test_a_report_that_waited_on_a_table_without_a_state_row_sees_the_row_written_meanwhile(geo):
    # given: a table with a report from before the current-state rows existed (no row: the locked way)
    table = geo.north_tables[0]
    TableReport.objects.create(table=table, state="no_watcher", channel="sms")
    # when: its opening is being written while its closing comes in
    second = _report_while_another_holds_the_lock(table, first="open", second="closed")
    # then: the closing moved the row the opening wrote
    assert second.changed and second.state == "closed"
    assert _states(table) == ["no_watcher", "open", "closed"]
    day = TableDay.objects.get(table=table)
    assert (day.state, day.watcher_absent, day.opened_at is not None) == ("closed", "", True)
