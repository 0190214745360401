"""A PROBLEMA by MMS: the photo is fetched from Twilio, stored with its SHA-256 on the incident, and
linked from the incident board and the legal export."""

import hashlib
import io
import uuid

import pytest
from openpyxl import load_workbook

from backend.incidents.models import Incident, IncidentPhoto
from backend.threads.models import Message

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x00" * 200


@pytest.fixture
def media_twilio(twilio_backend, settings):
    twilio_backend.credentials = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    return twilio_backend


def _mms(phone: str, body: str, urls: list[str]) -> dict:
    params = {
        "MessageSid": f"MM{uuid.uuid4().hex}",
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


def test_a_problema_mms_stores_the_photo_on_the_incident_with_its_hash(
    signed_post, media_twilio, assigned, north_volunteer, north_coordinator, south_coordinator, client
):
    url = media_twilio.add_media("image/jpeg", JPEG)
    response = signed_post("/sms/inbound/", _mms(north_volunteer.phone, "PROBLEMA rompieron la urna", [url]))
    assert response.status_code == 200
    incident = Incident.objects.get()
    photo = IncidentPhoto.objects.get(incident=incident)
    assert (photo.content_type, photo.size, photo.sha256) == ("image/jpeg", len(JPEG), hashlib.sha256(JPEG).hexdigest())
    assert photo.file.read() == JPEG
    assert incident.events.filter(kind="photo", to_value=str(photo.pk)).exists()
    assert not Message.objects.exists()  # the photo went with the report, not to the thread

    client.force_login(north_coordinator)
    board = client.get("/consola/dia/incidentes/").content.decode()
    assert f"/consola/dia/incidentes/fotos/{photo.pk}/" in board
    served = client.get(f"/consola/dia/incidentes/fotos/{photo.pk}/")
    assert served.status_code == 200 and b"".join(served.streaming_content) == JPEG
    sheet = load_workbook(io.BytesIO(client.get("/consola/dia/incidentes.xlsx").content)).active
    rows = list(sheet.iter_rows(values_only=True))
    links = dict(zip(rows[0], rows[1], strict=True))["Fotos"]
    assert links == f"http://testserver/consola/dia/incidentes/fotos/{photo.pk}/"

    client.force_login(south_coordinator)
    assert client.get(f"/consola/dia/incidentes/fotos/{photo.pk}/").status_code == 404


def test_a_problema_with_only_a_photo_is_kept(signed_post, media_twilio, assigned, north_volunteer):
    url = media_twilio.add_media("image/jpeg", JPEG)
    signed_post("/sms/inbound/", _mms(north_volunteer.phone, "PROBLEMA", [url]))
    incident = Incident.objects.get()
    assert incident.text == "(foto)" and incident.photos.count() == 1
