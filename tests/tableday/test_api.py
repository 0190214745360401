"""The table's timeline through the API: who may report, who may correct, what comes back, the schema."""

import pytest
from rest_framework.test import APIClient

from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_create
from backend.tableday.models import TableReport


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def watching(geo, north_volunteer):
    return assignment_create(
        volunteer=north_volunteer,
        place=geo.north_place,
        table=geo.north_tables[0],
        role=AssignmentRole.TABLE,
        source="admin",
        notify=False,
    )


def _url(table) -> str:
    return f"/api/tables/{table.pk}/reports/"


def test_the_watcher_reports_their_table_and_gets_the_timeline(api, geo, watching, north_volunteer):
    # given
    api.force_authenticate(north_volunteer.user)
    # when
    response = api.post(_url(geo.north_tables[0]), {"state": "open"}, format="json")
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["changed"], body["number"]) == ("open", True, 1)
    assert [(r["state"], r["channel"], r["actor"]) for r in body["reports"]] == [
        ("open", "api", north_volunteer.user.pk)
    ]


def test_a_repeated_post_is_accepted_and_says_nothing_changed(api, geo, watching, north_volunteer):
    api.force_authenticate(north_volunteer.user)
    api.post(_url(geo.north_tables[0]), {"state": "closed"}, format="json")
    response = api.post(_url(geo.north_tables[0]), {"state": "open"}, format="json")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["changed"]) == ("closed", False)
    assert TableReport.objects.count() == 1


def test_a_watcher_cannot_report_another_table_of_the_school(api, geo, watching, north_volunteer):
    api.force_authenticate(north_volunteer.user)
    response = api.post(_url(geo.north_tables[1]), {"state": "open"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not TableReport.objects.exists()


def test_the_fiscal_general_reports_any_table_of_the_school_and_none_of_another(api, geo, north_volunteer):
    # given: the north place's fiscal general
    assignment_create(
        volunteer=north_volunteer, place=geo.north_place, role=AssignmentRole.PLACE, source="admin", notify=False
    )
    api.force_authenticate(north_volunteer.user)
    # when
    own_school = api.post(_url(geo.north_tables[1]), {"state": "open"}, format="json")
    other_school = api.post(_url(geo.south_tables[0]), {"state": "open"}, format="json")
    # then
    assert own_school.status_code == 200 and own_school.json()["state"] == "open"
    assert other_school.status_code == 403
    assert list(TableReport.objects.values_list("table_id", flat=True)) == [geo.north_tables[1].pk]


def test_a_watcher_cannot_correct(api, geo, watching, north_volunteer):
    api.force_authenticate(north_volunteer.user)
    response = api.post(
        _url(geo.north_tables[0]), {"state": "open", "correction": True, "note": "me equivoqué"}, format="json"
    )
    assert response.status_code == 403
    assert not TableReport.objects.exists()


def test_a_coordinator_corrects_a_table_in_scope_with_a_reason(api, geo, north_coordinator):
    # given
    api.force_authenticate(north_coordinator)
    api.post(_url(geo.north_tables[0]), {"state": "counted"}, format="json")
    # when
    response = api.post(
        _url(geo.north_tables[0]), {"state": "closed", "correction": True, "note": "falta escrutar"}, format="json"
    )
    # then
    assert response.status_code == 200
    last = response.json()["reports"][-1]
    assert (response.json()["state"], last["correction"], last["note"]) == ("closed", True, "falta escrutar")


def test_a_correction_without_a_reason_gets_a_clear_spanish_error(api, geo, north_coordinator):
    api.force_authenticate(north_coordinator)
    response = api.post(_url(geo.north_tables[0]), {"state": "open", "correction": True}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "correction_needs_reason"
    assert "motivo" in response.json()["message"]


def test_a_coordinator_outside_the_scope_can_neither_see_nor_report(api, geo, south_coordinator):
    api.force_authenticate(south_coordinator)
    assert api.get(_url(geo.north_tables[0])).status_code == 403
    assert api.post(_url(geo.north_tables[0]), {"state": "open"}, format="json").status_code == 403
    assert not TableReport.objects.exists()


def test_an_unknown_state_is_a_field_error(api, geo, north_coordinator):
    api.force_authenticate(north_coordinator)
    response = api.post(_url(geo.north_tables[0]), {"state": "abierta"}, format="json")
    assert response.status_code == 400
    assert not TableReport.objects.exists()


def test_the_timeline_endpoints_are_in_the_schema(api, lead):
    api.force_authenticate(lead)
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = schema["paths"]["/api/tables/{id}/reports/"]
    assert {operations["get"]["operationId"], operations["post"]["operationId"]} == {"tables_timeline", "tables_report"}
