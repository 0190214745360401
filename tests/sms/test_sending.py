"""Outbound: notices become messages; the real twilio client sends each row once to a fake Twilio."""

import re

import pytest
from django.utils import timezone

from backend.assignments.models import AssignmentRole, AssignmentStatus
from backend.assignments.services import assignment_create
from backend.messaging.models import OutboundMessage
from backend.notices.models import Notice
from sms.services import notices_relay, outbound_queue, outbound_reconcile, outbound_send

pytestmark = pytest.mark.django_db(transaction=False)


def _queued(volunteer, body="Fiscaliza: prueba"):
    return outbound_queue(volunteer=volunteer, kind="instruction", body=body, segments=1, encoding="GSM-7")


def _retry_now(message):
    # Time passes: the backoff is over.
    OutboundMessage.objects.filter(pk=message.pk).update(not_before=None)


def test_assignment_notice_becomes_one_sms_sent_through_twilio(
    geo, north_volunteer, twilio_backend, django_capture_on_commit_callbacks
):
    # given: a coordinator assigns María (the service writes a Notice in the same transaction)
    with django_capture_on_commit_callbacks(execute=True):
        assignment = assignment_create(
            volunteer=north_volunteer,
            place=geo.north_place,
            table=geo.north_tables[0],
            role=AssignmentRole.TABLE,
            source="admin",
        )
    # then: the relay ran after commit, one message went out with place, table and link
    message = OutboundMessage.objects.get(volunteer=north_volunteer)
    assert message.status == "sent"
    assert message.sid.startswith("SM")
    posts = twilio_backend.posts_to(north_volunteer.phone)
    assert len(posts) == 1
    assert posts[0]["From"] == "+15005550006"
    assert (
        "Escuela Norte" in posts[0]["Body"]
        and "mesa 1" in posts[0]["Body"]
        and re.search(r"/[0-9A-Za-z]{22}\b", posts[0]["Body"])
    )
    assert "Maria" in posts[0]["Body"]  # transliterated: one GSM-7 segment, not UCS-2
    assert posts[0]["StatusCallback"].endswith(f"/sms/status/?m={message.pk}")
    assert Notice.objects.get(assignment=assignment).processed_at is not None
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.NOTIFIED
    # when: the relay and the send run again (beat, a redelivered task)
    notices_relay()
    outbound_send(message_id=message.pk)
    # then: nothing new
    assert OutboundMessage.objects.count() == 1
    assert len(twilio_backend.requests) == 1


def test_messaging_service_sid_is_used_when_configured(north_volunteer, twilio_backend, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "1" * 32
    settings.SMS_SENDERS = "long_code*3"  # the service's numbers: Twilio picks one
    message = _queued(north_volunteer)
    assert outbound_send(message_id=message.pk) == "sent"
    post = twilio_backend.requests[0]
    assert post["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in post


def test_429_is_retried_with_backoff_then_sent(north_volunteer, twilio_backend):
    # given
    twilio_backend.script = [("error", 429, 20429)]
    message = _queued(north_volunteer)
    # when
    first = outbound_send(message_id=message.pk)
    message.refresh_from_db()
    # then: back in the queue, not before its backoff
    assert first == "retry"
    assert message.status == "queued" and message.not_before > timezone.now()
    assert outbound_send(message_id=message.pk) == "skipped"
    # when the backoff is over
    _retry_now(message)
    assert outbound_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 2
    assert len(twilio_backend.requests) == 2


def test_5xx_is_retried_until_the_attempts_run_out(north_volunteer, twilio_backend, settings):
    settings.SMS_MAX_ATTEMPTS = 2
    twilio_backend.script = [("error", 503, 20503), ("error", 503, 20503)]
    message = _queued(north_volunteer)
    assert outbound_send(message_id=message.pk) == "retry"
    _retry_now(message)
    assert outbound_send(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == 2


def test_21610_fails_for_good_and_opts_the_volunteer_out(north_volunteer, twilio_backend):
    # given
    twilio_backend.script = [("error", 400, 21610)]
    message = _queued(north_volunteer)
    second = _queued(north_volunteer, body="Fiscaliza: otra")
    # when
    result = outbound_send(message_id=message.pk)
    # then
    message.refresh_from_db()
    north_volunteer.refresh_from_db()
    assert result == "failed"
    assert message.status == "failed" and message.error_code == 21610
    assert north_volunteer.opted_out is True
    # and nothing more is sent to them
    assert outbound_send(message_id=second.pk) == "failed"
    assert len(twilio_backend.requests) == 1


@pytest.mark.parametrize("code", [21211, 21614, 21408])
def test_invalid_number_and_region_errors_are_permanent(north_volunteer, twilio_backend, code):
    twilio_backend.script = [("error", 400, code)]
    message = _queued(north_volunteer)
    assert outbound_send(message_id=message.pk) == "failed"
    message.refresh_from_db()
    north_volunteer.refresh_from_db()
    assert (message.status, message.error_code, message.attempts) == ("failed", code, 1)
    assert north_volunteer.opted_out is False


def test_connection_refused_is_retried(north_volunteer, twilio_backend, settings):
    # given: nothing listens at the API address
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{probe.getsockname()[1]}"
    message = _queued(north_volunteer)
    # when / then
    assert outbound_send(message_id=message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == "queued" and message.error_message == "connection refused"


def test_read_timeout_leaves_the_row_sending_and_reconcile_adopts_it_without_resending(
    north_volunteer, twilio_backend, settings
):
    # given: Twilio takes longer than our client timeout, but does accept the message
    settings.TWILIO_HTTP_TIMEOUT = 0.3
    twilio_backend.script = [("hang", 0.8)]
    message = _queued(north_volunteer)
    # when
    result = outbound_send(message_id=message.pk)
    # then: outcome unknown, never retried blindly
    message.refresh_from_db()
    assert result == "unknown"
    assert message.status == "sending" and message.sid is None
    assert outbound_send(message_id=message.pk) == "skipped"
    # when: reconciliation looks it up by recipient and text
    settings.TWILIO_HTTP_TIMEOUT = 2.0
    twilio_backend.received.clear()
    outcome = outbound_reconcile(older_than_seconds=0)
    # then
    message.refresh_from_db()
    assert outcome["found"] == 1
    assert message.status == "sent" and message.sid in twilio_backend.messages
    assert len(twilio_backend.posts_to(north_volunteer.phone)) == 1


def test_worker_dying_after_twilio_accepted_never_sends_twice(north_volunteer, twilio_backend, monkeypatch):
    # given: the process dies right after Twilio answered, before the SID is written
    from sms.backends import TwilioBackend

    real_send = TwilioBackend.send

    def send_then_die(self, message, **kwargs):
        real_send(self, message, **kwargs)  # Twilio accepted it...
        raise SystemExit("worker killed")  # ...and the process died before writing anything

    monkeypatch.setattr(TwilioBackend, "send", send_then_die)
    message = _queued(north_volunteer)
    with pytest.raises(SystemExit):
        outbound_send(message_id=message.pk)
    monkeypatch.undo()
    message.refresh_from_db()
    assert message.status == "sending" and message.sid is None
    # when: the task is delivered again, and later the reconciler runs
    assert outbound_send(message_id=message.pk) == "skipped"
    outbound_reconcile(older_than_seconds=0)
    # then: one request reached Twilio, and the row knows its SID
    message.refresh_from_db()
    assert len(twilio_backend.posts_to(north_volunteer.phone)) == 1
    assert message.status == "sent" and message.sid in twilio_backend.messages


def test_reconcile_requeues_what_twilio_never_received(north_volunteer, twilio_backend):
    # given: a row claimed by a worker that died before calling Twilio
    message = _queued(north_volunteer)
    OutboundMessage.objects.filter(pk=message.pk).update(status="sending", claimed_at=timezone.now())
    # when
    outcome = outbound_reconcile(older_than_seconds=0)
    # then: Twilio has no such message, so it is safe to send it now
    message.refresh_from_db()
    assert outcome["requeued"] == 1
    assert message.status == "queued"
    assert outbound_send(message_id=message.pk) == "sent"
    assert len(twilio_backend.requests) == 1


def test_a_volunteer_who_opted_out_before_the_relay_gets_nothing(geo, north_volunteer, twilio_backend):
    # given: assigned (a notice is written), then they text BAJA before the relay runs
    assignment_create(
        volunteer=north_volunteer, place=geo.north_place, table=geo.north_tables[0], role="table", source="admin"
    )
    north_volunteer.opted_out = True
    north_volunteer.save()
    # when
    notices_relay()
    # then
    assert OutboundMessage.objects.count() == 0
    assert Notice.objects.get().processed_at is not None
    assert twilio_backend.requests == []


def test_local_backend_stores_and_delivers_without_network(geo, north_volunteer, settings):
    settings.SMS_BACKEND = "local"
    message = _queued(north_volunteer)
    assert outbound_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert message.status == "delivered" and message.sid.startswith("SMlocal")
