"""The thread socket's own reads: who holds the session, may they join, and the catch-up page.

`thread_member_for_session` replaces AuthMiddlewareStack and `thread_member_get` on the socket's
connect (two queries in one thread hop); it must answer exactly what they answer. The catch-up
page (`message_rows_after`) must give the payloads `message_list` gives.
"""

import datetime

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.crypto import get_random_string

from backend.accounts.models import Role
from backend.threads import selectors
from backend.threads.models import Thread
from backend.threads.payloads import message_payload, message_payload_from_row
from backend.threads.services import message_post, message_set_hidden, thread_post_system_notice
from tests.factories import CoordinatorScopeFactory, UserFactory, VolunteerFactory

from .conftest import assign, member_volunteer, session_cookie


def _key(user) -> str:
    return session_cookie(user).split("=", 1)[1]


@pytest.fixture
def people(geo, north_coordinator, south_coordinator, lead):
    ana = member_volunteer(geo, "ana")
    general = VolunteerFactory(user=UserFactory(username="general", role=Role.VOLUNTEER))
    assign(general, geo.north_place)  # the fiscal general of the north place
    carla = member_volunteer(geo, "carla", place=geo.south_place)
    stranger = VolunteerFactory(user=UserFactory(username="nadie", role=Role.VOLUNTEER))
    both = UserFactory(username="doble", role=Role.COORDINATOR)
    CoordinatorScopeFactory(user=both, area=geo.south)
    CoordinatorScopeFactory(user=both, area=geo.north)
    return {
        "ana": ana.user,
        "general": general.user,
        "carla": carla.user,
        "stranger": stranger.user,
        "coord-norte": north_coordinator,
        "coord-sur": south_coordinator,
        "doble": both,
        "lead": lead,
    }


def test_the_socket_answers_what_the_page_answers_for_every_kind_of_person(geo, people):
    # given: members and strangers of both places, each with a live session
    keys = {name: _key(user) for name, user in people.items()}
    for place in (geo.north_place, geo.south_place):
        for name, user in people.items():
            # when: the socket asks with the session key alone
            found = selectors.thread_member_for_session(session_key=keys[name], place_id=place.pk)
            # then: the same membership as the page's selector for that user, and that user
            expected = selectors.thread_member_get(user=user, place_id=place.pk)
            assert (found[1] if found else None) == expected, (name, place.name)
            if found:
                assert found[0].pk == user.pk


def test_the_socket_reads_a_session_and_a_membership_in_two_queries(geo, people):
    key = _key(people["general"])
    with CaptureQueriesContext(connection) as queries:
        found = selectors.thread_member_for_session(session_key=key, place_id=geo.north_place.pk)
    assert found is not None and found[1].sees_staff and not found[1].moderator
    assert len(queries) == 2


def _session(user, *, expire=None, **changes) -> str:
    data = {
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
        HASH_SESSION_KEY: user.get_session_auth_hash(),
        **changes,
    }
    return _store(SessionStore().encode(data), expire)


def _store(data: str, expire=None) -> str:
    key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
    Session.objects.create(
        session_key=key, session_data=data, expire_date=expire or timezone.now() + datetime.timedelta(hours=1)
    )
    return key


def test_sessions_that_are_no_good_let_nobody_in(geo, people):
    # given: ana's sessions in every state a session can go bad in
    ana = people["ana"]
    place = geo.north_place.pk
    good = _session(ana)
    expired = _session(ana, expire=timezone.now() - datetime.timedelta(seconds=1))
    other_password = _session(ana, **{HASH_SESSION_KEY: "0" * 64})
    no_hash = _session(ana, **{HASH_SESSION_KEY: ""})
    unknown_backend = _session(ana, **{BACKEND_SESSION_KEY: "some.removed.Backend"})
    non_model_backend = _session(ana, **{BACKEND_SESSION_KEY: "backend.accounts.backends.LeadPermissionBackend"})
    not_a_user_id = _session(ana, **{SESSION_KEY: "ana"})
    forged = _store(
        signing.dumps(
            {SESSION_KEY: str(ana.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend"},
            key="not-our-secret",
            salt=SessionStore().key_salt,
            compress=True,
        )
    )

    def joins(key: str) -> bool:
        return selectors.thread_member_for_session(session_key=key, place_id=place) is not None

    # then: only the good one joins; a password change or deactivation closes the good one too
    assert joins(good)
    assert not any(
        joins(k) for k in (expired, other_password, no_hash, unknown_backend, non_model_backend, not_a_user_id, forged)
    )
    assert not joins("nosuchsession" * 2)
    ana.set_password("otra-clave-nueva")
    ana.save()
    assert not joins(good)
    fresh = _session(ana)
    assert joins(fresh)
    type(ana).objects.filter(pk=ana.pk).update(is_active=False)
    assert not joins(fresh)


def test_a_place_without_a_thread_or_unknown_lets_nobody_in(geo, people):
    key = _key(people["lead"])
    assert selectors.thread_member_for_session(session_key=key, place_id=10**9) is None
    Thread.objects.filter(place=geo.north_place).delete()
    assert selectors.thread_member_for_session(session_key=key, place_id=geo.north_place.pk) is None


def test_the_catch_up_rows_give_the_payloads_of_message_list(geo, people):
    # given: a volunteer's line, a staff line, a system line for the coordination, a hidden one
    thread = Thread.objects.get(place=geo.north_place)
    ana = people["ana"].volunteer
    message_post(thread=thread, body="Llegué", source="web", author_volunteer=ana, author_user=people["ana"])
    message_post(thread=thread, body="Bien", source="web", author_user=people["coord-norte"])
    thread_post_system_notice(place=geo.north_place, body="Beto no viene")
    hidden = message_post(thread=thread, body="Fuera de lugar", source="sms", author_volunteer=ana)
    message_set_hidden(actor=people["coord-norte"], message=hidden, hidden=True)
    message_post(thread=thread, body="", source="sms", author_volunteer=ana, attachments=[("image/jpeg", b"\xff\xd8")])
    for moderator, staff in [(False, False), (False, True), (True, True)]:
        for after in (0, hidden.pk - 1, hidden.pk):
            # when: the socket's page and the API's page are read
            rows = selectors.message_rows_after(
                thread_id=thread.pk, after=after, moderator=moderator, staff=staff, limit=200
            )
            listed = selectors.message_list(thread=thread, moderator=moderator, after=after, limit=200, staff=staff)
            # then: the same messages, the same payloads
            assert [message_payload_from_row(r) for r in rows] == [message_payload(m) for m in listed]
    assert len(selectors.message_rows_after(thread_id=thread.pk, after=0, moderator=True, staff=True, limit=2)) == 2
