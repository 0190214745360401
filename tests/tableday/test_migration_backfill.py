"""Reports written before the current-state rows existed get their row when the migration runs."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from backend.tableday.models import TableDay
from backend.tableday.services import table_report

BEFORE = [("tableday", "0001_initial")]
AFTER = [("tableday", "0002_table_day_current_state")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_builds_each_tables_row_from_its_reports(geo):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    report = old.get_model("tableday", "TableReport")
    first, second = geo.north_tables[0].pk, geo.north_tables[1].pk
    for table_id, state, correction in [
        (first, "open", False),
        (first, "counted", False),
        (first, "closed", True),  # a correction back
        (second, "no_watcher", False),
    ]:
        report.objects.create(table_id=table_id, state=state, channel="sms", correction=correction)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)

    days = {d.table_id: d for d in TableDay.objects.all()}
    assert (days[first].state, days[first].counted_at, days[first].opened_at is not None) == ("closed", None, True)
    assert (days[second].state, days[second].watcher_absent) == ("waiting", "no_watcher")
    # and the service goes on from there
    assert table_report(table=geo.north_tables[0], state="counted", channel="sms").state == "counted"
