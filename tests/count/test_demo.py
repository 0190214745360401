"""The Córdoba demo plays election night from the real 2019 governor figures."""

import hashlib

import pytest

from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentRole
from backend.count.demo import election_night_play
from backend.count.models import Category, OfficialImport, ResultSheet, SheetStatus
from backend.count.selectors import discrepancy_list, quick_count
from backend.elections.demo import demo_load


@pytest.mark.slow
@pytest.mark.usefixtures("media_and_inline_worker")
def test_election_night_from_the_real_figures(db):
    # given: the demo election with 120 watchers in Córdoba Capital
    election = demo_load(volunteers=200, assigned=120).election
    # when
    night = election_night_play(election=election, errors=4, changed=5)
    again = election_night_play(election=election)
    # then: every watched table sent its sheet; the wrong ones (and any real sheet over the estimated
    # electors) were asked back
    watched = Assignment.objects.filter(election=election, role=AssignmentRole.TABLE, status__in=ACTIVE_STATUSES)
    assert night.sheets == watched.count() > 0
    assert night.flagged >= 4
    assert ResultSheet.objects.filter(official=False, status=SheetStatus.FLAGGED).count() == night.flagged
    assert night.official == 8545
    # the official file came through the console's door: one upload, stored, applied by the demo's lead
    job = OfficialImport.objects.get(election=election)
    assert (job.state, job.layout, job.created_by.username, job.applied_by.username) == (
        "applied",
        "wide",
        "responsable",
        "responsable",
    )
    assert job.result["sheets"] == 8545 and job.file_sha256 == hashlib.sha256(job.file.read()).hexdigest()
    # the official file differs exactly where it was changed (the flagged sheets are not current)
    found = discrepancy_list(election=election)
    flagged_tables = set(ResultSheet.objects.filter(status=SheetStatus.FLAGGED).values_list("table__number", flat=True))
    assert {d.table for d in found} == set(night.changed_official) - flagged_tables
    assert all(d.at_stake > 0 for d in found)
    count = quick_count(election=election, category=Category.objects.get(election=election, code="GOB"))
    assert count.tables_reported == night.sheets - night.flagged
    assert count.lists[0].name == "Hacemos por Córdoba"
    assert (again.sheets, again.official) == (0, 0)
    assert OfficialImport.objects.count() == 1
