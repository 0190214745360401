"""Invariants the database enforces by itself (SQLite and PostgreSQL alike), bypassing the services."""

import pytest
from django.db import IntegrityError, transaction

from backend.assignments.models import Assignment, AssignmentStatus
from backend.elections.models import Area, Table
from backend.volunteers.models import Volunteer
from tests.factories import AreaFactory, PollingPlaceFactory, VolunteerFactory


def _refused(create) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_area_path_is_unique_within_an_election(geo):
    _refused(lambda: Area.objects.create(election=geo.election, parent=geo.district, kind="x", code="norte", name="X"))
    # the same path in another election is fine
    other = AreaFactory(code="cba")
    assert other.path == geo.district.path


def test_area_code_is_not_empty_and_depth_matches_parent(geo):
    _refused(lambda: Area.objects.create(election=geo.election, parent=geo.district, kind="x", code="", name="X"))
    _refused(
        lambda: Area.objects.bulk_create(
            [Area(election=geo.election, parent=None, kind="x", code="raiz", name="X", path="/raiz/", depth=2)]
        )
    )


def test_table_number_is_unique_in_its_district(geo):
    _refused(
        lambda: Table.objects.create(election=geo.election, place=geo.south_place, district=geo.district, number=1)
    )
    _refused(
        lambda: Table.objects.create(election=geo.election, place=geo.north_place, district=geo.district, number=0)
    )


def test_the_same_table_number_may_repeat_in_another_district(geo):
    other_district = AreaFactory(election=geo.election, code="sfe", name="Santa Fe")
    place = PollingPlaceFactory(election=geo.election, area=other_district)
    Table.objects.create(election=geo.election, place=place, district=other_district, number=1)


def _assignment(geo, volunteer, *, table=None, role="table", slot=0, status=AssignmentStatus.PROPOSED, place=None):
    place = place or geo.north_place
    return Assignment.objects.create(
        election=geo.election, volunteer=volunteer, place=place, table=table, role=role, slot=slot, status=status
    )


def test_one_active_assignment_per_volunteer_per_election(geo):
    person = VolunteerFactory()
    _assignment(geo, person, table=geo.north_tables[0])
    _refused(lambda: _assignment(geo, person, table=geo.north_tables[1]))
    _refused(lambda: _assignment(geo, person, role="place", place=geo.south_place))


def test_inactive_assignments_do_not_hold_the_volunteer(geo):
    person = VolunteerFactory()
    for status in (AssignmentStatus.DECLINED, AssignmentStatus.CANCELLED, AssignmentStatus.NO_SHOW):
        _assignment(geo, person, table=geo.north_tables[0], status=status)
    _assignment(geo, person, table=geo.north_tables[0])
    assert Assignment.objects.filter(volunteer=person).count() == 4


def test_one_active_watcher_per_table_slot(geo):
    a, b = VolunteerFactory(), VolunteerFactory()
    _assignment(geo, a, table=geo.north_tables[0])
    _refused(lambda: _assignment(geo, b, table=geo.north_tables[0]))
    _assignment(geo, b, table=geo.north_tables[0], slot=1)  # a substitute slot is another slot


def test_one_active_watcher_per_place_slot(geo):
    a, b = VolunteerFactory(), VolunteerFactory()
    _assignment(geo, a, role="place")
    _refused(lambda: _assignment(geo, b, role="place"))


def test_a_table_watcher_has_a_table_and_a_place_watcher_has_none(geo):
    a = VolunteerFactory()
    _refused(lambda: _assignment(geo, a, role="table", table=None))
    _refused(lambda: _assignment(geo, a, role="place", table=geo.north_tables[0]))
    _refused(lambda: _assignment(geo, a, role="boss", table=geo.north_tables[0]))


def test_assignment_status_must_be_a_known_one(geo):
    _refused(lambda: _assignment(geo, VolunteerFactory(), table=geo.north_tables[0], status="lost"))


@pytest.mark.parametrize("dni", ["1234567", "12345678"])
def test_dni_accepts_seven_or_eight_digits(db, dni):
    Volunteer.objects.create(dni=dni, first_name="A", last_name="B")


@pytest.mark.parametrize("dni", ["123456", "1.234.56", "1234567A", ""])
def test_dni_refuses_anything_else(db, dni):
    _refused(lambda: Volunteer.objects.create(dni=dni, first_name="A", last_name="B"))


def test_dni_and_phone_are_unique(db):
    Volunteer.objects.create(dni="30111222", first_name="A", last_name="B", phone="+5493515550000")
    _refused(lambda: Volunteer.objects.create(dni="30111222", first_name="C", last_name="D"))
    _refused(lambda: Volunteer.objects.create(dni="30111223", first_name="C", last_name="D", phone="+5493515550000"))


@pytest.mark.parametrize("phone", ["3515550000", "+0351555", "+54 9 351 555", "+54935155500001234", "+54abc"])
def test_phone_must_be_e164(db, phone):
    _refused(lambda: Volunteer.objects.create(dni="30111222", first_name="A", last_name="B", phone=phone))


def test_many_volunteers_may_have_no_phone(db):
    Volunteer.objects.create(dni="30111222", first_name="A", last_name="B", phone=None)
    Volunteer.objects.create(dni="30111223", first_name="C", last_name="D", phone=None)


def test_place_coordinates_are_in_range(geo):
    _refused(lambda: PollingPlaceFactory(election=geo.election, area=geo.north_town, latitude=-95, longitude=-64))
    _refused(lambda: PollingPlaceFactory(election=geo.election, area=geo.north_town, latitude=-31, longitude=190))


def test_place_coordinates_come_both_or_neither(geo):
    # A NULL makes a CHECK unknown, which databases let pass: the constraint must name both columns.
    _refused(lambda: PollingPlaceFactory(election=geo.election, area=geo.north_town, latitude=-31.4, longitude=None))
    _refused(lambda: PollingPlaceFactory(election=geo.election, area=geo.north_town, latitude=None, longitude=-64.2))
    PollingPlaceFactory(election=geo.election, area=geo.north_town, latitude=None, longitude=None)
