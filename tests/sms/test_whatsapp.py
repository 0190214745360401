"""WhatsApp as a second channel, through the real twilio library and the fake Twilio speaking WhatsApp:
templates outside the 24-hour window, the same webhook and keywords, photos, and the SMS fallback, once."""

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from rest_framework.test import APIClient

from backend.assignments.models import Assignment, AssignmentStatus
from backend.messaging.broadcasts import broadcast_preview
from backend.messaging.channels import templates_parse
from backend.messaging.models import InboundMessage, OutboundMessage
from backend.threads.models import Attachment, Message
from backend.volunteers.models import Volunteer, VolunteerEvent
from backend.volunteers.services import volunteer_update
from sms.services import outbound_queue, outbound_reconcile, outbound_send, whatsapp_fallback_sweep

pytestmark = pytest.mark.django_db

WA_FROM = "+14155238886"
ASSIGNMENT_SID = "HX" + "a" * 32
INSTRUCTION_SID = "HX" + "b" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x00" * 200


@pytest.fixture
def whatsapp(twilio_backend, settings):
    settings.TWILIO_WHATSAPP_FROM = WA_FROM
    settings.WHATSAPP_TEMPLATES = {
        "assignment": {"sid": ASSIGNMENT_SID, "variables": ["nombre", "escuela", "mesa", "dia", "hora"]},
        "instruction": {"sid": INSTRUCTION_SID, "variables": ["texto"]},
    }
    twilio_backend.credentials = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    return twilio_backend


def _wa(phone: str, body: str, media: list[str] | None = None) -> dict:
    params = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC00000000000000000000000000000000",
        "From": f"whatsapp:{phone}",
        "To": f"whatsapp:{WA_FROM}",
        "Body": body,
        "NumMedia": str(len(media or [])),
        "ProfileName": "María",
    }
    for index, url in enumerate(media or []):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = "image/jpeg"
    return params


def _callback(signed_post, message, status, **extra):
    params = {"MessageSid": message.sid, "MessageStatus": status, "AccountSid": "AC0", **extra}
    return signed_post(f"/sms/status/?m={message.pk}", params)


def test_the_issue_path_template_then_si_then_photo_then_a_failed_whatsapp_arrives_by_sms(
    geo, north_volunteer, north_coordinator, whatsapp, signed_post, django_capture_on_commit_callbacks
):
    # given: María chose WhatsApp (a coordinator set it; audited like any edit)
    volunteer_update(volunteer=north_volunteer, actor=north_coordinator, source="web", channel="whatsapp")
    assert VolunteerEvent.objects.filter(volunteer=north_volunteer, changes__channel=["auto", "whatsapp"]).exists()
    # when: the coordinator assigns her through the API
    api = APIClient()
    api.force_authenticate(north_coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/assignments/assign/",
            {
                "volunteer": north_volunteer.pk,
                "place": geo.north_place.pk,
                "table": geo.north_tables[0].pk,
                "role": "table",
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    # then: she never wrote from WhatsApp, so the approved template opens the conversation
    (post,) = whatsapp.requests
    assert post["To"] == f"whatsapp:{north_volunteer.phone}" and post["From"] == f"whatsapp:{WA_FROM}"
    assert post["ContentSid"] == ASSIGNMENT_SID and "Body" not in post
    variables = json.loads(post["ContentVariables"])
    assert variables["1"] == "María" and variables["2"] == "Escuela Norte" and variables["3"] == "1"
    message = OutboundMessage.objects.get(volunteer=north_volunteer)
    assert (message.channel, message.content_sid, message.status) == ("whatsapp", ASSIGNMENT_SID, "sent")
    assignment = Assignment.objects.get(volunteer=north_volunteer)
    assert assignment.status == AssignmentStatus.NOTIFIED
    _callback(signed_post, message, "delivered")
    # when: she answers "si" on WhatsApp, through the signed webhook
    response = signed_post("/sms/inbound/", _wa(north_volunteer.phone, "si"))
    # then: confirmed, answered in the same conversation, and the 24-hour window is open
    assert response.status_code == 200 and "confirmaste" in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.CONFIRMED
    inbound = InboundMessage.objects.get()
    assert (inbound.channel, inbound.volunteer_id, inbound.keyword) == ("whatsapp", north_volunteer.pk, "yes")
    north_volunteer.refresh_from_db()
    assert north_volunteer.whatsapp_inbound_at is not None
    # when: she sends a photo of the table
    url = whatsapp.add_media("image/jpeg", JPEG)
    response = signed_post("/sms/inbound/", _wa(north_volunteer.phone, "Todo tranquilo por acá", [url]))
    # then: it is posted to her school's thread with the photo
    assert response.status_code == 200
    posted = Message.objects.get()
    assert posted.thread.place == geo.north_place and posted.body == "Todo tranquilo por acá"
    assert Attachment.objects.get(message=posted).file.read() == JPEG
    # when: an instruction goes now (inside the window: free text, no template) and WhatsApp fails it
    instruction = outbound_queue(
        volunteer=north_volunteer, kind="instruction", body="Fiscaliza: traé lapicera", segments=1, encoding="GSM-7"
    )
    assert outbound_send(message_id=instruction.pk) == "sent"
    instruction.refresh_from_db()
    assert whatsapp.requests[-1]["Body"] == "Fiscaliza: traé lapicera" and "ContentSid" not in whatsapp.requests[-1]
    with django_capture_on_commit_callbacks(execute=True):
        assert _callback(signed_post, instruction, "failed", ErrorCode="63016").status_code == 204
    # then: it goes again by SMS, to the plain number from the SMS pool
    sms = OutboundMessage.objects.get(fallback_of=instruction)
    assert (sms.channel, sms.status, sms.body) == ("sms", "sent", "Fiscaliza: traé lapicera")
    by_sms = whatsapp.posts_to(north_volunteer.phone)
    assert len(by_sms) == 1 and by_sms[0]["From"] == "+15005550006" and by_sms[0]["Body"] == sms.body
    # and never twice: the callback repeated, undelivered after it, the sweep
    with django_capture_on_commit_callbacks(execute=True):
        _callback(signed_post, instruction, "failed", ErrorCode="63016")
        _callback(signed_post, instruction, "undelivered")
        assert whatsapp_fallback_sweep(older_than_seconds=0) == 0
    assert OutboundMessage.objects.filter(fallback_of__isnull=False).count() == 1
    assert len(whatsapp.posts_to(north_volunteer.phone)) == 1
    # and a WhatsApp error does not opt her out of SMS
    north_volunteer.refresh_from_db()
    assert not north_volunteer.opted_out


def test_a_whatsapp_message_with_no_delivered_status_in_time_goes_by_sms_once(
    north_volunteer, whatsapp, django_capture_on_commit_callbacks, settings
):
    settings.WHATSAPP_FALLBACK_AFTER = 600
    volunteer_update(volunteer=north_volunteer, actor=None, source="web", channel="whatsapp")
    message = outbound_queue(
        volunteer=north_volunteer, kind="instruction", body="Fiscaliza: hola", segments=1, encoding="GSM-7"
    )
    outbound_send(message_id=message.pk)
    assert whatsapp.requests[0]["ContentSid"] == INSTRUCTION_SID  # outside the window: the template
    assert json.loads(whatsapp.requests[0]["ContentVariables"]) == {"1": "Fiscaliza: hola"}
    # when: the sweep runs before the time is up
    assert whatsapp_fallback_sweep() == 0
    # when: the time is up with no delivered (Twilio took it 11 minutes ago)
    OutboundMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now() - timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        assert whatsapp_fallback_sweep() == 1
        assert whatsapp_fallback_sweep() == 0
    assert [p["To"] for p in whatsapp.requests] == [f"whatsapp:{north_volunteer.phone}", north_volunteer.phone]


def test_a_delivered_whatsapp_message_is_never_sent_again(
    north_volunteer, whatsapp, signed_post, django_capture_on_commit_callbacks
):
    volunteer_update(volunteer=north_volunteer, actor=None, source="web", channel="whatsapp")
    message = outbound_queue(
        volunteer=north_volunteer, kind="instruction", body="F: hola", segments=1, encoding="GSM-7"
    )
    outbound_send(message_id=message.pk)
    message.refresh_from_db()
    _callback(signed_post, message, "read")
    OutboundMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert whatsapp_fallback_sweep(older_than_seconds=0) == 0
    assert len(whatsapp.requests) == 1


def test_a_kind_without_an_approved_template_goes_by_sms_outside_the_window(north_volunteer, whatsapp, settings):
    settings.WHATSAPP_TEMPLATES = {}
    volunteer_update(volunteer=north_volunteer, actor=None, source="web", channel="whatsapp")
    message = outbound_queue(
        volunteer=north_volunteer, kind="instruction", body="F: hola", segments=1, encoding="GSM-7"
    )
    assert message.channel == "sms"
    outbound_send(message_id=message.pk)
    assert whatsapp.requests[0]["To"] == north_volunteer.phone


def test_automatic_channel_turns_to_whatsapp_once_the_number_wrote_from_it(
    north_volunteer, whatsapp, signed_post, assigned
):
    assert north_volunteer.channel == "auto"
    first = outbound_queue(volunteer=north_volunteer, kind="instruction", body="F: uno", segments=1, encoding="GSM-7")
    assert first.channel == "sms"
    signed_post("/sms/inbound/", _wa(north_volunteer.phone, "mesa"))
    north_volunteer.refresh_from_db()
    second = outbound_queue(volunteer=north_volunteer, kind="instruction", body="F: dos", segments=1, encoding="GSM-7")
    assert (second.channel, second.content_sid) == ("whatsapp", "")  # in the window: free text


def test_keywords_whatsapp_and_sms_set_the_channel_audited(north_volunteer, whatsapp, signed_post):
    response = signed_post("/sms/inbound/", _sms(north_volunteer.phone, "WhatsApp"))
    assert "WhatsApp" in response.content.decode()
    north_volunteer.refresh_from_db()
    assert north_volunteer.channel == "whatsapp"
    signed_post("/sms/inbound/", _wa(north_volunteer.phone, "sms"))
    north_volunteer.refresh_from_db()
    assert north_volunteer.channel == "sms"
    events = VolunteerEvent.objects.filter(volunteer=north_volunteer, source="sms").order_by("id")
    assert [e.changes["channel"] for e in events] == [["auto", "whatsapp"], ["whatsapp", "sms"]]


def test_stop_on_whatsapp_opts_out_and_is_answered_by_us(north_volunteer, whatsapp, signed_post, settings):
    settings.SMS_TWILIO_DEFAULT_OPT_OUT = True  # Twilio answers STOP by SMS, never on WhatsApp
    response = signed_post("/sms/inbound/", _wa(north_volunteer.phone, "STOP"))
    north_volunteer.refresh_from_db()
    assert north_volunteer.opted_out
    assert "no te enviaremos" in response.content.decode()


def test_bad_signature_and_duplicates_on_whatsapp(north_volunteer, whatsapp, signed_post, assigned):
    params = _wa(north_volunteer.phone, "si")
    assert signed_post("/sms/inbound/", params, token="wrong").status_code == 403
    assert not InboundMessage.objects.exists()
    first = signed_post("/sms/inbound/", params).content
    again = signed_post("/sms/inbound/", params).content
    assert first == again and InboundMessage.objects.count() == 1


def test_whatsapp_number_without_the_9_finds_the_volunteer(north_volunteer, whatsapp, signed_post):
    assert north_volunteer.phone.startswith("+549")
    signed_post("/sms/inbound/", _wa("+54" + north_volunteer.phone[4:], "ayuda"))
    assert InboundMessage.objects.get().volunteer_id == north_volunteer.pk


def test_the_api_and_the_portal_set_the_channel(north_volunteer, north_coordinator, client):
    api = APIClient()
    api.force_authenticate(north_coordinator)
    response = api.patch(f"/api/volunteers/{north_volunteer.pk}/", {"channel": "whatsapp"}, format="json")
    assert response.status_code == 200 and response.json()["channel"] == "whatsapp"
    bad = api.patch(f"/api/volunteers/{north_volunteer.pk}/", {"channel": "paloma"}, format="json")
    assert bad.status_code == 400
    client.force_login(north_volunteer.user)
    assert client.post("/mi/canal/", {"channel": "sms"}).status_code == 302
    assert Volunteer.objects.get(pk=north_volunteer.pk).channel == "sms"
    assert client.post("/mi/canal/", {"channel": "paloma"}).status_code == 302
    assert Volunteer.objects.get(pk=north_volunteer.pk).channel == "sms"


def test_dev_page_answers_as_whatsapp_and_shows_both_channels(
    client, lead, north_volunteer, assigned, settings, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "local"
    client.force_login(lead)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/dev/sms/", {"phone": north_volunteer.phone, "body": "SI", "channel": "whatsapp"})
    inbound = InboundMessage.objects.get()
    assert inbound.channel == "whatsapp" and inbound.from_number == f"whatsapp:{north_volunteer.phone}"
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.CONFIRMED
    page = client.get("/dev/sms/").content.decode()
    assert "WhatsApp" in page and f"whatsapp:{north_volunteer.phone}" in page


def test_bad_template_settings_say_what_is_wrong():
    with pytest.raises(ImproperlyConfigured, match="HX"):
        templates_parse({"assignment": {"sid": "nope"}})
    with pytest.raises(ImproperlyConfigured, match="colegio"):
        templates_parse({"assignment": {"sid": "HX1", "variables": ["colegio"]}})


def _sms(phone: str, body: str) -> dict:
    return {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC0",
        "From": phone,
        "To": "+15005550006",
        "Body": body,
    }


def test_broadcast_preview_counts_and_costs_per_channel(geo, lead, north_volunteer, south_volunteer, settings):
    settings.SMS_BACKEND = "local"
    settings.SMS_COST_PER_SEGMENT = "0.0500"
    settings.WHATSAPP_COST_PER_MESSAGE = "0.0300"
    settings.WHATSAPP_TEMPLATES = {"instruction": {"sid": INSTRUCTION_SID, "variables": ["texto"]}}
    volunteer_update(volunteer=north_volunteer, actor=None, source="web", channel="whatsapp")
    preview = broadcast_preview(user=lead, election=geo.election, body="Fiscaliza: traigan DNI", segment={})
    assert (preview.recipients, preview.sms_recipients, preview.whatsapp_recipients) == (2, 1, 1)
    assert (str(preview.sms_cost), str(preview.whatsapp_cost)) == ("0.0500", "0.0300")
    assert preview.estimated_cost == preview.sms_cost + preview.whatsapp_cost


def test_a_whatsapp_send_twilio_refuses_goes_by_sms_at_once(
    north_volunteer, whatsapp, django_capture_on_commit_callbacks
):
    volunteer_update(volunteer=north_volunteer, actor=None, source="web", channel="whatsapp")
    whatsapp.script.append(("error", 400, 63003))  # not a WhatsApp number
    message = outbound_queue(
        volunteer=north_volunteer, kind="instruction", body="F: hola", segments=1, encoding="GSM-7"
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert outbound_send(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == "failed" and message.fallback.status == "sent"
    assert [p["To"] for p in whatsapp.requests] == [f"whatsapp:{north_volunteer.phone}", north_volunteer.phone]
    north_volunteer.refresh_from_db()
    assert not north_volunteer.opted_out


def test_a_template_whose_answer_was_lost_is_found_by_recipient_and_time_and_never_sent_twice(
    north_volunteer, whatsapp, settings
):
    # given: a WhatsApp volunteer outside the 24-hour window gets an instruction as a template;
    # Twilio accepts it but our client times out before reading the SID
    volunteer_update(volunteer=north_volunteer, actor=None, source="web", channel="whatsapp")
    settings.TWILIO_HTTP_TIMEOUT = 0.3
    whatsapp.script.append(("hang", 0.8))
    message = outbound_queue(
        volunteer=north_volunteer, kind="instruction", body="F: llevá DNI", segments=1, encoding="UCS-2"
    )
    assert outbound_send(message_id=message.pk) == "unknown"
    message.refresh_from_db()
    assert message.content_sid == INSTRUCTION_SID and message.sid is None
    # when: the reconciler asks Twilio, whose copy of the text is its own rendering of the template
    settings.TWILIO_HTTP_TIMEOUT = 2.0
    outcome = outbound_reconcile(older_than_seconds=0)
    # then: adopted by recipient and time, not re-sent
    message.refresh_from_db()
    twilio_copy = whatsapp.messages[message.sid]
    assert outcome == {"found": 1, "requeued": 0, "errors": 0}
    assert twilio_copy["body"] != message.body and twilio_copy["content_sid"] == INSTRUCTION_SID
    assert message.status == "sent" and len(whatsapp.requests) == 1


def test_the_volunteers_page_shows_each_messages_channel_and_the_sms_resend_of_a_failed_whatsapp(
    north_volunteer, north_coordinator, whatsapp, client, django_capture_on_commit_callbacks
):
    volunteer_update(volunteer=north_volunteer, actor=None, source="web", channel="whatsapp")
    whatsapp.script.append(("error", 400, 63003))  # not a WhatsApp number
    message = outbound_queue(
        volunteer=north_volunteer, kind="instruction", body="F: hola", segments=1, encoding="GSM-7"
    )
    with django_capture_on_commit_callbacks(execute=True):
        outbound_send(message_id=message.pk)
    client.force_login(north_coordinator)
    # when
    page = client.get(f"/consola/fiscales/{north_volunteer.pk}/")
    # then: newest first, the SMS that carried it again, then the WhatsApp that failed
    metas = [" ".join(m.split()) for m in re.findall(r'data-testid="message-meta">(.*?)</span>', page.content.decode())]
    assert len(metas) == 2
    assert "· SMS · reenvío por SMS de un WhatsApp fallido ·" in metas[0]
    assert "· WhatsApp ·" in metas[1] and "reenvío" not in metas[1]
