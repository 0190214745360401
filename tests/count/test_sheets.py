"""Result sheets: checks, comparison with earlier sheets, resolution, audit, ask-back, permissions."""

import pytest

from backend.assignments.models import Assignment, AssignmentRole, AssignmentStatus
from backend.assignments.services import assignment_create
from backend.core.exceptions import ApplicationError
from backend.count.errors import CountErrorCode, SheetFlag
from backend.count.models import ResultSheet, SheetEvent, SheetSource, SheetStatus
from backend.count.selectors import assignment_tables_for_volunteer, quick_count
from backend.count.services import SheetFigures, sheet_resolve, sheet_submit
from backend.notices.models import Notice, NoticeKind
from backend.permissions import can_submit_sheet
from backend.volunteers.models import Volunteer

from ..factories import VolunteerFactory
from .conftest import sheet_figures


def test_a_sheet_that_adds_up_becomes_the_tables_figure(geo, ballot, watcher):
    # when
    result = sheet_submit(
        table=geo.north_tables[0],
        category=ballot.governor,
        figures=sheet_figures(ballot),
        source=SheetSource.WEB,
        actor=watcher.user,
    )
    # then
    sheet = result.sheet
    assert result.accepted and result.flags == []
    assert (sheet.status, sheet.current, sheet.voters, sheet.area_path) == (
        SheetStatus.ACCEPTED,
        True,
        189,
        geo.north_place.area.path,
    )
    assert ResultSheet.objects.get(pk=sheet.pk).votes == {
        str(ballot.ours.pk): 100,
        str(ballot.cambia.pk): 60,
        str(ballot.ucr.pk): 20,
    }
    event = SheetEvent.objects.get(sheet=sheet)
    assert (event.kind, event.actor) == (SheetEvent.Kind.RECEIVED, watcher.user)


def test_a_sheet_that_does_not_add_up_is_kept_flagged_and_asked_back(geo, ballot, watcher, lead):
    # when: entered from the API by someone else, one vote short
    result = sheet_submit(
        table=geo.north_tables[0],
        category=ballot.governor,
        figures=sheet_figures(ballot, voters=190),
        source=SheetSource.API,
        actor=lead,
    )
    # then: stored with its reason, not counted, and the table's watcher is asked to check
    assert result.sheet.status == SheetStatus.FLAGGED and not result.sheet.current
    assert [f["code"] for f in result.sheet.flags] == [SheetFlag.SUM_MISMATCH]
    assert "suman 189" in result.sheet.flags[0]["message"]
    notice = Notice.objects.get(kind=NoticeKind.SHEET_ASKED_BACK)
    assert notice.volunteer == watcher
    assert "mesa 1 (GOB)" in notice.payload["text"]


def test_votes_never_exceed_the_tables_electors(geo, ballot, watcher):
    result = sheet_submit(
        table=geo.north_tables[0],
        category=ballot.governor,
        figures=sheet_figures(ballot, ours=300, voters=389),
        source=SheetSource.WEB,
        actor=watcher.user,
    )
    assert [f.code for f in result.flags] == [SheetFlag.OVER_ELECTORS]
    assert "350 electores" in result.flags[0].message


def test_the_same_voters_across_categories(geo, ballot, watcher):
    # given
    sheet_submit(
        table=geo.north_tables[0],
        category=ballot.governor,
        figures=sheet_figures(ballot),
        source=SheetSource.WEB,
        actor=watcher.user,
    )
    # when: the mayor's sheet says 188 voters
    result = sheet_submit(
        table=geo.north_tables[0],
        category=ballot.mayor,
        figures=SheetFigures(
            votes={ballot.mayor_ours.pk: 120, ballot.mayor_other.pk: 60},
            blank=4,
            null=4,
            contested=0,
            challenged=0,
            voters=188,
        ),
        source=SheetSource.WEB,
        actor=watcher.user,
    )
    # then
    assert [f.code for f in result.flags] == [SheetFlag.VOTERS_DIFFER]
    assert "GOB 189" in result.flags[0].message


def test_a_second_report_is_compared_and_never_overwrites(geo, ballot, watcher, north_coordinator):
    # given
    table = geo.north_tables[0]
    first = sheet_submit(
        table=table, category=ballot.governor, figures=sheet_figures(ballot), source=SheetSource.WEB, actor=watcher.user
    ).sheet
    # when: the same figures again, then different ones
    same = sheet_submit(
        table=table, category=ballot.governor, figures=sheet_figures(ballot), source=SheetSource.SMS, actor=watcher.user
    ).sheet
    other = sheet_submit(
        table=table,
        category=ballot.governor,
        figures=sheet_figures(ballot, ours=90, ucr=30),
        source=SheetSource.API,
        actor=north_coordinator,
    )
    # then
    assert same.status == SheetStatus.CONFIRMS and not same.current
    assert other.sheet.status == SheetStatus.CONFLICT and not other.sheet.current
    assert f"#{first.pk}" in other.flags[0].message
    first.refresh_from_db()
    assert first.current and first.votes[str(ballot.ours.pk)] == 100
    # when: a coordinator, with the photo in hand, says the later one stands
    sheet_resolve(sheet=other.sheet, actor=north_coordinator, note="La foto dice 90")
    # then
    first.refresh_from_db()
    other.sheet.refresh_from_db()
    assert other.sheet.current and not first.current
    assert ResultSheet.objects.filter(table=table, category=ballot.governor).count() == 3
    count = quick_count(election=geo.election, category=ballot.governor)
    assert (count.tables_reported, count.ours_votes, count.voters) == (1, 90, 189)
    resolved = SheetEvent.objects.get(kind=SheetEvent.Kind.RESOLVED)
    assert (resolved.actor, resolved.note) == (north_coordinator, "La foto dice 90")


def test_a_missing_figure_is_named(geo, ballot, watcher):
    figures = sheet_figures(ballot)
    figures.voters = None
    del figures.votes[ballot.ucr.pk]
    result = sheet_submit(
        table=geo.north_tables[0], category=ballot.governor, figures=figures, source=SheetSource.SMS, actor=watcher.user
    )
    assert result.missing == ["Unión Cívica Radical", "votantes"]
    assert result.sheet.status == SheetStatus.FLAGGED


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("unknown_list", CountErrorCode.UNKNOWN_LIST),
        ("negative", CountErrorCode.NEGATIVE),
        ("not_voted_here", CountErrorCode.UNKNOWN_CATEGORY),
    ],
)
def test_bad_input_gets_a_specific_error_and_writes_nothing(geo, ballot, watcher, case, code):
    table, category, figures = geo.north_tables[0], ballot.governor, sheet_figures(ballot)
    if case == "unknown_list":
        figures.votes[ballot.mayor_ours.pk] = 3
    elif case == "negative":
        figures.blank = -1
    else:
        table, category = geo.south_tables[0], ballot.mayor
    with pytest.raises(ApplicationError) as err:
        sheet_submit(table=table, category=category, figures=figures, source=SheetSource.API, actor=watcher.user)
    assert err.value.code == code
    assert not ResultSheet.objects.exists()


def test_who_may_submit(geo, ballot, watcher, north_coordinator, south_coordinator, north_data_entry, lead):
    own, neighbour, south = geo.north_tables[0], geo.north_tables[1], geo.south_tables[0]
    general = VolunteerFactory(area=geo.north_town)
    general.user = north_data_entry.__class__.objects.create(username="general-norte", role="volunteer")
    general.save()
    assignment_create(volunteer=general, place=geo.north_place, table=None, role=AssignmentRole.PLACE, source="admin")
    assert can_submit_sheet(watcher.user, own) and not can_submit_sheet(watcher.user, neighbour)
    assert can_submit_sheet(general.user, neighbour) and not can_submit_sheet(general.user, south)
    assert can_submit_sheet(north_coordinator, own) and not can_submit_sheet(south_coordinator, own)
    assert can_submit_sheet(north_data_entry, neighbour) and not can_submit_sheet(north_data_entry, south)
    assert can_submit_sheet(lead, south)


def test_who_may_submit_is_the_same_answered_from_the_assignments_already_read(
    geo, ballot, watcher, north_coordinator, north_data_entry, lead
):
    # given: a fiscal general of the north place, and a watcher whose assignment was cancelled
    own, neighbour, south = geo.north_tables[0], geo.north_tables[1], geo.south_tables[0]
    general = VolunteerFactory(area=geo.north_town)
    general.user = north_data_entry.__class__.objects.create(username="general-norte", role="volunteer")
    general.save()
    assignment_create(volunteer=general, place=geo.north_place, table=None, role=AssignmentRole.PLACE, source="admin")
    gone = VolunteerFactory(area=geo.north_town)
    gone.user = north_data_entry.__class__.objects.create(username="se-fue", role="volunteer")
    gone.save()
    cancelled = assignment_create(
        volunteer=gone, place=geo.north_place, table=neighbour, role=AssignmentRole.TABLE, source="admin"
    )
    Assignment.objects.filter(pk=cancelled.pk).update(status=AssignmentStatus.CANCELLED)
    people = [watcher.user, general.user, gone.user, north_coordinator, north_data_entry, lead]
    volunteers = {v.user_id: v.pk for v in Volunteer.objects.filter(user__in=people)}
    # when / then: the SMS door's answer from the sender's assignments is the permission's own
    for user in people:
        duties = assignment_tables_for_volunteer(volunteer_id=volunteers[user.pk]) if user.pk in volunteers else []
        for table in (own, neighbour, south):
            assert can_submit_sheet(user, table, duties=duties) == can_submit_sheet(user, table), (user, table)
    assert can_submit_sheet(general.user, neighbour, duties=assignment_tables_for_volunteer(volunteer_id=general.pk))
    assert not can_submit_sheet(gone.user, neighbour, duties=assignment_tables_for_volunteer(volunteer_id=gone.pk))
