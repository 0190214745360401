"""The table's timeline through the API: who may report, who may correct, what comes back, the schema."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from api.tables import TimelineOutputSerializer
from backend.assignments.models import AssignmentRole, AssignmentStatus, EventSource
from backend.assignments.services import assignment_create, assignment_transition
from backend.tableday.models import TableReport
from backend.tableday.selectors import table_report_list, table_status_get
from backend.tableday.services import table_report


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


def test_the_timeline_is_rendered_exactly_as_its_documented_serializer(api, geo, watching, north_coordinator):
    # given: reports by SMS (no actor), by a watcher with a name, a coordinator's correction with a note
    table = geo.north_tables[0]
    table_report(table=table, state="open", actor=None, channel=EventSource.SMS)
    watcher_user = watching.volunteer.user
    watcher_user.first_name, watcher_user.last_name = "María", "García"
    watcher_user.save()
    table_report(table=table, state="counted", actor=watcher_user, channel=EventSource.API)
    table_report(
        table=table, state="closed", actor=north_coordinator, channel=EventSource.API, correction=True, note="ojo"
    )
    api.force_authenticate(north_coordinator)
    # when
    read = api.get(_url(table)).json()
    written = api.post(_url(table), {"state": "watcher_left"}, format="json").json()

    # then: the same JSON the serializers (the schema's description) give for the same rows
    def documented(changed: bool) -> dict:
        status = table_status_get(table=table)
        return TimelineOutputSerializer(
            {
                "table": table.pk,
                "number": table.number,
                "state": status.state,
                "watcher_absent": status.watcher_absent,
                "changed": changed,
                "reports": list(table_report_list(table=table)),
            }
        ).data

    assert written == documented(changed=True)
    assert read == {**written, "changed": False, "watcher_absent": "", "reports": written["reports"][:3]}
    names = [r["actor_name"] for r in written["reports"]]
    assert names == ["", "María García", north_coordinator.username, north_coordinator.username]
    assert [r["state_label"] for r in written["reports"]][:2] == ["Abierta", "Escrutada"]


def test_a_report_for_a_table_that_does_not_exist_is_a_json_404(api, lead):
    api.force_authenticate(lead)
    response = api.post("/api/tables/987654/reports/", {"state": "open"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "No encontramos lo que buscás.", "detail": {}}


def test_a_watcher_whose_assignment_was_cancelled_can_no_longer_report(api, geo, watching, north_volunteer):
    # given
    assignment_transition(assignment=watching, to_status=AssignmentStatus.CANCELLED, source="admin")
    api.force_authenticate(north_volunteer.user)
    # when
    response = api.post(_url(geo.north_tables[0]), {"state": "open"}, format="json")
    # then
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not TableReport.objects.exists()


def test_a_report_with_a_bad_or_revoked_token_is_a_401_and_records_nothing(api, geo, watching, north_volunteer):
    # given: the watcher's token, then a typo in it, then the watcher's user switched off
    token = Token.objects.create(user=north_volunteer.user)
    url = _url(geo.north_tables[0])
    # when
    typo = api.post(url, {"state": "open"}, format="json", HTTP_AUTHORIZATION=f"Token {token.key[:-1]}x")
    north_volunteer.user.is_active = False
    north_volunteer.user.save()
    revoked = api.post(url, {"state": "open"}, format="json", HTTP_AUTHORIZATION=f"Token {token.key}")
    # then
    for response in (typo, revoked):
        assert response.status_code == 401
        assert response.json()["code"] == "authentication_failed"
        assert set(response.json()) == {"code", "message", "detail"}
    assert not TableReport.objects.exists()


def test_a_token_report_reads_the_token_the_table_and_the_timeline_once_each(api, geo, watching, north_volunteer):
    # given: the watcher's token and an earlier report (the timeline has rows to read)
    token = Token.objects.create(user=north_volunteer.user)
    url = _url(geo.north_tables[0])
    api.post(url, {"state": "open"}, format="json", HTTP_AUTHORIZATION=f"Token {token.key}")
    # when
    with CaptureQueriesContext(connection) as queries:
        response = api.post(url, {"state": "closed"}, format="json", HTTP_AUTHORIZATION=f"Token {token.key}")
    # then: the table, the watcher's duty there and the table's state in one read; the volunteer is not
    # read apart (the main FROM of each statement: subqueries come before it)
    assert response.status_code == 200 and response.json()["changed"] is True
    selects = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    first_tables = [sql.rsplit(" FROM ", 1)[1].split()[0].strip('"') for sql in selects]
    if connection.vendor == "postgresql":  # the read decides; the one write statement takes the table's lock
        assert first_tables == ["authtoken_token", "elections_table", "tableday_tablereport"]
        writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("WITH")]
        assert len(writes) == 1 and "FOR UPDATE" in writes[0]
        assert not any("FOR UPDATE" in sql for sql in selects)
    else:  # SQLite decides on the state read again inside its write transaction
        assert first_tables == ["authtoken_token", "elections_table", "elections_table", "tableday_tablereport"]
