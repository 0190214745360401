"""Photos and empty texts from a volunteer's phone, and no inbound message lost to an error."""

import uuid

import pytest

from backend.assignments.models import AssignmentStatus
from backend.messaging.models import InboundMessage, InboundStatus
from backend.threads.models import Attachment, Message

pytestmark = pytest.mark.django_db

# The smallest real files of each kind: what the type check reads is their first bytes.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x00" * 200


@pytest.fixture
def media_twilio(twilio_backend, settings):
    twilio_backend.credentials = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    return twilio_backend


def _mms(phone: str, body: str, urls: list[str], sid: str | None = None) -> dict:
    params = {
        "MessageSid": sid or f"MM{uuid.uuid4().hex}",
        "AccountSid": "AC00000000000000000000000000000000",
        "From": phone,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": str(len(urls)),
    }
    for index, url in enumerate(urls):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = "image/jpeg"
    return params


def test_a_photo_alone_is_fetched_with_the_account_credentials_and_attached_to_the_thread_post(
    signed_post, media_twilio, assigned, north_volunteer, client, settings
):
    # given: the photo Twilio stores behind HTTP auth
    url = media_twilio.add_media("image/jpeg", JPEG)
    # when: an MMS with the photo and no text
    response = signed_post("/sms/inbound/", _mms(north_volunteer.phone, "", [url]))
    # then: answered (no 500), the photo fetched with the account's credentials ...
    assert response.status_code == 200
    assert "llegó al grupo" in response.content.decode() or "llego al grupo" in response.content.decode()
    assert media_twilio.media_requests and media_twilio.media_requests[0].startswith("Basic ")
    # ... stored and attached to the volunteer's post in their school's thread
    message = Message.objects.get()
    assert message.thread.place == assigned.place and message.author_volunteer == north_volunteer
    attachment = Attachment.objects.get(message=message)
    assert attachment.content_type == "image/jpeg" and attachment.size == len(JPEG)
    assert attachment.file.read() == JPEG
    assert InboundMessage.objects.get().status == InboundStatus.PROCESSED


def test_photo_with_text_and_two_photos(signed_post, media_twilio, assigned, north_volunteer):
    urls = [media_twilio.add_media("image/jpeg", JPEG), media_twilio.add_media("image/png", PNG)]
    signed_post("/sms/inbound/", _mms(north_volunteer.phone, "Así quedó el acta", urls))
    message = Message.objects.get()
    assert message.body == "Así quedó el acta"
    assert sorted(message.attachments.values_list("content_type", flat=True)) == ["image/jpeg", "image/png"]


def test_the_photo_is_shown_only_to_members_of_the_thread(
    signed_post, media_twilio, assigned, north_volunteer, north_coordinator, south_coordinator, client
):
    signed_post("/sms/inbound/", _mms(north_volunteer.phone, "", [media_twilio.add_media("image/png", PNG)]))
    attachment = Attachment.objects.get()
    client.force_login(north_coordinator)
    page = client.get(f"/hilos/{assigned.place_id}/").content.decode()
    assert f"/hilos/adjuntos/{attachment.pk}/" in page
    served = client.get(f"/hilos/adjuntos/{attachment.pk}/")
    assert served.status_code == 200 and b"".join(served.streaming_content) == PNG
    client.force_login(south_coordinator)
    assert client.get(f"/hilos/adjuntos/{attachment.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("content_type", "data", "why"),
    [
        ("application/pdf", b"%PDF-1.4 ...", "Solo se guardan fotos"),
        ("image/jpeg", b"<html>not a photo</html>", "Solo se guardan fotos"),
        ("image/jpeg", JPEG + b"\x00" * 3000, "supera el tamaño"),
    ],
)
def test_wrong_type_or_size_is_refused_with_a_reason(
    signed_post, media_twilio, assigned, north_volunteer, settings, content_type, data, why
):
    # given: a 2 KB limit
    settings.SMS_MEDIA_MAX_BYTES = 2048
    url = media_twilio.add_media(content_type, data)
    # when
    reply = signed_post("/sms/inbound/", _mms(north_volunteer.phone, "", [url])).content.decode()
    # then: nothing stored, the volunteer told why, the inbound row processed (not lost, not failed)
    assert not Attachment.objects.exists() and not Message.objects.exists()
    assert "no pudimos guardar tu foto" in reply
    assert why.replace("ñ", "n") in reply or why in reply
    assert InboundMessage.objects.get().status == InboundStatus.PROCESSED


def test_a_media_url_off_twilio_is_never_fetched(signed_post, media_twilio, assigned, north_volunteer):
    signed_post("/sms/inbound/", _mms(north_volunteer.phone, "", ["http://169.254.169.254/latest/meta-data"]))
    assert not Attachment.objects.exists()
    assert media_twilio.media_requests == []


def test_wrong_credentials_store_nothing_but_the_text_still_arrives(
    signed_post, media_twilio, assigned, north_volunteer, settings
):
    media_twilio.credentials = ("ACother", "other-token")
    url = media_twilio.add_media("image/jpeg", JPEG)
    signed_post("/sms/inbound/", _mms(north_volunteer.phone, "foto de la fila", [url]))
    assert Message.objects.get().body == "foto de la fila"
    assert not Attachment.objects.exists()


def test_an_empty_text_gets_the_help(signed_post, assigned, north_volunteer):
    reply = signed_post("/sms/inbound/", _mms(north_volunteer.phone, "", [])).content.decode()
    assert "MESA" in reply and "LLEGUE" in reply
    assert not Message.objects.exists()


def test_an_error_marks_the_row_failed_and_twilios_retry_acts_once(signed_post, assigned, north_volunteer, monkeypatch):
    # given: confirming blows up the first time (a database hiccup, a bug)
    import sms.commands

    real = sms.commands.assignment_confirm
    calls = {"n": 0}

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(sms.commands, "assignment_confirm", flaky)
    params = _mms(north_volunteer.phone, "si", [], sid="SMretry0001")
    # when: the first delivery fails
    first = signed_post("/sms/inbound/", params)
    # then: no 500, the row kept with its error, nothing changed
    assert first.status_code == 200 and "no pudimos procesarlo" in first.content.decode()
    row = InboundMessage.objects.get()
    assert row.status == InboundStatus.FAILED and "database went away" in row.error
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.PROPOSED
    # when: Twilio retries the same SID, twice
    second = signed_post("/sms/inbound/", params)
    third = signed_post("/sms/inbound/", params)
    # then: it acted exactly once, and the repeat got the same answer
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.CONFIRMED
    assert assigned.events.filter(to_status="confirmed").count() == 1
    assert "confirmaste" in second.content.decode() and second.content == third.content
    row.refresh_from_db()
    assert row.status == InboundStatus.PROCESSED and row.attempts == 2 and row.error == ""
    assert InboundMessage.objects.count() == 1
