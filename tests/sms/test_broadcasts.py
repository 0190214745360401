"""Broadcasts through the API: audience fixed at creation, approval, send by a task, lifecycle, placeholders."""

import re

import pytest
from rest_framework.test import APIClient

from backend.assignments.models import Assignment, AssignmentRole
from backend.assignments.services import assignment_create, assignment_unassign
from backend.messaging.broadcasts import broadcast_create
from backend.messaging.models import Broadcast, BroadcastStatus, OutboundMessage
from backend.permissions import Action, can, visible
from backend.volunteers.models import Volunteer
from sms.services import outbound_send
from sms.tasks import broadcasts_finish, drain_outbound, queue_broadcast

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
    settings.SMS_COST_PER_SEGMENT = "0.05"  # one long code (TWILIO_FROM): 1 segment per second
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
    settings.SMS_QUEUE_MAX_HOURS = 0.001  # 3.6 s; one long code sends the 4 recipients' segments in 4 s
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
    # given: the north's assigned watchers (the unassigned northerner has no {escuela} to fill)
    settings.SMS_BACKEND = "local"
    api = _api(north_coordinator)
    created = api.post(
        "/api/sms/broadcasts/",
        {
            "election": staffed.election.pk,
            "body": BODY,
            "segment": {"areas": [staffed.north.pk], "complete_only": True},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    broadcast_id = created.json()["id"]
    # when
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"/api/sms/broadcasts/{broadcast_id}/send/")
    # then: each got their own text, delivered by the local backend, and the broadcast is done
    assert sent.status_code == 202, sent.content
    messages = OutboundMessage.objects.filter(broadcast_id=broadcast_id)
    assert messages.count() == 2
    lucas = messages.get(volunteer__first_name="Lucas")
    assert "Lucas" in lucas.body and "mesa 2" in lucas.body and re.search(r"/[0-9A-Za-z]{22}\b", lucas.body)
    status = api.get(f"/api/sms/broadcasts/{broadcast_id}/").json()
    assert status["counts"]["delivered"] == 2 and status["counts"]["total"] == 2
    assert status["status"] == "done" and status["finished_at"] is not None
    # and a second send is refused
    again = api.post(f"/api/sms/broadcasts/{broadcast_id}/send/")
    assert again.status_code == 400 and again.json()["code"] == "already_sent"


def test_large_broadcast_needs_a_leads_approval(
    staffed, north_coordinator, lead, settings, django_capture_on_commit_callbacks
):
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
    with django_capture_on_commit_callbacks(execute=True):
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


# --- The audience is the creator's, fixed at creation ---------------------------------------------


def test_a_lead_sending_a_coordinators_broadcast_reaches_the_audience_it_was_written_for(
    staffed, north_coordinator, lead, settings, django_capture_on_commit_callbacks
):
    # given: the north's coordinator writes to their whole scope (3 people); it needs a lead
    settings.SMS_BROADCAST_APPROVAL_THRESHOLD = 1
    settings.SMS_COST_PER_SEGMENT = "12.50"
    settings.SMS_CURRENCY = "ARS"
    created = _api(north_coordinator).post(
        "/api/sms/broadcasts/", {"election": staffed.election.pk, "body": "Hola {nombre}"}, format="json"
    )
    broadcast_id = created.json()["id"]
    # when: the lead, whose scope is the whole province, approves and sends it
    boss = _api(lead)
    assert boss.post(f"/api/sms/broadcasts/{broadcast_id}/approve/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert boss.post(f"/api/sms/broadcasts/{broadcast_id}/send/").status_code == 202
    # then: the three northerners got it, the south did not; count and cost are the approved ones
    names = set(
        OutboundMessage.objects.filter(broadcast_id=broadcast_id).values_list("volunteer__first_name", flat=True)
    )
    assert names == {"María", "Lucas", "Sin"}
    detail = boss.get(f"/api/sms/broadcasts/{broadcast_id}/").json()
    assert (detail["recipient_count"], detail["estimated_cost"]) == (3, "37.5000")
    assert detail["estimated_cost_display"] == "ARS 37,50"


def test_send_answers_at_once_and_the_messages_are_written_by_a_task_after_commit(
    staffed, lead, django_capture_on_commit_callbacks
):
    # given
    api = _api(lead)
    broadcast_id = api.post(
        "/api/sms/broadcasts/", {"election": staffed.election.pk, "body": "Hola {nombre}"}, format="json"
    ).json()["id"]
    # when: the request commits, but nothing after commit has run yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(f"/api/sms/broadcasts/{broadcast_id}/send/")
    # then: the request wrote no message; the queueing task waits for the commit
    assert response.status_code == 202 and response.json()["status"] == "sending"
    assert OutboundMessage.objects.filter(broadcast_id=broadcast_id).count() == 0
    assert len(callbacks) == 1
    # when the worker runs it (twice: the second run writes nothing)
    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()
    queue_broadcast(broadcast_id)
    # then
    assert OutboundMessage.objects.filter(broadcast_id=broadcast_id).count() == 4
    assert Broadcast.objects.get(pk=broadcast_id).status == BroadcastStatus.DONE


# --- Lifecycle: done when every message has a final status; cancel stops what has not left -------------


def test_a_broadcast_is_done_only_when_twilio_reported_a_final_status_for_every_message(
    staffed, lead, twilio_backend, signed_post, django_capture_on_commit_callbacks
):
    # given: sent through the real twilio client; Twilio has accepted them ("sent"), nothing more
    api = _api(lead)
    broadcast_id = api.post(
        "/api/sms/broadcasts/", {"election": staffed.election.pk, "body": "Hola {nombre}"}, format="json"
    ).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/sms/broadcasts/{broadcast_id}/send/")
    messages = list(OutboundMessage.objects.filter(broadcast_id=broadcast_id).order_by("id"))
    assert {m.status for m in messages} == {"sent"}
    assert broadcasts_finish() == 0
    assert Broadcast.objects.get(pk=broadcast_id).status == BroadcastStatus.SENDING
    # when: the callbacks arrive, one of them a failure
    for message, status in zip(messages, ["delivered", "delivered", "undelivered", "delivered"], strict=True):
        params = {"MessageSid": message.sid, "MessageStatus": status, "AccountSid": "AC0"}
        assert signed_post(f"/sms/status/?m={message.pk}", params).status_code == 204
        if message is not messages[-1]:
            assert broadcasts_finish() == 0
    # then: the sweep (beat, every minute) finishes it, once
    assert broadcasts_finish() == 1
    assert broadcasts_finish() == 0
    counts = api.get(f"/api/sms/broadcasts/{broadcast_id}/").json()
    assert counts["status"] == "done"
    assert (counts["counts"]["delivered"], counts["counts"]["undelivered"]) == (3, 1)


def test_cancel_stops_the_messages_no_sender_has_claimed_and_says_how_many(
    staffed, lead, django_capture_on_commit_callbacks
):
    # given: the four messages are queued, and a sender has already sent the first one
    api = _api(lead)
    broadcast_id = api.post(
        "/api/sms/broadcasts/", {"election": staffed.election.pk, "body": "Hola {nombre}"}, format="json"
    ).json()["id"]
    with django_capture_on_commit_callbacks(execute=False):
        api.post(f"/api/sms/broadcasts/{broadcast_id}/send/")
    with django_capture_on_commit_callbacks(execute=False):
        assert queue_broadcast(broadcast_id) == 4
    first = OutboundMessage.objects.filter(broadcast_id=broadcast_id).order_by("id").first()
    assert outbound_send(message_id=first.pk) == "sent"
    # when
    response = api.post(f"/api/sms/broadcasts/{broadcast_id}/cancel/")
    # then: three stopped, the one that left keeps its status, a later drain sends nothing
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["status"], data["stopped_count"]) == ("cancelled", 3)
    assert "3 mensajes" in data["message"]
    assert drain_outbound(broadcast_id) == 0
    counts = api.get(f"/api/sms/broadcasts/{broadcast_id}/").json()["counts"]
    assert (counts["delivered"], counts["cancelled"], counts["queued"]) == (1, 3, 0)
    # and a cancelled broadcast cannot be cancelled or sent again
    assert api.post(f"/api/sms/broadcasts/{broadcast_id}/cancel/").json()["code"] == "already_finished"
    assert api.post(f"/api/sms/broadcasts/{broadcast_id}/send/").json()["code"] == "already_sent"


def test_cancel_before_the_queueing_task_ran_writes_no_message(staffed, lead, django_capture_on_commit_callbacks):
    api = _api(lead)
    broadcast_id = api.post(
        "/api/sms/broadcasts/", {"election": staffed.election.pk, "body": "Hola {nombre}"}, format="json"
    ).json()["id"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        api.post(f"/api/sms/broadcasts/{broadcast_id}/send/")
    # when: cancelled while the task waits in the broker
    data = api.post(f"/api/sms/broadcasts/{broadcast_id}/cancel/").json()
    callbacks[0]()
    # then
    assert data["stopped_count"] == 4
    assert not OutboundMessage.objects.filter(broadcast_id=broadcast_id).exists()


def test_a_draft_can_be_cancelled_and_a_coordinator_cannot_cancel_anothers(
    staffed, north_coordinator, south_coordinator
):
    broadcast_id = (
        _api(north_coordinator)
        .post("/api/sms/broadcasts/", {"election": staffed.election.pk, "body": "Hola"}, format="json")
        .json()["id"]
    )
    assert _api(south_coordinator).post(f"/api/sms/broadcasts/{broadcast_id}/cancel/").status_code == 403
    data = _api(north_coordinator).post(f"/api/sms/broadcasts/{broadcast_id}/cancel/").json()
    assert (data["status"], data["stopped_count"]) == ("cancelled", 0)
    assert "antes de salir" in data["message"]


# --- Placeholders: nobody gets an empty one --------------------------------------------------------------

PLACE_AND_TABLE = "Fiscaliza: {nombre}, presentate 7:15 en {escuela} ({direccion}), mesa {mesa}."


@pytest.fixture
def with_general(staffed):
    """Plus a place watcher in the south: assigned, but without a table."""
    watcher = VolunteerFactory(first_name="Gral", area=staffed.south_town)
    assignment_create(volunteer=watcher, place=staffed.south_place, role=AssignmentRole.PLACE, source="admin")
    return staffed


def test_preview_counts_who_lacks_each_placeholder_and_never_samples_a_blank(with_general, lead):
    # when
    data = (
        _api(lead)
        .post(
            "/api/sms/broadcasts/preview/",
            {"election": with_general.election.pk, "body": PLACE_AND_TABLE},
            format="json",
        )
        .json()
    )
    # then: the unassigned northerner lacks school and address; they and the place watcher lack a table
    assert data["recipients"] == 5
    assert data["missing"] == {"nombre": 0, "escuela": 1, "direccion": 1, "mesa": 2}
    assert data["complete_recipients"] == 3
    assert any("2 de 5" in w and "{mesa}" in w for w in data["warnings"])
    assert "en  (" not in data["sample"] and "mesa ." not in data["sample"]


def test_create_refuses_an_audience_with_missing_values_and_narrowing_sends_only_complete_texts(
    with_general, lead, django_capture_on_commit_callbacks
):
    api = _api(lead)
    # when: created as is
    refused = api.post(
        "/api/sms/broadcasts/", {"election": with_general.election.pk, "body": PLACE_AND_TABLE}, format="json"
    )
    # then: refused, saying how many lack what and how many have everything; nothing stored
    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == "missing_values" and "{mesa}" in body["message"] and "3 personas" in body["message"]
    assert not Broadcast.objects.exists()
    # when: narrowed to the people with every value
    created = api.post(
        "/api/sms/broadcasts/",
        {"election": with_general.election.pk, "body": PLACE_AND_TABLE, "segment": {"complete_only": True}},
        format="json",
    )
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/sms/broadcasts/{created.json()['id']}/send/")
    # then: three table watchers, each text complete
    bodies = list(OutboundMessage.objects.values_list("body", flat=True))
    assert created.json()["recipient_count"] == 3 and len(bodies) == 3
    assert all(re.search(r"en Escuela \w+ \(Calle \d \d+\), mesa \d+\.$", b) for b in bodies), bodies


def test_people_who_left_the_audience_are_skipped_and_the_send_shows_the_difference_first(
    staffed, lead, north_volunteer, settings, django_capture_on_commit_callbacks
):
    # given: a broadcast to the three assigned table watchers...
    settings.SMS_BROADCAST_AUDIENCE_TOLERANCE = 1
    api = _api(lead)
    broadcast_id = api.post(
        "/api/sms/broadcasts/",
        {"election": staffed.election.pk, "body": PLACE_AND_TABLE, "segment": {"complete_only": True}},
        format="json",
    ).json()["id"]
    # ...then María opts out and Lucas is taken off his table
    Volunteer.objects.filter(pk=north_volunteer.pk).update(opted_out=True)
    lucas = Assignment.objects.get(volunteer__first_name="Lucas")
    assignment_unassign(assignment=lucas, actor=lead, source="web", reason="no puede")
    # when
    refused = api.post(f"/api/sms/broadcasts/{broadcast_id}/send/", {}, format="json")
    detail = api.get(f"/api/sms/broadcasts/{broadcast_id}/").json()
    # then: the difference is shown before anything goes
    assert refused.status_code == 400 and refused.json()["code"] == "audience_changed"
    assert refused.json()["detail"] == {"recipients": 3, "reachable": 1, "dropped": 2}
    assert "se dio de baja" in refused.json()["message"] and "ya no tiene los datos" in refused.json()["message"]
    assert detail["audience"]["opted_out"] == 1 and detail["audience"]["missing_values"] == 1
    assert not OutboundMessage.objects.exists()
    # when: confirmed with the new count
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"/api/sms/broadcasts/{broadcast_id}/send/", {"confirm_recipients": 1}, format="json")
    # then: only Juan, with a complete text
    assert sent.status_code == 202, sent.content
    assert list(OutboundMessage.objects.values_list("volunteer__first_name", flat=True)) == ["Juan"]


def test_a_small_change_in_the_audience_sends_without_asking(
    staffed, lead, north_volunteer, django_capture_on_commit_callbacks
):
    # given: the default tolerance (5); one person opts out after creation
    api = _api(lead)
    broadcast_id = api.post(
        "/api/sms/broadcasts/", {"election": staffed.election.pk, "body": "Hola {nombre}"}, format="json"
    ).json()["id"]
    Volunteer.objects.filter(pk=north_volunteer.pk).update(opted_out=True)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"/api/sms/broadcasts/{broadcast_id}/send/")
    # then
    assert sent.status_code == 202
    assert OutboundMessage.objects.count() == 3 and not OutboundMessage.objects.filter(volunteer=north_volunteer)


# --- Money, list, schema -----------------------------------------------------------------------------------


def test_cost_is_in_the_configured_currency_in_each_language(staffed, lead, settings):
    # given: 4 recipients, one segment, at 750 a segment
    settings.SMS_COST_PER_SEGMENT = "750"
    settings.SMS_CURRENCY = "ARS"
    api = _api(lead)
    payload = {"election": staffed.election.pk, "body": "Hola {nombre}"}
    # when
    spanish = api.post("/api/sms/broadcasts/preview/", payload, format="json").json()
    english = api.post("/api/sms/broadcasts/preview/", payload, format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    settings.SMS_CURRENCY = "USD"
    dollars = api.post("/api/sms/broadcasts/preview/", payload, format="json").json()
    # then
    assert (spanish["currency"], spanish["estimated_cost"]) == ("ARS", "3000.0000")
    assert spanish["estimated_cost_display"] == "ARS 3.000,00"
    assert english["estimated_cost_display"] == "ARS 3,000.00"
    assert dollars["estimated_cost_display"] == "USD 3.000,00"


def test_the_list_shows_each_coordinator_their_own_and_a_lead_all(staffed, north_coordinator, south_coordinator, lead):
    for user in (north_coordinator, south_coordinator):
        _api(user).post("/api/sms/broadcasts/", {"election": staffed.election.pk, "body": "Hola"}, format="json")
    north = _api(north_coordinator).get(f"/api/sms/broadcasts/?election={staffed.election.pk}").json()
    everyone = _api(lead).get("/api/sms/broadcasts/").json()
    assert [b["created_by"] for b in north["results"]] == [north_coordinator.pk]
    assert everyone["count"] == 2


def test_every_broadcast_operation_is_in_the_openapi_schema(lead):
    paths = _api(lead).get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert set(paths["/api/sms/broadcasts/"]) >= {"get", "post"}
    for operation in ("preview/", "{id}/", "{id}/approve/", "{id}/send/", "{id}/cancel/"):
        assert f"/api/sms/broadcasts/{operation}" in paths, operation


def test_the_permission_module_decides_who_sees_sends_and_approves_a_broadcast(
    staffed, north_coordinator, south_coordinator, lead, north_volunteer
):
    # given
    broadcast = broadcast_create(actor=north_coordinator, election=staffed.election, body="Hola", segment={})
    # then: the author sees and changes it, only a lead approves, nobody else touches it
    assert can(north_coordinator, Action.VIEW, broadcast) and can(north_coordinator, Action.CHANGE, broadcast)
    assert not can(north_coordinator, Action.APPROVE, broadcast)
    assert can(lead, Action.APPROVE, broadcast)
    for other in (south_coordinator, north_volunteer.user):
        assert not any(can(other, action, broadcast) for action in (Action.VIEW, Action.CHANGE, Action.APPROVE))
        assert not visible(other, Broadcast.objects.all()).exists()
    assert list(visible(north_coordinator, Broadcast.objects.all())) == [broadcast]


def test_cost_counts_each_recipients_own_segments_not_the_longest_text(staffed, lead, settings):
    # given: the south's school has a long real-world name, so only its watcher's text takes two
    # segments; the north's two watchers fit in one
    staffed.south_place.name = (
        "Escuela Provincial de Educación Técnica N° 123 Doctor Bernardo Alberto Houssay de la Villa del Rosario"
    )
    staffed.south_place.save(update_fields=["name"])
    settings.SMS_COST_PER_SEGMENT = "0.05"
    settings.SMS_CURRENCY = "USD"
    body = "Presentate 7:15 en {escuela}, mesa {mesa}. Lleva DNI y lapicera azul; ante dudas responde este SMS."
    # when
    preview = (
        _api(lead)
        .post(
            "/api/sms/broadcasts/preview/",
            {"election": staffed.election.pk, "body": body, "segment": {"complete_only": True}},
            format="json",
        )
        .json()
    )
    # then: 1 + 1 + 2 segments billed, where the longest text times three would say 6
    assert preview["recipients"] == 3 and preview["encoding"] == "GSM-7"
    assert preview["segments_per_message"] == 2 and preview["total_segments"] == 4
    assert (preview["currency"], preview["estimated_cost"]) == ("USD", "0.2000")
