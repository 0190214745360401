"""Inbound webhook: real Twilio signatures, keywords, de-duplication, unknown numbers."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.assignments.models import AssignmentStatus
from backend.messaging.models import InboundMessage, InboundStatus
from backend.threads.models import Message
from sms.replies import Intent, reply_understand
from tests.sms.webhook import inbound_params, twiml_text

from ..factories import VolunteerFactory


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("MESA", Intent.INFO),
        ("info", Intent.INFO),
        ("¿Dónde?", Intent.INFO),
        ("Sí", Intent.YES),
        ("si.", Intent.YES),
        ("sii", Intent.YES),
        ("NO", Intent.NO),
        ("Llegué", Intent.CHECK_IN),
        ("lelgue", Intent.CHECK_IN),
        ("PRESNTE", Intent.CHECK_IN),
        ("ayda", Intent.HELP),
        ("HELP", Intent.HELP),
        ("baja", Intent.STOP),
        ("Stop", Intent.STOP),
        ("UNSUBSCRIBE", Intent.STOP),
        ("alta", Intent.START),
        ("START", Intent.START),
        ("no sé dónde queda", Intent.INFO),
        ("hola", Intent.TEXT),
        ("", Intent.EMPTY),
    ],
)
def test_keywords_tolerate_case_accents_and_small_typos(text, intent):
    assert reply_understand(text) == intent


@pytest.mark.django_db
def test_forged_signature_gets_403_and_writes_nothing(client, signed_post, assigned, north_volunteer):
    # given: a request signed with another auth token, and one with no signature at all
    params = inbound_params(north_volunteer.phone, "SI")
    forged = signed_post("/sms/inbound/", params, token="not-our-token")
    unsigned = client.post("/sms/inbound/", params)
    # then
    assert forged.status_code == 403 and unsigned.status_code == 403
    assert InboundMessage.objects.count() == 0
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.PROPOSED


@pytest.mark.django_db
def test_signature_is_checked_against_the_public_url(signed_post, settings, assigned, north_volunteer):
    # given: a request signed for another host (a proxy misconfiguration or a replay elsewhere)
    settings.PUBLIC_BASE_URL = "https://fz.example.org"
    params = inbound_params(north_volunteer.phone, "SI")
    from twilio.request_validator import RequestValidator

    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
        "http://127.0.0.1:8000/sms/inbound/", params
    )
    from django.test import Client

    result = Client().post("/sms/inbound/", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert result.status_code == 403
    # and the right URL is accepted
    assert signed_post("/sms/inbound/", params).status_code == 200


@pytest.mark.django_db
def test_si_confirms_once_even_when_twilio_repeats_the_sid(signed_post, assigned, north_volunteer):
    # given
    params = inbound_params(north_volunteer.phone, "Si")
    # when: the same MessageSid arrives twice
    first = twiml_text(signed_post("/sms/inbound/", params))
    second = twiml_text(signed_post("/sms/inbound/", params))
    # then: stored once, acted on once, the same answer both times
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.CONFIRMED
    assert assigned.events.filter(to_status="confirmed").count() == 1
    assert InboundMessage.objects.count() == 1
    assert "confirmaste" in first and first == second
    stored = InboundMessage.objects.get()
    assert stored.keyword == "yes" and stored.volunteer == north_volunteer


@pytest.mark.django_db
def test_no_declines_and_frees_the_slot(signed_post, assigned, north_volunteer):
    reply = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "NO")))
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.DECLINED
    assert assigned.events.filter(to_status="declined", source="sms").exists()
    assert "no pod" in reply


@pytest.mark.django_db
def test_mesa_answers_place_address_table_time_and_a_link(signed_post, assigned, north_volunteer, geo):
    reply = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "mesa")))
    assert "Escuela Norte" in reply and "mesa 1" in reply and "7:30" in reply
    assert geo.north_place.address.split(" ")[0] in reply
    assert re.search(r"http://127\.0\.0\.1:8000/[0-9A-Za-z]{22}\b", reply)


@pytest.mark.django_db
def test_llegue_checks_in_only_on_election_day(signed_post, assigned, north_volunteer, geo, monkeypatch):
    # given: not election day
    reply = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "LLEGUE")))
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.PROPOSED and "dia de la eleccion" in reply
    # when: election day
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: geo.election.date)
    reply = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "presente")))
    # then
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.CHECKED_IN and "llegada" in reply


@pytest.mark.django_db
def test_ayuda_lists_the_keywords(signed_post, assigned, north_volunteer):
    reply = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "AYUDA")))
    for word in ("MESA", "SI", "NO", "LLEGUE", "ENTREGO", "BAJA"):
        assert word in reply


@pytest.mark.django_db
def test_baja_opts_out_and_alta_opts_back_in(signed_post, assigned, north_volunteer):
    # when
    reply = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "BAJA")))
    north_volunteer.refresh_from_db()
    # then
    assert north_volunteer.opted_out is True and "ALTA" in reply
    # and while opted out nothing is answered, not even MESA
    silent = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "MESA")))
    assert "<Message>" not in silent
    # when
    reply = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "alta")))
    north_volunteer.refresh_from_db()
    assert north_volunteer.opted_out is False and "AYUDA" in reply


@pytest.mark.django_db
def test_stop_handled_by_twilio_is_not_confirmed_twice(signed_post, assigned, north_volunteer, settings):
    # given: production Twilio answers STOP itself (Advanced Opt-Out says so with OptOutType)
    settings.SMS_BACKEND = "twilio"
    response = twiml_text(
        signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "STOP", OptOutType="STOP"))
    )
    north_volunteer.refresh_from_db()
    # then: we record the opt-out but send no second confirmation
    assert north_volunteer.opted_out is True
    assert "<Message>" not in response
    # and START under Twilio's default handling likewise
    response = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "START")))
    north_volunteer.refresh_from_db()
    assert north_volunteer.opted_out is False and "<Message>" not in response


@pytest.mark.django_db
def test_free_text_from_an_assigned_volunteer_goes_to_their_station_thread(signed_post, assigned, north_volunteer):
    reply = twiml_text(
        signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "Falta la urna de la mesa 1"))
    )
    message = Message.objects.get()
    assert message.body == "Falta la urna de la mesa 1" and message.source == "sms"
    assert message.thread.place == assigned.place
    assert "Escuela Norte" in reply


@pytest.mark.django_db
def test_unknown_number_gets_the_same_help_whatever_it_asks(signed_post, assigned, north_volunteer):
    # given: someone probing with a real volunteer's keywords and data
    replies = {
        twiml_text(signed_post("/sms/inbound/", inbound_params("+5491100000000", body)))
        for body in ("MESA", "SI", f"DNI {north_volunteer.dni}", "Maria Garcia")
    }
    # then: one neutral text, with nothing about anyone
    assert len(replies) == 1
    reply = replies.pop()
    assert "Escuela" not in reply and north_volunteer.first_name not in reply
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.PROPOSED
    assert InboundMessage.objects.filter(volunteer__isnull=True).count() == 4


@pytest.mark.django_db
def test_volunteer_without_assignment_is_told_so(signed_post, geo):
    volunteer = VolunteerFactory(first_name="Ana")
    reply = twiml_text(signed_post("/sms/inbound/", inbound_params(volunteer.phone, "SI")))
    assert "no tenés un lugar" in reply or "no tenes un lugar" in reply


@pytest.mark.django_db
def test_dev_page_answers_through_the_signed_webhook(client, assigned, north_volunteer, settings, lead):
    # given: the development page (local backend)
    settings.SMS_BACKEND = "local"
    client.force_login(lead)
    # when: a developer answers SI as María's phone
    response = client.post("/dev/sms/", {"phone": north_volunteer.phone, "body": "SI"})
    # then: it went through the webhook (stored, acted on) and the page lists it
    assert response.status_code == 302
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.CONFIRMED
    page = client.get("/dev/sms/").content.decode()
    assert "confirmaste" in page and north_volunteer.phone in page


@pytest.mark.django_db
def test_dev_page_signature_is_verified_too(client, assigned, north_volunteer, settings, lead, monkeypatch):
    # given: the page signs with a different token than the webhook verifies with
    import sms.client

    settings.SMS_BACKEND = "local"
    client.force_login(lead)
    monkeypatch.setattr(sms.client, "signature_compute", lambda **kw: "forged")
    monkeypatch.setattr("sms.views.signature_compute", lambda **kw: "forged")
    response = client.post("/dev/sms/", {"phone": north_volunteer.phone, "body": "SI"})
    assert response.status_code == 404
    assert InboundMessage.objects.count() == 0


@pytest.mark.django_db
def test_dev_page_is_hidden_in_production_profiles(client, settings, lead):
    settings.SMS_BACKEND = "twilio"
    settings.DEBUG = False
    client.force_login(lead)
    assert client.get("/dev/sms/").status_code == 404


def test_a_repeat_while_the_first_delivery_is_still_acting_waits_until_its_claim_is_stale(
    signed_post, assigned, north_volunteer
):
    # given: the first delivery stored its row (already claimed by that request) and is still acting
    params = inbound_params(north_volunteer.phone, "si", sid="SMbusy0001")
    InboundMessage.objects.create(
        sid="SMbusy0001",
        from_number=north_volunteer.phone,
        body="si",
        volunteer=north_volunteer,
        params=params,
        status=InboundStatus.PROCESSING,
        claimed_at=timezone.now(),
        attempts=1,
    )
    # when: Twilio delivers the same SID again
    repeat = signed_post("/sms/inbound/", params)
    # then: no answer and nothing acted on: the first request owns it
    assert "<Message>" not in twiml_text(repeat)
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.PROPOSED
    # when: that request died (its claim is stale) and Twilio retries
    InboundMessage.objects.filter(sid="SMbusy0001").update(claimed_at=timezone.now() - timedelta(minutes=3))
    retry = signed_post("/sms/inbound/", params)
    # then: acted once, by the retry
    assert "confirmaste" in twiml_text(retry)
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.CONFIRMED
    row = InboundMessage.objects.get(sid="SMbusy0001")
    assert (row.status, row.attempts) == (InboundStatus.PROCESSED, 2)


def test_a_new_delivery_is_stored_claimed_and_processed_in_one_attempt(signed_post, assigned, north_volunteer):
    # when: a text arrives
    reply = signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "si", sid="SMonce0001"))
    # then: processed on its first attempt, answered and recorded
    assert "confirmaste" in twiml_text(reply)
    row = InboundMessage.objects.get(sid="SMonce0001")
    assert (row.status, row.attempts, row.keyword) == ("processed", 1, "yes")
    assert row.claimed_at is not None and row.handled_at >= row.claimed_at
