"""A number completed with a guessed area code may belong to a stranger: until its owner answers SI
from it, nothing sent to it carries a name, a place or a link, and nothing it sends reaches a thread."""

import uuid

import pytest

from backend.assignments.models import AssignmentRole, AssignmentStatus
from backend.assignments.services import assignment_create
from backend.messaging.broadcasts import broadcast_recipients
from backend.messaging.models import OutboundMessage
from backend.threads.models import Message
from sms.services import notices_relay

from ..factories import VolunteerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def guessed(geo):
    """Marisa's number was completed with the default area code; she is assigned to Escuela Norte."""
    volunteer = VolunteerFactory(
        first_name="Marisa", last_name="Quiroga", phone="+5493514123458", phone_verified=False, phone_rule="default"
    )
    assignment_create(
        volunteer=volunteer, place=geo.north_place, table=geo.north_tables[0], role=AssignmentRole.TABLE, source="admin"
    )
    return volunteer


def _text(signed_post, phone: str, body: str) -> str:
    params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": phone, "To": "+15005550006", "Body": body}
    return signed_post("/sms/inbound/", {**params, "NumMedia": "0"}).content.decode()


def test_the_assignment_notice_becomes_one_question_without_name_place_or_link(geo, guessed, settings):
    # when: the outbox is relayed, twice (the reminder notice of a later day, too)
    notices_relay()
    notices_relay()
    # then: one text, a question that says nothing about anyone
    sent = OutboundMessage.objects.get(volunteer=guessed)
    assert sent.kind == "verify_phone"
    assert "Responde SI" in sent.body
    for secret in ("Marisa", "Quiroga", "Escuela Norte", "Calle 9", "mesa 1", settings.PUBLIC_BASE_URL, "/a/"):
        assert secret not in sent.body
    # and the assignment is not "notified": she has not been told it yet
    assert guessed.assignments.get().status == AssignmentStatus.PROPOSED


def test_instructions_skip_unverified_numbers(geo, guessed, north_coordinator):
    recipients = broadcast_recipients(user=north_coordinator, election=geo.election, segment={})
    assert guessed not in list(recipients)


def test_mesa_and_free_text_from_the_guessed_number_reveal_nothing_and_post_nothing(signed_post, geo, guessed):
    for body in ("MESA", "donde me toca?", "hola quien sos?"):
        reply = _text(signed_post, guessed.phone, body)
        assert "Escuela Norte" not in reply and "Marisa" not in reply and "Responde SI" in reply
    assert not Message.objects.exists()


def test_si_verifies_the_number_and_answers_with_the_assignment(signed_post, geo, guessed):
    # when
    reply = _text(signed_post, guessed.phone, "si")
    # then: verified, and now the assignment comes, full school name and link
    guessed.refresh_from_db()
    assert guessed.phone_verified is True
    assert "Escuela Norte" in reply and "Marisa" in reply
    # and from now on she is a volunteer like any other: SI confirms
    _text(signed_post, guessed.phone, "si voy")
    assert guessed.assignments.get().status == AssignmentStatus.CONFIRMED


def test_a_stranger_answering_no_gets_nothing_more(signed_post, geo, guessed):
    # when: whoever holds the number says it is not them
    reply = _text(signed_post, guessed.phone, "no")
    # then: told they will get nothing more; the volunteer's assignment is untouched
    guessed.refresh_from_db()
    assert guessed.opted_out is True and guessed.phone_verified is False
    assert "no te enviaremos" in reply
    assert guessed.assignments.get().status == AssignmentStatus.PROPOSED
    notices_relay()
    assert not OutboundMessage.objects.filter(volunteer=guessed).exists()
