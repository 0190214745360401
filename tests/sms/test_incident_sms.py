"""Incidents by SMS through the signed webhook: PROBLEMA, the table named in the text, the category question."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing.websocket import WebsocketCommunicator

from backend.console.routing import websocket_urlpatterns
from backend.incidents.live import incident_event
from backend.incidents.models import Incident
from backend.incidents.services import incident_take
from backend.notices.models import Notice
from sms.commands import incident_keyword_parse
from tests.sms.webhook import inbound_params, twiml_text


def test_problema_keeps_the_watchers_words_and_tolerates_a_typo():
    assert incident_keyword_parse("PROBLEMA faltan boletas en la 1234") == "faltan boletas en la 1234"
    assert incident_keyword_parse("problemma se cortó la luz") == "se cortó la luz"
    assert incident_keyword_parse("PROBLEMA") == ""
    assert incident_keyword_parse("tengo un problema") is None


def test_problema_reports_at_the_table_named_in_the_text(signed_post, assigned, north_volunteer, geo):
    # when: the watcher of table 1 reports about table 2 of the same school
    reply = twiml_text(
        signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "PROBLEMA faltan boletas en la 2"))
    )
    # then
    incident = Incident.objects.get()
    assert (incident.table, incident.place, incident.category.code) == (
        geo.north_tables[1],
        geo.north_place,
        "ballot_shortage",
    )
    assert (incident.channel, incident.reporter, incident.text) == (
        "sms",
        north_volunteer.user,
        "faltan boletas en la 2",
    )
    assert f"problema #{incident.pk} recibido (Faltan boletas, mesa 2)" in reply


def test_a_number_that_is_no_table_of_the_school_stays_in_the_story(signed_post, assigned, north_volunteer, geo):
    twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "PROBLEMA faltan 200 boletas")))
    assert Incident.objects.get().table == geo.north_tables[0]


def test_a_weak_guess_asks_and_the_answer_sets_the_category(signed_post, assigned, north_volunteer):
    # when
    asked = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "PROBLEMA se cortó la luz")))
    incident = Incident.objects.get()
    answered = twiml_text(
        signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, f"PROBLEMA {incident.pk} violencia"))
    )
    # then
    assert f"Respondé PROBLEMA {incident.pk} y BOLETAS" in asked
    assert len(asked.split("<Message>")[1].split("</Message>")[0]) <= 160
    incident.refresh_from_db()
    assert (incident.category.code, incident.category_confirmed) == ("violence", True)
    assert "anotado como Violencia" in answered
    assert Incident.objects.count() == 1


def test_problema_without_words_asks_for_them_and_writes_nothing(signed_post, assigned, north_volunteer):
    reply = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "PROBLEMA")))
    assert "PROBLEMA faltan boletas en la 1234" in reply
    assert not Incident.objects.exists()


def test_the_watcher_is_told_by_sms_when_a_coordinator_takes_it(
    signed_post, assigned, north_volunteer, north_coordinator
):
    # given
    signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "PROBLEMA faltan boletas"))
    # when
    incident_take(incident=Incident.objects.get(), actor=north_coordinator, channel="web")
    # then: a notice in the outbox, in one GSM-7 segment
    notice = Notice.objects.get(volunteer=north_volunteer, payload__incident=Incident.objects.get().pk)
    assert "tomó tu problema" in notice.payload["text"]
    assert len(f"Fiscaliza: {notice.payload['text']}") <= 160


@pytest.mark.django_db(transaction=True)
def test_an_incident_by_sms_reaches_the_areas_board_and_its_coordinator_live(
    signed_post, assigned, north_volunteer, north_coordinator, geo
):
    # given: the north coordinator watches the board (the event is built from the rows just written)
    def report():
        signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "PROBLEMA faltan boletas en la 1"))

    async def scenario():
        communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/board/{geo.election.pk}/")
        communicator.scope["user"] = north_coordinator
        connected, _ = await communicator.connect()
        await database_sync_to_async(report)()
        event = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return connected, event

    # when
    connected, event = async_to_sync(scenario)()
    # then: the same event a read after commit gives
    incident = Incident.objects.get()
    assert connected
    assert event == {**incident_event(incident, "created"), "type": "incident"}
    assert (event["place_name"], event["table"], event["path"], event["owner"]) == (
        "Escuela Norte",
        1,
        geo.north_town.path,
        "",
    )
