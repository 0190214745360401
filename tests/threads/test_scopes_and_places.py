"""A coordinator's scope decides which sockets stay open; every place has its thread from its creation."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import reverse

from backend.accounts.models import CoordinatorScope, Role
from backend.accounts.services import coordinator_scope_add, coordinator_scope_change, coordinator_scope_remove
from backend.elections.models import PollingPlace
from backend.elections.stations import stations_import
from backend.threads.models import Thread
from backend.threads.selectors import thread_member_get
from tests.factories import AreaFactory, ElectionFactory, UserFactory

from .conftest import communicator, join, run, session_cookie


def _coordinator(geo, area):
    user = UserFactory(username="coord-movil", role=Role.COORDINATOR, is_staff=True)
    coordinator_scope_add(user=user, area=area)
    return user


async def _closed_after(comm, change):
    await join(comm)
    await database_sync_to_async(change)()
    notice = await comm.receive_json_from(timeout=5)
    closed = await comm.receive_output(timeout=5)
    return notice, closed


@pytest.mark.django_db(transaction=True)
def test_narrowing_a_scope_closes_the_sockets_of_places_it_no_longer_covers(geo):
    # given: a coordinator of the whole province, watching the south school's thread
    user = _coordinator(geo, geo.district)
    cookie = session_cookie(user)
    scope = CoordinatorScope.objects.get(user=user)

    # when: the scope is narrowed to the north department
    notice, closed = run(
        _closed_after(
            communicator(geo.south_place.pk, cookie=cookie),
            lambda: coordinator_scope_change(scope=scope, area=geo.north),
        )
    )
    # then
    assert notice["code"] == "not_a_member"
    assert closed == {"type": "websocket.close", "code": 4403}


@pytest.mark.django_db(transaction=True)
def test_a_scope_removed_in_the_admin_closes_the_coordinators_sockets(geo, lead):
    # given: a coordinator of the north watching the north school, and a lead in the admin
    user = _coordinator(geo, geo.north)
    cookie = session_cookie(user)
    scope = CoordinatorScope.objects.get(user=user)
    admin = Client()
    admin.force_login(UserFactory(username="jefa", role=Role.LEAD, is_staff=True, is_superuser=True))

    def remove_in_admin():
        page = admin.get(reverse("admin:accounts_user_change", args=[user.pk]))
        form = page.context["adminform"].form
        data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list | tuple)}
        data.update(
            {
                "username": user.username,
                "role": user.role,
                "language": user.language,
                "date_joined_0": "2027-01-01",
                "date_joined_1": "00:00:00",
                "scopes-TOTAL_FORMS": "1",
                "scopes-INITIAL_FORMS": "1",
                "scopes-MIN_NUM_FORMS": "0",
                "scopes-MAX_NUM_FORMS": "1000",
                "scopes-0-id": str(scope.pk),
                "scopes-0-user": str(user.pk),
                "scopes-0-area": str(geo.north.pk),
                "scopes-0-DELETE": "on",
            }
        )
        data.pop("password", None)
        response = admin.post(reverse("admin:accounts_user_change", args=[user.pk]), data)
        assert response.status_code == 302, response.context["adminform"].form.errors

    # when
    notice, closed = run(_closed_after(communicator(geo.north_place.pk, cookie=cookie), remove_in_admin))
    # then
    assert not CoordinatorScope.objects.filter(user=user).exists()
    assert notice["code"] == "not_a_member"
    assert closed == {"type": "websocket.close", "code": 4403}


@pytest.mark.django_db
def test_scope_services_refuse_a_duplicate_and_remove_cleanly(geo):
    user = _coordinator(geo, geo.north)
    with pytest.raises(Exception) as duplicate:
        coordinator_scope_add(user=user, area=geo.north)
    assert getattr(duplicate.value, "code", "") == "scope_exists"
    coordinator_scope_remove(scope=CoordinatorScope.objects.get(user=user))
    assert not CoordinatorScope.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_the_station_import_creates_each_places_thread(db):
    # given
    election = ElectionFactory(slug="import-2027")
    rows = [
        ["distrito", "seccion", "codigo establecimiento", "establecimiento", "direccion", "mesa", "electores"],
        ["Córdoba", "Capital", "E-1", "Escuela Uno", "Calle 1", "1", "350"],
        ["Córdoba", "Capital", "E-2", "Escuela Dos", "Calle 2", "2", "350"],
    ]
    # when
    stations_import(election=election, rows=rows)
    stations_import(election=election, rows=rows)  # again: nothing new
    # then
    places = PollingPlace.objects.filter(election=election)
    assert places.count() == 2
    assert Thread.objects.filter(place__in=places).count() == 2


@pytest.mark.django_db
def test_reading_a_thread_never_writes_one(geo, lead):
    # given: a place written by some other way, without its thread
    place = PollingPlace.objects.create(
        election=geo.election, area=AreaFactory(election=geo.election, parent=geo.north), code="X-1", name="Sin hilo"
    )
    # when
    member = thread_member_get(user=lead, place_id=place.pk)
    # then
    assert member is None
    assert not Thread.objects.filter(place=place).exists()
