"""Thread services: storing before broadcasting, moderation audit, announcements by SMS, escalation."""

import datetime
import json

import pytest
from django.utils import timezone

from backend.core import live
from backend.core.exceptions import ApplicationError, PermissionDenied
from backend.notices.models import Notice, NoticeKind
from backend.threads import services
from backend.threads.models import AnnouncementDelivery, Message, ModerationKind, ThreadModerationEvent
from backend.threads.selectors import announcement_unread_list, message_list
from backend.volunteers.models import Volunteer
from tests.factories import VolunteerFactory

from .conftest import assign, member_volunteer


@pytest.fixture
def thread(geo):
    return services.thread_get_or_create(place=geo.north_place)


def test_a_post_is_broadcast_only_after_it_is_committed(geo, thread, django_capture_on_commit_callbacks, monkeypatch):
    # given
    ana = member_volunteer(geo, "ana")
    sent = []
    monkeypatch.setattr(live, "_send", lambda group, event: sent.append((group, event)))
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = services.message_post_as(actor=ana.user, thread=thread, body="  Hola mesa 1  ")
    # then: stored, nothing sent until the transaction commits
    assert Message.objects.get(pk=message.pk).body == "Hola mesa 1"
    assert sent == []
    for callback in callbacks:
        callback()
    [(group, event)] = sent
    assert group == f"thread.{thread.pk}" and event["type"] == "message.created"
    assert event["message"]["id"] == message.pk and event["message"]["author"] == "Ana Test"
    assert json.loads(event["frame"]) == {"type": "message", "message": event["message"]}


@pytest.mark.parametrize(
    ("body", "code"), [("", "empty_message"), ("   ", "empty_message"), ("x" * 2001, "message_too_long")]
)
def test_bad_bodies_are_refused_and_change_nothing(geo, thread, body, code):
    ana = member_volunteer(geo, "ana")
    with pytest.raises(ApplicationError) as error:
        services.message_post_as(actor=ana.user, thread=thread, body=body)
    assert error.value.code == code
    assert not Message.objects.exists()


def test_a_member_of_another_place_cannot_post_and_volunteers_cannot_announce(geo, thread):
    # given
    ana = member_volunteer(geo, "ana")
    carla = member_volunteer(geo, "carla", place=geo.south_place)
    # when / then
    with pytest.raises(PermissionDenied):
        services.message_post_as(actor=carla.user, thread=thread, body="hola")
    with pytest.raises(PermissionDenied):
        services.message_post_as(actor=ana.user, thread=thread, body="anuncio", announcement=True)
    assert not Message.objects.exists()


def test_moderation_is_audited_and_reserved_to_coordinators(geo, thread, north_coordinator):
    # given
    ana = member_volunteer(geo, "ana")
    message = services.message_post_as(actor=ana.user, thread=thread, body="algo")
    # when
    services.message_set_hidden(actor=north_coordinator, message=message, hidden=True, reason="spam")
    services.message_set_hidden(actor=north_coordinator, message=message, hidden=True, reason="otra vez")
    services.message_set_pinned(actor=north_coordinator, message=message, pinned=True)
    services.member_set_muted(actor=north_coordinator, thread=thread, volunteer=ana, muted=True, reason="insultos")
    # then: one event per real change (hiding twice is one change)
    events = list(ThreadModerationEvent.objects.values_list("kind", "actor__username", "reason"))
    assert events == [
        (ModerationKind.HIDE, "coord-norte", "spam"),
        (ModerationKind.PIN, "coord-norte", ""),
        (ModerationKind.MUTE, "coord-norte", "insultos"),
    ]
    with pytest.raises(ApplicationError) as error:
        services.message_post_as(actor=ana.user, thread=thread, body="¿me escuchan?")
    assert error.value.code == "muted"
    with pytest.raises(PermissionDenied):
        services.message_set_hidden(actor=ana.user, message=message, hidden=False)
    assert Message.objects.get(pk=message.pk).hidden is True


def test_a_muted_volunteer_cannot_post_by_sms_either(geo, thread, north_coordinator):
    ana = member_volunteer(geo, "ana")
    services.member_set_muted(actor=north_coordinator, thread=thread, volunteer=ana, muted=True)
    with pytest.raises(ApplicationError) as error:
        services.message_post_from_sms(volunteer=ana, body="hola")
    assert error.value.code == "muted"
    services.member_set_muted(actor=north_coordinator, thread=thread, volunteer=ana, muted=False)
    assert services.message_post_from_sms(volunteer=ana, body="hola").source == "sms"


def test_sms_from_a_volunteer_without_an_assignment_is_not_posted(geo):
    assert services.message_post_from_sms(volunteer=VolunteerFactory(), body="hola") is None
    assert not Message.objects.exists()


def test_history_pages_by_id_cursor(geo, thread):
    ana = member_volunteer(geo, "ana")
    ids = [services.message_post_as(actor=ana.user, thread=thread, body=f"m{n}").pk for n in range(7)]
    assert [m.pk for m in message_list(thread=thread, moderator=False, limit=3)] == ids[4:]
    assert [m.pk for m in message_list(thread=thread, moderator=False, before=ids[4], limit=3)] == ids[1:4]
    assert [m.pk for m in message_list(thread=thread, moderator=False, after=ids[1], limit=3)] == ids[2:5]


def test_read_receipts_only_move_forward_and_never_past_the_last_message(geo, thread):
    ana = member_volunteer(geo, "ana")
    ids = [services.message_post_as(actor=ana.user, thread=thread, body=f"m{n}").pk for n in range(3)]
    assert services.thread_mark_read(user=ana.user, thread=thread, last_id=ids[1]) == ids[1]
    assert services.thread_mark_read(user=ana.user, thread=thread, last_id=ids[0]) == ids[1]
    assert services.thread_mark_read(user=ana.user, thread=thread, last_id=ids[2] + 1000) == ids[2]


def _announce(geo, thread, coordinator, body="Cierre de mesas 18 h", minutes_ago=10):
    message = services.message_post_as(actor=coordinator, thread=thread, body=body, announcement=True)
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=minutes_ago))
    return Message.objects.select_related("thread__place").get(pk=message.pk)


def test_announcements_go_by_sms_once_to_members_not_seen_on_the_web_since(geo, thread, north_coordinator):
    # given: ana was on the web after the announcement, beto only before it, dora never (SMS only)
    ana, beto = member_volunteer(geo, "ana"), member_volunteer(geo, "beto", table_index=1)
    dora = VolunteerFactory(first_name="Dora")
    assign(dora, geo.north_place, geo.north_tables[2])
    carla = member_volunteer(geo, "carla", place=geo.south_place)
    announcement = _announce(geo, thread, north_coordinator)
    Volunteer.objects.filter(pk=ana.pk).update(last_seen_web_at=announcement.created_at + datetime.timedelta(minutes=1))
    Volunteer.objects.filter(pk=beto.pk).update(last_seen_web_at=announcement.created_at - datetime.timedelta(hours=1))
    # when: the task runs, and runs again
    first = services.announcement_sms_dispatch(message=announcement)
    second = services.announcements_sms_sweep()
    # then
    notices = Notice.objects.filter(kind=NoticeKind.ANNOUNCEMENT)
    assert first == 2 and second == 0
    assert set(notices.values_list("volunteer_id", flat=True)) == {beto.pk, dora.pk}
    assert notices.first().payload["body"] == "Cierre de mesas 18 h"
    assert not notices.filter(volunteer=carla).exists()
    assert AnnouncementDelivery.objects.count() == 2


def test_announcements_wait_for_the_web_before_going_by_sms(geo, thread, north_coordinator, settings):
    # given: posted just now; the delay gives web readers the first chance
    settings.THREADS_ANNOUNCEMENT_SMS_DELAY = datetime.timedelta(minutes=2)
    member_volunteer(geo, "ana")
    message = services.message_post_as(actor=north_coordinator, thread=thread, body="Aviso", announcement=True)
    # when / then
    assert services.announcement_sms_dispatch(message=message) == 0
    later = timezone.now() + datetime.timedelta(minutes=3)
    assert services.announcement_sms_dispatch(message=message, now=later) == 1


def test_unread_announcements_are_listed_for_the_coordinator_of_the_place(
    geo, thread, north_coordinator, south_coordinator, settings
):
    # given: ana read it on the web, beto received it by SMS, dora neither
    settings.THREADS_UNREAD_ESCALATION_AFTER = datetime.timedelta(minutes=5)
    ana, beto, dora = (member_volunteer(geo, n, table_index=i) for i, n in enumerate(["ana", "beto", "dora"]))
    announcement = _announce(geo, thread, north_coordinator)
    services.thread_mark_read(user=ana.user, thread=thread, last_id=announcement.pk)
    Volunteer.objects.filter(pk__in=[beto.pk, dora.pk]).update(last_seen_web_at=None)
    services.announcement_sms_dispatch(message=announcement)
    Notice.objects.filter(volunteer=beto).update(processed_at=timezone.now())
    recent = _announce(geo, thread, north_coordinator, body="recién", minutes_ago=1)
    # when
    rows = announcement_unread_list(user=north_coordinator)
    # then: only dora, only the announcement older than the escalation time
    assert [(r.message_id, r.volunteer_id) for r in rows] == [(announcement.pk, dora.pk)]
    assert recent.pk not in {r.message_id for r in rows}
    assert announcement_unread_list(user=south_coordinator) == []
    assert announcement_unread_list(user=dora.user) == []
