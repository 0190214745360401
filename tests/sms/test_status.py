"""Delivery status callbacks: signed, forward-only, idempotent, recovering a lost SID."""

import pytest

from backend.messaging.models import OutboundMessage
from sms.services import outbound_queue, outbound_send

pytestmark = pytest.mark.django_db


def _callback(signed_post, message, status, sid=None, **extra):
    params = {"MessageSid": sid or message.sid, "MessageStatus": status, "AccountSid": "AC0", **extra}
    return signed_post(f"/sms/status/?m={message.pk}", params)


@pytest.fixture
def sent(north_volunteer, twilio_backend):
    message = outbound_queue(
        volunteer=north_volunteer, kind="instruction", body="Fiscaliza: hola", segments=1, encoding="GSM-7"
    )
    outbound_send(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == "sent"
    return message


def test_statuses_only_move_forward_whatever_the_order(signed_post, sent):
    # when: Twilio's callbacks arrive out of order and repeated
    for status in ("delivered", "sent", "queued", "delivered", "sending"):
        assert _callback(signed_post, sent, status).status_code == 204
    # then
    sent.refresh_from_db()
    assert sent.status == "delivered" and sent.provider_status == "delivered"
    assert sent.delivered_at is not None


def test_undelivered_with_error_code_is_recorded(signed_post, sent):
    _callback(signed_post, sent, "undelivered", ErrorCode="30006")
    sent.refresh_from_db()
    assert (sent.status, sent.error_code) == ("undelivered", 30006)
    # a late "sent" does not undo it
    _callback(signed_post, sent, "sent")
    sent.refresh_from_db()
    assert sent.status == "undelivered"


def test_callback_with_a_bad_signature_changes_nothing(client, sent):
    response = client.post(f"/sms/status/?m={sent.pk}", {"MessageSid": sent.sid, "MessageStatus": "delivered"})
    assert response.status_code == 403
    sent.refresh_from_db()
    assert sent.status == "sent"


def test_callback_recovers_the_sid_of_a_row_whose_worker_died(signed_post, north_volunteer):
    # given: a row left in `sending` without its SID
    message = outbound_queue(volunteer=north_volunteer, kind="instruction", body="x", segments=1, encoding="GSM-7")
    OutboundMessage.objects.filter(pk=message.pk).update(status="sending")
    # when: Twilio's callback (our URL carries the row id) arrives
    _callback(signed_post, message, "sent", sid="SM" + "a" * 32)
    # then
    message.refresh_from_db()
    assert message.sid == "SM" + "a" * 32 and message.status == "sent"


def test_callback_cannot_steal_another_rows_sid(signed_post, sent, north_volunteer):
    other = outbound_queue(volunteer=north_volunteer, kind="instruction", body="y", segments=1, encoding="GSM-7")
    _callback(signed_post, other, "delivered", sid=sent.sid)
    other.refresh_from_db()
    assert other.sid is None and other.status == "queued"


def test_21610_in_a_callback_opts_the_volunteer_out(signed_post, sent, north_volunteer):
    _callback(signed_post, sent, "failed", ErrorCode="21610")
    north_volunteer.refresh_from_db()
    assert north_volunteer.opted_out is True
