"""API parity with the pages: confirm, check in, read and edit a volunteer; scoped like the console."""

import pytest
from rest_framework.test import APIClient

from backend.assignments.models import AssignmentStatus
from backend.assignments.services import assignment_create
from backend.volunteers.models import VolunteerEvent

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def mine(geo, north_volunteer):
    return assignment_create(
        volunteer=north_volunteer, place=geo.north_place, table=geo.north_tables[0], role="table", source="web"
    )


def test_a_volunteer_confirms_and_checks_in_their_own_assignment(north_volunteer, mine, election_day):
    client = _client(north_volunteer.user)
    confirmed = client.post(f"/api/assignments/{mine.pk}/confirm/")
    arrived = client.post(f"/api/assignments/{mine.pk}/check-in/")
    mine.refresh_from_db()
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "confirmed")
    assert arrived.status_code == 200 and mine.status == AssignmentStatus.CHECKED_IN


def test_nobody_else_answers_for_a_volunteer(south_volunteer, south_coordinator, mine):
    for user in (south_volunteer.user, south_coordinator):
        response = _client(user).post(f"/api/assignments/{mine.pk}/confirm/")
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    mine.refresh_from_db()
    assert mine.status == AssignmentStatus.PROPOSED


def test_a_coordinator_checks_in_a_watcher_of_their_area(north_coordinator, mine, election_day):
    response = _client(north_coordinator).post(f"/api/assignments/{mine.pk}/check-in/")
    assert response.status_code == 200 and response.json()["status"] == "checked_in"


def test_a_coordinator_reads_and_fixes_a_volunteer_in_scope(north_coordinator, north_volunteer):
    client = _client(north_coordinator)
    read = client.get(f"/api/volunteers/{north_volunteer.pk}/")
    fixed = client.patch(f"/api/volunteers/{north_volunteer.pk}/", {"phone": "0351 15 500-0039"}, format="json")
    assert read.status_code == 200 and read.json()["availability_label"] == "Todo el día"
    assert fixed.status_code == 200 and fixed.json()["phone"] == "+5493515000039"
    assert VolunteerEvent.objects.get(volunteer=north_volunteer).source == "api"


def test_a_bad_phone_gets_a_clear_error_in_spanish(north_coordinator, north_volunteer):
    response = _client(north_coordinator).patch(
        f"/api/volunteers/{north_volunteer.pk}/", {"phone": "15 500-0039"}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "phone_invalid"
    assert "característica" in response.json()["message"]


def test_volunteers_outside_the_scope_stay_hidden(north_coordinator, south_volunteer, north_volunteer):
    client = _client(north_coordinator)
    assert client.get(f"/api/volunteers/{south_volunteer.pk}/").status_code == 403
    assert client.patch(f"/api/volunteers/{south_volunteer.pk}/", {"notes": "x"}, format="json").status_code == 403
    assert [v["id"] for v in client.get("/api/volunteers/", {"q": "perez"}).json()] == []
    assert [v["id"] for v in client.get("/api/volunteers/", {"q": "garcia"}).json()] == [north_volunteer.pk]


def test_a_volunteer_reads_only_their_own_record_and_cannot_edit_it(north_volunteer, south_volunteer):
    client = _client(north_volunteer.user)
    assert client.get(f"/api/volunteers/{north_volunteer.pk}/").status_code == 200
    assert client.get(f"/api/volunteers/{south_volunteer.pk}/").status_code == 403
    assert client.patch(f"/api/volunteers/{north_volunteer.pk}/", {"notes": "x"}, format="json").status_code == 403


def test_the_new_endpoints_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", headers={"Accept": "application/json"}).content.decode()
    for path in (
        "/api/assignments/{id}/confirm/",
        "/api/assignments/{id}/check-in/",
        "/api/volunteers/",
        "/api/volunteers/{id}/",
    ):
        assert path in schema


def test_a_coordinator_replaces_a_watcher_who_did_not_arrive(north_coordinator, geo, mine):
    from backend.assignments.services import assignment_transition
    from tests.factories import VolunteerFactory

    assignment_transition(assignment=mine, to_status=AssignmentStatus.NOTIFIED, source="sms")
    stand_in = VolunteerFactory(area=geo.north_town)
    response = _client(north_coordinator).post(
        f"/api/assignments/{mine.pk}/replace/", {"volunteer": stand_in.pk}, format="json"
    )
    mine.refresh_from_db()
    assert response.status_code == 201 and response.json()["volunteer"] == stand_in.pk
    assert mine.status == AssignmentStatus.NO_SHOW and response.json()["replaces"] == mine.pk


def test_a_volunteer_cannot_replace_anyone(north_volunteer, mine, south_volunteer):
    response = _client(north_volunteer.user).post(
        f"/api/assignments/{mine.pk}/replace/", {"volunteer": south_volunteer.pk}, format="json"
    )
    assert response.status_code == 403
