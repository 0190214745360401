"""Coverage selectors (per area rolled up, per place, per table) and ranked candidates for a slot."""

from backend.assignments.selectors import (
    candidates_for_slot,
    coverage_by_area,
    coverage_by_place,
    coverage_by_table,
)
from backend.assignments.services import assignment_check_in, assignment_confirm, assignment_create
from backend.volunteers.models import RolesAccepted

from ..factories import VolunteerFactory


def _assign(volunteer, place, table=None):
    role = "table" if table else "place"
    return assignment_create(volunteer=volunteer, place=place, table=table, role=role, source="web", notify=False)


def _coverage_fixture(geo):
    a = _assign(VolunteerFactory(area=geo.north_town), geo.north_place, geo.north_tables[0])
    b = _assign(VolunteerFactory(area=geo.north_town), geo.north_place, geo.north_tables[1])
    c = _assign(VolunteerFactory(area=geo.north_town), geo.north_place)
    _assign(VolunteerFactory(area=geo.south_town), geo.south_place, geo.south_tables[0])
    assignment_confirm(assignment=a, source="sms")
    assignment_confirm(assignment=b, source="sms")
    assignment_check_in(assignment=b, source="sms")
    return a, b, c


def test_coverage_rolls_up_the_area_tree(geo, lead, election_day):
    # given: north 3 of 4 slots (one confirmed, one checked in), south 1 of 4
    _coverage_fixture(geo)
    # when
    nodes = {n["code"]: n for n in coverage_by_area(user=lead, election=geo.election)}
    # then
    pick = ("places", "tables", "slots", "assigned", "confirmed", "checked_in", "state")
    assert [nodes["cba"][k] for k in pick] == [2, 6, 8, 4, 2, 1, "partial"]
    assert [nodes["norte"][k] for k in pick] == [1, 3, 4, 3, 2, 1, "partial"]
    assert [nodes["rio-cuarto"][k] for k in pick] == [1, 3, 4, 1, 0, 0, "partial"]
    assert nodes["cba"]["state_label"] == "incompleto"
    assert [n["depth"] for n in coverage_by_area(user=lead, election=geo.election)] == [0, 1, 2, 1, 2]


def test_a_coordinator_sees_only_their_subtree(geo, north_coordinator, election_day):
    _coverage_fixture(geo)
    nodes = coverage_by_area(user=north_coordinator, election=geo.election)
    assert [n["code"] for n in nodes] == ["norte", "jesus-maria"]
    assert nodes[0]["assigned"] == 3
    assert [p["code"] for p in coverage_by_place(user=north_coordinator, election=geo.election)] == ["N-1"]


def test_coverage_by_place_and_by_table(geo, lead, election_day):
    _a, _b, c = _coverage_fixture(geo)
    places = {p["code"]: p for p in coverage_by_place(user=lead, election=geo.election)}
    assert (places["N-1"]["slots"], places["N-1"]["assigned"], places["S-1"]["state"]) == (4, 3, "partial")
    detail = coverage_by_table(user=lead, place=geo.north_place)
    assert detail["general"][0]["assignment"]["assignment_id"] == c.pk
    rows = {t["number"]: t for t in detail["tables"]}
    assert (rows[1]["state"], rows[2]["checked_in"], rows[3]["state"]) == ("complete", 1, "empty")
    assert rows[2]["slots"][0]["assignment"]["status"] == "checked_in"


def test_empty_and_complete_states(geo, lead):
    for t in geo.north_tables:
        _assign(VolunteerFactory(area=geo.north_town), geo.north_place, t)
    _assign(VolunteerFactory(area=geo.north_town), geo.north_place)
    nodes = {n["code"]: n["state"] for n in coverage_by_area(user=lead, election=geo.election)}
    assert (nodes["norte"], nodes["sur"], nodes["cba"]) == ("complete", "empty", "partial")


def test_candidates_are_ranked_by_cost_with_reasons(geo):
    # given
    voter = VolunteerFactory(area=geo.south_town, votes_at=geo.north_place, first_name="Vota", last_name="Aquí")
    near = VolunteerFactory(area=geo.north_town, latitude=-30.99, longitude=-64.10)
    local = VolunteerFactory(area=geo.north_town)
    far = VolunteerFactory(area=geo.south_town)
    VolunteerFactory(area=geo.north_town, excluded=True)
    VolunteerFactory(area=geo.north_town, roles_accepted=RolesAccepted.PLACE)
    _assign(VolunteerFactory(area=geo.north_town), geo.south_place, geo.south_tables[0])
    # when
    found = candidates_for_slot(place=geo.north_place, role="table", table=geo.north_tables[0])
    # then
    assert [c.volunteer_id for c in found] == [voter.pk, near.pk, local.pk, far.pk]
    assert [c.reason for c in found] == [
        "vota en este establecimiento",
        "a 1,5 km",
        "misma localidad",
        "mismo distrito",
    ]
    assert found[0].name == "Vota Aquí"


def test_candidates_are_scoped_to_what_the_user_may_see(geo, north_coordinator):
    north = VolunteerFactory(area=geo.north_town)
    VolunteerFactory(area=geo.south_town)
    found = candidates_for_slot(place=geo.north_place, role="place", user=north_coordinator)
    assert [c.volunteer_id for c in found] == [north.pk]
