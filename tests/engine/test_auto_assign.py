"""auto_assign end to end on the small geo fixture: rules, priorities, stability, atomic apply, command."""

from io import StringIO

import pytest
from django.core.management import call_command

from backend.assignments.engine import plan_build
from backend.assignments.models import Assignment, AssignmentEvent, AssignmentStatus
from backend.assignments.plan_writer import plan_write
from backend.assignments.services import assignment_create, assignment_set_locked, assignment_transition, auto_assign
from backend.core.exceptions import ApplicationError
from backend.volunteers.models import Availability, RolesAccepted

from ..factories import AreaFactory, PollingPlaceFactory, TableFactory, VolunteerFactory

NEAR_NORTH = {"latitude": -30.99, "longitude": -64.10}  # about 1.4 km from Escuela Norte


def _active(election):
    return Assignment.objects.filter(election=election, status__in=["proposed", "notified", "confirmed", "checked_in"])


def test_a_voter_is_proposed_where_they_vote_with_the_reason(geo):
    # given
    voter = VolunteerFactory(area=geo.south_town, votes_at=geo.north_place, roles_accepted=RolesAccepted.TABLE)
    # when
    result = auto_assign(election=geo.election, dry_run=False)
    # then
    a = _active(geo.election).get(volunteer=voter)
    assert (a.place, a.role, a.status, a.cost) == (geo.north_place, "table", "proposed", 0.0)
    assert a.reason == "vota en este establecimiento"
    assert a.events.get().kind == AssignmentEvent.Kind.CREATED
    assert (result.created, result.covered_before, result.covered_after, result.slots) == (1, 0, 1, 8)


def test_distance_reason_in_kilometres(geo):
    near = VolunteerFactory(area=geo.north_town, **NEAR_NORTH)
    auto_assign(election=geo.election, dry_run=False)
    a = _active(geo.election).get(volunteer=near)
    assert a.place == geo.north_place
    assert a.reason == "a 1,5 km"
    assert 1400 < a.cost < 1600


def test_the_general_comes_before_the_tables(geo):
    only = VolunteerFactory(area=geo.north_town, **NEAR_NORTH)
    auto_assign(election=geo.election, dry_run=False)
    assert _active(geo.election).get(volunteer=only).role == "place"


def test_then_tables_with_more_electors(geo):
    # given: a table-only volunteer and tables of different sizes
    for table, electors in zip(geo.north_tables, (120, 340, 200), strict=True):
        table.electors = electors
        table.save()
    v = VolunteerFactory(area=geo.north_town, roles_accepted=RolesAccepted.TABLE, **NEAR_NORTH)
    # when
    auto_assign(election=geo.election, dry_run=False)
    # then
    assert _active(geo.election).get(volunteer=v).table == geo.north_tables[1]


def test_coordinator_priority_on_an_area_wins_over_travel(geo):
    # given: someone who could go north or south ("mismo distrito" both ways), south has priority
    geo.south.priority = 1
    geo.south.save()
    v = VolunteerFactory(area=geo.district)
    # when
    auto_assign(election=geo.election, dry_run=False)
    # then
    a = _active(geo.election).get(volunteer=v)
    assert a.place == geo.south_place
    assert a.reason == "mismo distrito"


def test_tree_distance_prefers_the_same_locality_then_says_so(geo):
    v = VolunteerFactory(area=geo.south_town)
    auto_assign(election=geo.election, dry_run=False)
    a = _active(geo.election).get(volunteer=v)
    assert (a.place, a.reason) == (geo.south_place, "misma localidad")


@pytest.mark.parametrize(
    "attrs",
    [
        {"excluded": True},
        {"opted_out": True},
        {"availability": Availability.UNAVAILABLE},
        {"availability": Availability.MORNING},
        {"trained": False},
    ],
    ids=["excluded", "opted-out", "unavailable", "half-day-for-titular", "untrained"],
)
def test_ineligible_volunteers_are_never_proposed(geo, attrs):
    geo.election.requires_training = True
    geo.election.save()
    VolunteerFactory(area=geo.north_town, votes_at=geo.north_place, **{"trained": True, **attrs})
    result = auto_assign(election=geo.election, dry_run=False)
    assert result.created == 0
    assert not _active(geo.election).exists()


def test_roles_accepted_are_respected(geo):
    general_only = VolunteerFactory(area=geo.north_town, roles_accepted=RolesAccepted.PLACE, votes_at=geo.north_place)
    table_only = VolunteerFactory(area=geo.north_town, roles_accepted=RolesAccepted.TABLE, votes_at=geo.north_place)
    auto_assign(election=geo.election, dry_run=False)
    assert _active(geo.election).get(volunteer=general_only).role == "place"
    assert _active(geo.election).get(volunteer=table_only).role == "table"


def test_half_day_volunteers_may_take_substitute_slots(geo):
    geo.election.table_watchers_per_table = 2
    geo.election.save()
    v = VolunteerFactory(area=geo.north_town, availability=Availability.AFTERNOON, roles_accepted=RolesAccepted.TABLE)
    auto_assign(election=geo.election, dry_run=False)
    assert _active(geo.election).get(volunteer=v).slot == 1


def test_declined_or_already_assigned_people_are_left_alone(geo):
    busy = VolunteerFactory(area=geo.north_town)
    assignment_create(volunteer=busy, place=geo.south_place, table=geo.south_tables[0], role="table", source="web")
    said_no = VolunteerFactory(area=geo.north_town)
    first = assignment_create(
        volunteer=said_no, place=geo.north_place, table=geo.north_tables[0], role="table", source="web"
    )
    assignment_transition(assignment=first, to_status="declined", source="sms")
    # busy's proposal is locked so the engine may not move it either
    assignment_set_locked(assignment=_active(geo.election).get(volunteer=busy), locked=True, source="web")
    result = auto_assign(election=geo.election, dry_run=False)
    assert result.created == 0
    assert _active(geo.election).filter(volunteer=said_no).count() == 0


def test_never_across_districts(geo):
    # given: another district with a place but the only volunteer lives in Córdoba, no coordinates
    other = AreaFactory(election=geo.election, code="sf", name="Santa Fe", kind="distrito")
    town = AreaFactory(election=geo.election, parent=other, code="rosario", name="Rosario", kind="localidad")
    place = PollingPlaceFactory(election=geo.election, area=town, code="R-1")
    TableFactory(place=place, number=1)
    for p in (geo.north_place, geo.south_place):
        p.tables.all().delete()
    geo.north_place.delete()
    geo.south_place.delete()
    v = VolunteerFactory(area=geo.district)
    # when
    result = auto_assign(election=geo.election, dry_run=False)
    # then
    assert result.created == 0
    assert not _active(geo.election).filter(volunteer=v).exists()


def test_locked_and_confirmed_assignments_stay_fixed(geo):
    # given: two people who live next to the north school, held far away in the south
    locked = VolunteerFactory(area=geo.north_town, **NEAR_NORTH)
    confirmed = VolunteerFactory(area=geo.north_town, **NEAR_NORTH)
    a = assignment_create(
        volunteer=locked, place=geo.south_place, table=geo.south_tables[0], role="table", source="web", locked=True
    )
    b = assignment_create(
        volunteer=confirmed, place=geo.south_place, table=geo.south_tables[1], role="table", source="web"
    )
    assignment_transition(assignment=b, to_status="confirmed", source="sms")
    # when
    result = auto_assign(election=geo.election, dry_run=False)
    # then
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.place, a.table, a.status) == (geo.south_place, geo.south_tables[0], "proposed")
    assert (b.place, b.table, b.status) == (geo.south_place, geo.south_tables[1], "confirmed")
    assert (result.moved, result.cancelled, result.fixed) == (0, 0, 2)


def test_a_proposal_moves_only_when_it_is_worth_it_and_says_why(geo):
    # given: a proposal far away (south) for someone who lives by the north school
    v = VolunteerFactory(area=geo.north_town, roles_accepted=RolesAccepted.TABLE, **NEAR_NORTH)
    a = assignment_create(volunteer=v, place=geo.south_place, table=geo.south_tables[0], role="table", source="web")
    # when
    result = auto_assign(election=geo.election, dry_run=False)
    # then
    a.refresh_from_db()
    assert (a.place, a.status, result.moved) == (geo.north_place, "proposed", 1)
    move = a.events.get(kind=AssignmentEvent.Kind.MOVED)
    assert move.reason.startswith("le queda más cerca: a 1,5 km")


def test_rerun_moves_nobody(geo):
    # given: a first run over a mix of volunteers
    for i in range(5):
        VolunteerFactory(area=geo.north_town if i % 2 else geo.south_town)
    VolunteerFactory(area=geo.north_town, **NEAR_NORTH)
    auto_assign(election=geo.election, dry_run=False)
    before = set(_active(geo.election).values_list("id", "place_id", "table_id", "slot"))
    # when: nothing changed, and then a new volunteer who only ties with the current ones
    again = auto_assign(election=geo.election, dry_run=False)
    VolunteerFactory(area=geo.north_town)
    third = auto_assign(election=geo.election, dry_run=False)
    # then
    assert (again.created, again.moved, again.cancelled) == (0, 0, 0)
    assert (third.moved, third.cancelled) == (0, 0)
    assert before <= set(_active(geo.election).values_list("id", "place_id", "table_id", "slot"))


def test_a_proposal_whose_volunteer_became_ineligible_is_cancelled_with_the_reason(geo):
    v = VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    auto_assign(election=geo.election, dry_run=False)
    v.excluded = True
    v.save()
    result = auto_assign(election=geo.election, dry_run=False)
    a = Assignment.objects.get(volunteer=v)
    assert (a.status, result.cancelled) == ("cancelled", 1)
    assert "excluido" in a.events.get(kind="status").reason


def test_dry_run_writes_nothing_and_reports_before_and_after(geo):
    VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    VolunteerFactory(area=geo.south_town)
    result = auto_assign(election=geo.election, dry_run=True)
    assert not Assignment.objects.exists()
    assert (result.covered_before, result.covered_after, result.created) == (0, 2, 2)
    by_area = {a.code: (a.slots, a.before, a.after) for a in result.by_area}
    assert by_area == {"norte": (4, 0, 1), "sur": (4, 0, 1)}
    assert {c.volunteer for c in result.changes} and all(c.reason for c in result.changes)


def test_area_scope_only_touches_its_subtree(geo):
    VolunteerFactory(area=geo.north_town)
    VolunteerFactory(area=geo.south_town)
    result = auto_assign(election=geo.election, area=geo.north, dry_run=False)
    assert result.slots == 4
    assert set(_active(geo.election).values_list("place_id", flat=True)) == {geo.north_place.pk}


def test_apply_is_atomic_when_someone_assigns_by_hand_meanwhile(geo):
    # given: a plan for two volunteers
    first = VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    VolunteerFactory(area=geo.south_town, votes_at=geo.south_place)
    plan = plan_build(election=geo.election)
    # when: a coordinator assigns one of them before the plan is written
    assignment_create(volunteer=first, place=geo.south_place, table=geo.south_tables[2], role="table", source="web")
    with pytest.raises(ApplicationError) as err:
        plan_write(plan)
    # then: nothing of the plan was written
    assert "cambiaron" in str(err.value.message)
    assert Assignment.objects.count() == 1
    assert AssignmentEvent.objects.count() == 1


def test_apply_notifies_only_when_asked(geo):
    from backend.notices.models import Notice

    VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    auto_assign(election=geo.election, dry_run=False)
    assert not Notice.objects.exists()
    VolunteerFactory(area=geo.south_town, votes_at=geo.south_place)
    auto_assign(election=geo.election, dry_run=False, notify=True)
    assert Notice.objects.get().kind == "assignment"


def test_command_prints_a_spanish_summary_and_applies(geo):
    VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    out = StringIO()
    call_command("auto_assign", "--election", geo.election.slug, "--dry-run", stdout=out)
    text = out.getvalue()
    assert "Simulación (no se guardó nada)" in text
    assert "Cobertura después: 1 (12,5%)" in text
    assert "vota en este establecimiento" in text
    assert not Assignment.objects.exists()
    call_command("auto_assign", "--election", geo.election.slug, "--area", "norte", stdout=StringIO())
    assert Assignment.objects.filter(status=AssignmentStatus.PROPOSED).count() == 1


def test_command_refuses_unknown_election_and_area(geo):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No existe la elección"):
        call_command("auto_assign", "--election", "nope", stdout=StringIO())
    with pytest.raises(CommandError, match="No existe el área"):
        call_command("auto_assign", "--election", geo.election.slug, "--area", "nope", stdout=StringIO())
