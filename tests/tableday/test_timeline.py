"""The table's timeline: append-only reports, a derived state that never moves back, audited corrections."""

import pytest

from backend.core.exceptions import ApplicationError
from backend.tableday.models import TableReport, TableState
from backend.tableday.selectors import table_status_get
from backend.tableday.services import table_report


def _report(table, state, **kwargs):
    kwargs.setdefault("channel", "sms")
    return table_report(table=table, state=state, **kwargs)


def test_a_table_starts_waiting_and_moves_forward_with_each_report(geo, north_volunteer):
    # given
    table = geo.north_tables[0]
    assert table_status_get(table=table).state == TableState.WAITING
    # when
    opened = _report(table, "open", actor=north_volunteer.user)
    closed = _report(table, "closed", actor=north_volunteer.user)
    # then
    assert (opened.state, closed.state) == ("open", "closed")
    rows = list(TableReport.objects.filter(table=table).values_list("state", "channel", "actor"))
    assert rows == [("open", "sms", north_volunteer.user.pk), ("closed", "sms", north_volunteer.user.pk)]


def test_a_repeated_report_is_accepted_and_records_nothing(geo):
    # given
    table = geo.north_tables[0]
    _report(table, "open")
    # when
    again = _report(table, "open")
    # then
    assert not again.changed and again.state == "open"
    assert TableReport.objects.filter(table=table).count() == 1


def test_a_late_report_never_moves_the_table_back(geo):
    # given: the CERRO text arrived before the ABRIO one
    table = geo.north_tables[0]
    jumped = _report(table, "closed")
    # when
    late = _report(table, "open")
    # then
    assert jumped.state == "closed"
    assert not late.changed and late.state == "closed"
    assert table_status_get(table=table).state == "closed"
    assert list(TableReport.objects.filter(table=table).values_list("state", flat=True)) == ["closed"]


def test_a_correction_moves_the_table_back_and_keeps_who_and_why(geo, north_coordinator):
    # given
    table = geo.north_tables[0]
    _report(table, "counted")
    # when
    corrected = _report(
        table, "open", actor=north_coordinator, channel="api", correction=True, note="la mesa sigue abierta"
    )
    # then
    assert corrected.state == "open"
    row = TableReport.objects.filter(table=table).last()
    assert (row.correction, row.actor, row.note, row.channel) == (
        True,
        north_coordinator,
        "la mesa sigue abierta",
        "api",
    )
    # and reports after it move forward again from the corrected state
    assert _report(table, "closed").state == "closed"


def test_a_correction_without_a_reason_is_refused_and_writes_nothing(geo, north_coordinator):
    table = geo.north_tables[0]
    with pytest.raises(ApplicationError) as error:
        _report(table, "open", actor=north_coordinator, correction=True, note="  ")
    assert error.value.code == "correction_needs_reason"
    assert "motivo" in str(error.value.message)
    assert not TableReport.objects.exists()


def test_an_unknown_state_is_refused_with_a_clear_error(geo):
    with pytest.raises(ApplicationError) as error:
        _report(geo.north_tables[0], "abierta")
    assert error.value.code == "unknown_table_state"
    assert "abierta" in str(error.value.message)


def test_watcher_left_is_recorded_once_and_cleared_by_the_next_progress_report(geo):
    # given
    table = geo.north_tables[0]
    _report(table, "open")
    # when
    left = _report(table, "watcher_left")
    repeated = _report(table, "watcher_left")
    # then: the table stays open, the absence is known once
    assert (left.state, left.watcher_absent, repeated.changed) == ("open", "watcher_left", False)
    # when someone reports from the table again, it is watched again
    back = _report(table, "closed")
    assert (back.state, back.watcher_absent) == ("closed", "")


def test_every_new_report_goes_to_the_board_after_commit(geo, django_capture_on_commit_callbacks):
    table = geo.north_tables[0]
    with django_capture_on_commit_callbacks() as callbacks:
        _report(table, "open")
        _report(table, "open")  # a repeat: nothing new to show
    assert len(callbacks) == 1
