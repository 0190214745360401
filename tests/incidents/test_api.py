"""Incidents through the API (scoped by the permission module) and live on the coordinators' board."""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing.websocket import WebsocketCommunicator
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from api.incidents import IncidentOutputSerializer
from backend.assignments.models import AssignmentStatus
from backend.assignments.services import assignment_transition
from backend.console.routing import websocket_urlpatterns
from backend.incidents.models import Incident


def _as(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_a_watcher_reports_from_the_web_with_a_category(geo, watcher):
    response = _as(watcher.user).post(
        "/api/incidents/",
        {"place": geo.north_place.pk, "table": geo.north_tables[0].pk, "text": "no abrió", "category": "late_opening"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["category_code"], body["status"], body["table_number"], body["channel"]) == (
        "late_opening",
        "open",
        1,
        "api",
    )
    assert body["events"][0]["kind"] == "created"


def test_a_watcher_cannot_report_for_another_school(geo, watcher):
    response = _as(watcher.user).post("/api/incidents/", {"place": geo.south_place.pk, "text": "x"}, format="json")
    assert response.status_code == 403
    assert not Incident.objects.exists()


def test_an_unknown_category_gets_a_clear_error(geo, watcher):
    response = _as(watcher.user).post(
        "/api/incidents/", {"place": geo.north_place.pk, "text": "x", "category": "lluvia"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "incident_wrong_category"
    assert "lluvia" in response.json()["message"]


def test_coordinators_see_and_take_only_their_areas_incidents(geo, watcher, north_coordinator, south_coordinator):
    # given
    _as(watcher.user).post("/api/incidents/", {"place": geo.north_place.pk, "text": "faltan boletas"}, format="json")
    incident = Incident.objects.get()
    # then
    assert [i["id"] for i in _as(north_coordinator).get("/api/incidents/?status=open").json()] == [incident.pk]
    assert _as(south_coordinator).get("/api/incidents/").json() == []
    assert _as(south_coordinator).post(f"/api/incidents/{incident.pk}/take/").status_code == 403
    assert _as(watcher.user).post(f"/api/incidents/{incident.pk}/take/").status_code == 403
    # when
    taken = _as(north_coordinator).post(f"/api/incidents/{incident.pk}/take/")
    noted = _as(north_coordinator).post(f"/api/incidents/{incident.pk}/notes/", {"text": "voy"}, format="json")
    resolved = _as(north_coordinator).post(f"/api/incidents/{incident.pk}/resolve/", {"note": "listo"}, format="json")
    # then
    assert (taken.json()["status"], taken.json()["owner"]) == ("in_progress", north_coordinator.pk)
    assert noted.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert [e["kind"] for e in resolved.json()["events"]] == ["created", "taken", "note", "status"]


def test_an_unknown_status_filter_gets_a_clear_error(geo, north_coordinator):
    response = _as(north_coordinator).get("/api/incidents/?status=cerrado")
    assert response.status_code == 400
    assert "cerrado" in response.json()["message"]


def test_the_incident_endpoints_are_in_the_schema(lead):
    paths = _as(lead).get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert {"/api/incidents/", "/api/incidents/{id}/take/", "/api/incidents/{id}/resolve/"} <= set(paths)


@pytest.mark.django_db(transaction=True)
def test_the_areas_board_sees_a_new_incident_and_its_taking_live(geo, watcher, north_coordinator):
    def report():
        _as(watcher.user).post(
            "/api/incidents/", {"place": geo.north_place.pk, "text": "faltan boletas"}, format="json"
        )

    def take():
        incident = Incident.objects.get()
        _as(north_coordinator).post(f"/api/incidents/{incident.pk}/take/")

    async def scenario():
        communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/board/{geo.election.pk}/")
        communicator.scope["user"] = north_coordinator
        connected, _ = await communicator.connect()
        await database_sync_to_async(report)()
        created = await communicator.receive_json_from(timeout=5)
        await database_sync_to_async(take)()
        taken = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return connected, created, taken

    connected, created, taken = async_to_sync(scenario)()
    assert connected
    assert (created["type"], created["change"], created["category"], created["severity"]) == (
        "incident",
        "created",
        "ballot_shortage",
        "high",
    )
    assert (taken["change"], taken["status"], taken["incident_id"]) == ("taken", "in_progress", created["incident_id"])


def test_a_reported_incident_is_answered_as_the_stored_row_reads(geo, watcher):
    # when: a high-severity report (the coordinators are alerted in the same transaction)
    response = _as(watcher.user).post(
        "/api/incidents/",
        {
            "place": geo.north_place.pk,
            "table": geo.north_tables[0].pk,
            "text": "  robo de boletas ",
            "severity": "high",
        },
        format="json",
    )
    # then: the answer, built from what the service returned, is what reading the row back gives
    assert response.status_code == 201, response.content
    stored = Incident.objects.select_related("place", "table", "category").get(pk=response.json()["id"])
    assert response.json() == json.loads(JSONRenderer().render(IncidentOutputSerializer(stored).data))
    assert (response.json()["text"], response.json()["severity"]) == ("robo de boletas", "high")


def test_who_may_report_an_incident_at_a_place(geo, watcher, north_coordinator, south_coordinator):
    # given: the watcher's assignment at the north school, then cancelled
    url, body = "/api/incidents/", {"place": geo.north_place.pk, "text": "falta luz"}
    # then
    assert _as(north_coordinator).post(url, body, format="json").status_code == 201
    assert _as(south_coordinator).post(url, body, format="json").status_code == 403
    assert _as(watcher.user).post(url, body, format="json").status_code == 201
    for assignment in watcher.assignments.all():
        assignment_transition(assignment=assignment, to_status=AssignmentStatus.CANCELLED, source="admin")
    refused = _as(watcher.user).post(url, body, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert Incident.objects.count() == 2


def test_an_unknown_place_or_table_is_a_json_404(geo, lead):
    unknown_place = _as(lead).post("/api/incidents/", {"place": 987654, "text": "x"}, format="json")
    unknown_table = _as(lead).post(
        "/api/incidents/", {"place": geo.north_place.pk, "table": 987654, "text": "x"}, format="json"
    )
    for response in (unknown_place, unknown_table):
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "message": "No encontramos lo que buscás.", "detail": {}}
    assert not Incident.objects.exists()
