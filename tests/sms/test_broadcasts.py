"""Broadcasts through the API: preview within scope, approval over the threshold, send, live counts."""

import re

import pytest
from rest_framework.test import APIClient

from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_create
from sms.models import Broadcast, OutboundMessage

from ..factories import VolunteerFactory

pytestmark = pytest.mark.django_db

BODY = "Hola {nombre}: capacitacion en {escuela} ({direccion}), mesa {mesa}. Info: {link}"


@pytest.fixture
def staffed(geo, north_volunteer, south_volunteer):
    """Two table watchers in the north, one in the south, one unassigned northerner."""
    assignment_create(
        volunteer=north_volunteer, place=geo.north_place, table=geo.north_tables[0], role="table", source="admin"
    )
    second = VolunteerFactory(first_name="Lucas", area=geo.north_town)
    assignment_create(volunteer=second, place=geo.north_place, table=geo.north_tables[1], role="table", source="admin")
    assignment_create(
        volunteer=south_volunteer, place=geo.south_place, table=geo.south_tables[0], role="table", source="admin"
    )
    VolunteerFactory(first_name="Sin", area=geo.north_town)
    return geo


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_preview_counts_only_the_coordinators_scope(staffed, north_coordinator, settings):
    # given
    settings.SMS_COST_PER_SEGMENT = "0.05"
    settings.SMS_RATE_PER_SECOND = 1
    # when: the whole election, then only assigned table watchers
    everyone = _api(north_coordinator).post(
        "/api/sms/broadcasts/preview/", {"election": staffed.election.pk, "body": BODY}, format="json"
    )
    watchers = _api(north_coordinator).post(
        "/api/sms/broadcasts/preview/",
        {"election": staffed.election.pk, "body": BODY, "segment": {"roles": ["table"]}},
        format="json",
    )
    # then: the south is invisible to the north's coordinator
    assert everyone.status_code == 200, everyone.content
    assert everyone.json()["recipients"] == 3
    data = watchers.json()
    assert data["recipients"] == 2
    assert data["segments_per_message"] == 1 and data["encoding"] == "GSM-7"
    assert data["estimated_cost"] == "0.1000"
    assert data["estimated_seconds"] == 2
    assert "Escuela Norte" in data["sample"] and "mesa 1" in data["sample"] and "127.0.0.1:8000/" in data["sample"]


def test_preview_warns_when_the_send_would_outlast_twilios_queue(staffed, lead, settings):
    settings.SMS_RATE_PER_SECOND = 0.001  # 4 recipients: 4,000 s
    settings.SMS_QUEUE_MAX_HOURS = 1
    data = (
        _api(lead)
        .post("/api/sms/broadcasts/preview/", {"election": staffed.election.pk, "body": "Hola {nombre}"}, format="json")
        .json()
    )
    assert any("cola" in w for w in data["warnings"]), data


def test_preview_counts_ucs2_segments_without_transliteration(staffed, lead):
    body = "Atención: mañana a las 7 en punto. Traé el DNI y la lapicera azul."
    data = (
        _api(lead)
        .post(
            "/api/sms/broadcasts/preview/",
            {"election": staffed.election.pk, "body": body, "transliterate": False},
            format="json",
        )
        .json()
    )
    assert data["encoding"] == "UCS-2" and data["segments_per_message"] == 1
    translit = (
        _api(lead)
        .post("/api/sms/broadcasts/preview/", {"election": staffed.election.pk, "body": body * 2}, format="json")
        .json()
    )
    assert translit["encoding"] == "GSM-7" and translit["segments_per_message"] == 1


def test_unknown_variable_is_a_clear_error(staffed, lead):
    response = _api(lead).post(
        "/api/sms/broadcasts/preview/", {"election": staffed.election.pk, "body": "Hola {apellido}"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_variable" and "{apellido}" in response.json()["message"]


def test_volunteers_cannot_broadcast(staffed, north_volunteer):
    response = _api(north_volunteer.user).post(
        "/api/sms/broadcasts/preview/", {"election": staffed.election.pk, "body": "x"}, format="json"
    )
    assert response.status_code == 403


def test_create_send_and_live_counts(staffed, north_coordinator, django_capture_on_commit_callbacks, settings):
    # given
    settings.SMS_BACKEND = "local"
    api = _api(north_coordinator)
    created = api.post(
        "/api/sms/broadcasts/",
        {"election": staffed.election.pk, "body": BODY, "segment": {"areas": [staffed.north.pk]}},
        format="json",
    )
    assert created.status_code == 201, created.content
    broadcast_id = created.json()["id"]
    # when
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"/api/sms/broadcasts/{broadcast_id}/send/")
    # then: everyone in the north area got their own text, delivered by the local backend
    assert sent.status_code == 202, sent.content
    messages = OutboundMessage.objects.filter(broadcast_id=broadcast_id)
    assert messages.count() == 3
    lucas = messages.get(volunteer__first_name="Lucas")
    assert "Lucas" in lucas.body and "mesa 2" in lucas.body and re.search(r"/[0-9A-Za-z]{22}\b", lucas.body)
    status = api.get(f"/api/sms/broadcasts/{broadcast_id}/").json()
    assert status["counts"]["delivered"] == 3 and status["counts"]["total"] == 3
    # and a second send is refused
    again = api.post(f"/api/sms/broadcasts/{broadcast_id}/send/")
    assert again.status_code == 400 and again.json()["code"] == "already_sent"


def test_large_broadcast_needs_a_leads_approval(staffed, north_coordinator, lead, settings):
    # given
    settings.SMS_BROADCAST_APPROVAL_THRESHOLD = 1
    api = _api(north_coordinator)
    broadcast_id = api.post(
        "/api/sms/broadcasts/", {"election": staffed.election.pk, "body": "Hola {nombre}"}, format="json"
    ).json()["id"]
    assert Broadcast.objects.get(pk=broadcast_id).status == "pending_approval"
    # when: the coordinator tries to send, and to approve
    refused = api.post(f"/api/sms/broadcasts/{broadcast_id}/send/")
    self_approved = api.post(f"/api/sms/broadcasts/{broadcast_id}/approve/")
    # then
    assert refused.json()["code"] == "needs_approval"
    assert self_approved.status_code == 403
    assert OutboundMessage.objects.filter(broadcast_id=broadcast_id).count() == 0
    # when a lead approves
    assert _api(lead).post(f"/api/sms/broadcasts/{broadcast_id}/approve/").status_code == 200
    assert api.post(f"/api/sms/broadcasts/{broadcast_id}/send/").status_code == 202
    assert OutboundMessage.objects.filter(broadcast_id=broadcast_id).count() == 3


def test_other_coordinators_cannot_see_a_broadcast(staffed, north_coordinator, south_coordinator):
    broadcast_id = (
        _api(north_coordinator)
        .post("/api/sms/broadcasts/", {"election": staffed.election.pk, "body": "Hola"}, format="json")
        .json()["id"]
    )
    assert _api(south_coordinator).get(f"/api/sms/broadcasts/{broadcast_id}/").status_code == 403
    assert _api(south_coordinator).post(f"/api/sms/broadcasts/{broadcast_id}/send/").status_code == 403


def test_role_segment_values_are_validated(staffed, lead):
    response = _api(lead).post(
        "/api/sms/broadcasts/preview/",
        {"election": staffed.election.pk, "body": "Hola", "segment": {"roles": ["capitan"]}},
        format="json",
    )
    assert response.status_code == 400 and "capitan" in response.json()["message"]


def test_place_watchers_segment(staffed, lead):
    watcher = VolunteerFactory(first_name="Gral")
    assignment_create(volunteer=watcher, place=staffed.south_place, role=AssignmentRole.PLACE, source="admin")
    data = (
        _api(lead)
        .post(
            "/api/sms/broadcasts/preview/",
            {"election": staffed.election.pk, "body": "Hola {nombre}", "segment": {"roles": ["place"]}},
            format="json",
        )
        .json()
    )
    assert data["recipients"] == 1 and "Gral" in data["sample"]
