"""Model invariants the database itself enforces."""

import pytest
from django.db import IntegrityError, transaction

from backend.assignments.models import Assignment, AssignmentRole, AssignmentStatus
from backend.assignments.services import assignment_create, assignment_transition
from backend.core.exceptions import ApplicationError

from .factories import VolunteerFactory


def test_area_paths_make_subtrees_prefix_queries(geo):
    assert geo.north_town.path == "/cba/norte/jesus-maria/"
    assert geo.north_town.depth == 2


def test_one_active_assignment_per_volunteer_is_a_database_constraint(geo, north_volunteer):
    # given
    Assignment.objects.create(
        election=geo.election,
        volunteer=north_volunteer,
        place=geo.north_place,
        table=geo.north_tables[0],
        role=AssignmentRole.TABLE,
    )
    # when / then: a second active row is refused by the database, not by Python
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(
            election=geo.election,
            volunteer=north_volunteer,
            place=geo.north_place,
            table=geo.north_tables[1],
            role=AssignmentRole.TABLE,
        )


def test_one_active_watcher_per_table_slot_is_a_database_constraint(geo):
    a, b = VolunteerFactory(), VolunteerFactory()
    Assignment.objects.create(
        election=geo.election, volunteer=a, place=geo.north_place, table=geo.north_tables[0], role="table"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(
            election=geo.election, volunteer=b, place=geo.north_place, table=geo.north_tables[0], role="table"
        )


def test_declined_assignment_frees_the_table(geo):
    a, b = VolunteerFactory(), VolunteerFactory()
    first = assignment_create(volunteer=a, place=geo.north_place, table=geo.north_tables[0], role="table", source="web")
    assignment_transition(assignment=first, to_status=AssignmentStatus.DECLINED, source="sms")
    second = assignment_create(
        volunteer=b, place=geo.north_place, table=geo.north_tables[0], role="table", source="web"
    )
    assert second.status == AssignmentStatus.PROPOSED
    assert [e.to_status for e in first.events.all()] == ["proposed", "declined"]


def test_service_turns_a_taken_slot_into_an_application_error(geo):
    a, b = VolunteerFactory(), VolunteerFactory()
    assignment_create(volunteer=a, place=geo.north_place, table=geo.north_tables[0], role="table", source="web")
    with pytest.raises(ApplicationError) as err:
        assignment_create(volunteer=b, place=geo.north_place, table=geo.north_tables[0], role="table", source="web")
    assert err.value.code == "no_free_slot"
