"""REST history, posting and moderation; the thread page with and without JavaScript."""

import datetime
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from backend.threads import services
from backend.threads.models import Message, ThreadModerationEvent, ThreadMute
from tests.factories import UserFactory

from .conftest import member_volunteer


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def thread(geo):
    return services.thread_get_or_create(place=geo.north_place)


def test_history_is_paged_backwards_and_forwards_by_id_cursor(geo, thread):
    # given
    ana = member_volunteer(geo, "ana")
    ids = [services.message_post_as(actor=ana.user, thread=thread, body=f"m{n}").pk for n in range(5)]
    api = _client(ana.user)
    url = f"/api/threads/{geo.north_place.pk}/messages/"
    # when
    newest = api.get(url, {"limit": 2}).json()
    older = api.get(url, {"limit": 2, "before": newest["before"]}).json()
    oldest = api.get(url, {"limit": 2, "before": older["before"]}).json()
    newer = api.get(url, {"after": ids[2]}).json()
    # then
    assert [m["id"] for m in newest["results"]] == ids[3:]
    assert [m["id"] for m in older["results"]] == ids[1:3]
    assert [m["id"] for m in oldest["results"]] == ids[:1] and oldest["before"] is None
    assert [m["id"] for m in newer["results"]] == ids[3:] and newer["after"] == ids[4]


def test_history_and_posting_are_closed_to_non_members(geo, thread):
    carla = member_volunteer(geo, "carla", place=geo.south_place)
    api = _client(carla.user)
    url = f"/api/threads/{geo.north_place.pk}/messages/"
    assert api.get(url).status_code == 404
    assert api.post(url, {"body": "hola"}, content_type="application/json").status_code == 404
    assert Client().get(url).status_code in {401, 403}
    assert not Message.objects.exists()


def test_posting_over_rest_and_bad_input_get_a_clear_error(geo, thread):
    ana = member_volunteer(geo, "ana")
    api = _client(ana.user)
    url = f"/api/threads/{geo.north_place.pk}/messages/"
    created = api.post(url, {"body": "Llegué a la escuela"}, content_type="application/json")
    too_long = api.post(url, {"body": "x" * 2001}, content_type="application/json")
    bad_cursor = api.get(url, {"before": "abc"})
    assert created.status_code == 201 and created.json()["body"] == "Llegué a la escuela"
    assert too_long.status_code == 400 and too_long.json()["code"] == "validation_error"
    assert bad_cursor.status_code == 400
    assert Message.objects.count() == 1


def test_coordinators_hide_pin_and_mute_over_rest_and_volunteers_cannot(geo, thread, north_coordinator):
    # given
    ana = member_volunteer(geo, "ana")
    message = services.message_post_as(actor=ana.user, thread=thread, body="algo")
    coord, vol = _client(north_coordinator), _client(ana.user)
    # when
    refused = vol.post(f"/api/threads/messages/{message.pk}/hide/", {"reason": "no"}, content_type="application/json")
    hidden = coord.post(
        f"/api/threads/messages/{message.pk}/hide/", {"reason": "spam"}, content_type="application/json"
    )
    pinned = coord.post(f"/api/threads/messages/{message.pk}/pin/", {}, content_type="application/json")
    muted = coord.post(
        f"/api/threads/{geo.north_place.pk}/mute/",
        {"volunteer": ana.pk, "reason": "x"},
        content_type="application/json",
    )
    # then
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert hidden.json()["hidden"] is True and pinned.json()["pinned"] is True
    assert muted.json() == {"volunteer": ana.pk, "muted": True}
    assert ThreadMute.objects.filter(thread=thread, volunteer=ana).exists()
    assert ThreadModerationEvent.objects.count() == 3
    # the member no longer sees the hidden message in the history
    assert vol.get(f"/api/threads/{geo.north_place.pk}/messages/").json()["results"] == []


def test_unread_announcements_endpoint_is_for_coordinators(geo, thread, north_coordinator, settings):
    settings.THREADS_UNREAD_ESCALATION_AFTER = datetime.timedelta(minutes=5)
    ana = member_volunteer(geo, "ana")
    message = services.message_post_as(actor=north_coordinator, thread=thread, body="Aviso", announcement=True)
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=30))
    rows = _client(north_coordinator).get("/api/threads/announcements/unread/").json()["results"]
    assert [(r["message_id"], r["volunteer_id"], r["volunteer_name"]) for r in rows] == [
        (message.pk, ana.pk, "Ana Test")
    ]
    assert _client(ana.user).get("/api/threads/announcements/unread/").status_code == 403


def test_the_page_renders_the_thread_in_spanish_and_marks_it_read(geo, thread, north_coordinator):
    # given
    ana = member_volunteer(geo, "ana")
    first = services.message_post_as(actor=north_coordinator, thread=thread, body="Bienvenidos", announcement=True)
    services.message_set_pinned(actor=north_coordinator, message=first, pinned=True)
    # when
    page = _client(ana.user).get(f"/hilos/{geo.north_place.pk}/")
    # then
    html = page.content.decode()
    assert page.status_code == 200
    assert "Escuela Norte" in html and "Bienvenidos" in html and "Fijados" in html and "Anuncio" in html
    assert "sin conexión" in html and 'name="body"' in html and "Enviar" in html
    assert f'data-last-id="{first.pk}"' in html
    assert "&lt;Message" not in html and "<Message" not in html  # nothing leaks into the flash list
    assert ana.user.thread_read_states.get().last_read_id == first.pk


def test_the_form_posts_without_javascript_and_errors_are_shown(geo, thread):
    ana = member_volunteer(geo, "ana")
    page = _client(ana.user)
    ok = page.post(f"/hilos/{geo.north_place.pk}/", {"body": "Sin datos, mando por el formulario"})
    empty = page.post(f"/hilos/{geo.north_place.pk}/", {"body": "   "})
    assert ok.status_code == 302 and ok["Location"].startswith(f"/hilos/{geo.north_place.pk}/")
    assert Message.objects.get().body == "Sin datos, mando por el formulario"
    assert empty.status_code == 400 and "El mensaje está vacío." in empty.content.decode()


def test_the_page_is_closed_to_strangers(geo, thread):
    carla = member_volunteer(geo, "carla", place=geo.south_place)
    assert _client(carla.user).get(f"/hilos/{geo.north_place.pk}/").status_code == 404
    assert (
        _client(UserFactory(username="nadie", role="volunteer")).get(f"/hilos/{geo.north_place.pk}/").status_code == 404
    )
    assert Client().get(f"/hilos/{geo.north_place.pk}/").status_code == 302


def test_the_page_with_its_assets_weighs_under_100_kb(geo, thread):
    # given: a full first page of long messages
    ana = member_volunteer(geo, "ana")
    for n in range(50):
        services.message_post_as(actor=ana.user, thread=thread, body=f"Mensaje {n}: " + "texto de la mesa " * 10)
    # when
    html = _client(ana.user).get(f"/hilos/{geo.north_place.pk}/").content
    assets = re.findall(r'(?:href|src)="/static/([^"]+)"', html.decode())
    static_dirs = [
        Path(django_settings.BASE_DIR) / "backend" / "static",
        Path(__file__).parents[2] / "backend/threads/static",
    ]
    sizes = {a: next((d / a).stat().st_size for d in static_dirs if (d / a).exists()) for a in assets}
    # then
    assert set(assets) == {"css/app.css", "threads/thread.css", "threads/thread.js"}
    assert len(html) + sum(sizes.values()) < 100 * 1024
