"""The shared request path's parts: prepared model reads, one-row writes, token authentication, `/api/me/`,
the Redis cache client, the connection pool's check."""

import os
import threading
import time
import uuid

import pytest
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed

from api.authentication import TokenAuthentication
from backend.accounts.models import Role
from backend.core.cache import RedisCache
from backend.core.prepared import PreparedQuery
from backend.core.rows import row_insert, row_update
from backend.messaging.models import InboundMessage, InboundStatus
from backend.volunteers.models import Volunteer

from ..factories import CoordinatorScopeFactory, UserFactory, VolunteerFactory


@pytest.mark.django_db
def test_prepared_objects_are_the_orm_instances_with_their_related_row(django_assert_num_queries):
    # given
    prepared = PreparedQuery(
        lambda phone: Volunteer.objects.select_related("user").filter(phone=phone)[:1], "phone", text=("phone",)
    )
    wanted = VolunteerFactory(user=UserFactory(username="ana"), phone="+5493515550001")
    VolunteerFactory(user=UserFactory(username="otro"), phone="+5493515550002")
    prepared.objects(phone="+5493515550002")  # compiled on first use, with a sentinel in place of the phone
    # when: one statement, the user included
    with django_assert_num_queries(1):
        (found,) = prepared.objects(phone="+5493515550001")
        username = found.user.username
    # then: the same row and values as the ORM's own read
    orm = Volunteer.objects.select_related("user").get(phone="+5493515550001")
    assert found.pk == wanted.pk and username == "ana"
    assert {f.attname: getattr(found, f.attname) for f in Volunteer._meta.concrete_fields} == {
        f.attname: getattr(orm, f.attname) for f in Volunteer._meta.concrete_fields
    }
    assert found._state.adding is False and found._state.db == "default"
    assert prepared.objects(phone="+5490000000000") == []


@pytest.mark.django_db
def test_prepared_query_refuses_rows_for_objects():
    prepared = PreparedQuery(lambda pk: Volunteer.objects.filter(pk=pk).values_list("dni"), "pk")
    with pytest.raises(TypeError):
        prepared.objects(pk=1)


@pytest.mark.django_db
def test_token_authentication_reads_token_and_user_in_one_statement(django_assert_num_queries):
    from rest_framework.authtoken.models import Token

    # given
    user = UserFactory(username="script")
    token = Token.objects.create(user=user)
    authentication = TokenAuthentication()
    authentication.authenticate_credentials(token.key)  # compiled once
    # when / then
    with django_assert_num_queries(1):
        found_user, found_token = authentication.authenticate_credentials(token.key)
        assert found_user.username == "script" and found_token.key == token.key


@pytest.mark.django_db
def test_token_authentication_refuses_unknown_tokens_and_inactive_users_as_drf_does(client):
    from rest_framework.authtoken.models import Token

    # given
    user = UserFactory(username="baja", is_active=False)
    token = Token.objects.create(user=user)
    authentication = TokenAuthentication()
    # then
    with pytest.raises(AuthenticationFailed):
        authentication.authenticate_credentials("0" * 40)
    with pytest.raises(AuthenticationFailed):
        authentication.authenticate_credentials(token.key)
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 401


def test_the_redis_cache_reuses_one_client_per_server():
    # given: no server is needed to build clients (they connect on their first command)
    cache = RedisCache("redis://127.0.0.1:6379/15", {})
    # then: reads and writes of one server share one client, and its pool
    client = cache._cache.get_client()
    assert cache._cache.get_client("key", write=True) is client
    assert client.connection_pool is cache._cache._get_connection_pool(write=True)


def test_the_redis_cache_of_every_thread_shares_one_client_and_its_connections():
    # given: Django keeps a cache object per thread, and the ASGI server runs each request in a new one
    clients = []

    def request_thread():
        clients.append(RedisCache("redis://127.0.0.1:6379/15", {})._cache.get_client())

    # when
    threads = [threading.Thread(target=request_thread) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then: one client, so one pool of connections kept open between requests
    assert len(clients) == 3 and clients[0] is clients[1] is clients[2]
    assert RedisCache("redis://127.0.0.1:6379/14", {})._cache.get_client() is not clients[0]


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis server at REDIS_URL")
def test_the_redis_cache_still_stores_and_reads():
    # given
    cache = RedisCache(os.environ["REDIS_URL"], {})
    key = f"webhookhot-{uuid.uuid4().hex}"
    # when / then
    cache.set(key, {"n": 1}, 30)
    assert cache.get(key) == {"n": 1}
    assert cache.delete(key) and cache.get(key) is None


@pytest.mark.django_db
def test_row_insert_stores_what_create_would_in_one_statement(django_assert_num_queries):
    # given: a text's row, its defaults (keyword, reply, error) and received_at's auto_now_add unset
    volunteer = VolunteerFactory(phone="+5493515550003")
    made = InboundMessage.objects.create(
        sid="SMorm", from_number="+5493515550003", volunteer=volunteer, params={"a": 1}
    )
    written = InboundMessage(sid="SMrow", from_number="+5493515550003", volunteer=volunteer, params={"a": 1})
    # when
    with django_assert_num_queries(1):
        row_insert(written)
    # then: the same row but for its id, sid and instant, and the instance knows its id
    assert written.pk and written._state.adding is False
    stored, orm = InboundMessage.objects.get(pk=written.pk), InboundMessage.objects.get(pk=made.pk)
    assert stored.received_at is not None and written.received_at == stored.received_at
    skip = {"id", "sid", "received_at"}
    assert {
        f.attname: getattr(stored, f.attname) for f in InboundMessage._meta.concrete_fields if f.attname not in skip
    } == {f.attname: getattr(orm, f.attname) for f in InboundMessage._meta.concrete_fields if f.attname not in skip}


@pytest.mark.django_db
def test_row_update_changes_one_row_like_a_queryset_update(django_assert_num_queries):
    # given
    first = InboundMessage.objects.create(sid="SM1", from_number="+1")
    other = InboundMessage.objects.create(sid="SM2", from_number="+1")
    handled_at = timezone.now()
    # when
    with django_assert_num_queries(1):
        changed = row_update(
            InboundMessage, first.pk, status=InboundStatus.PROCESSED, handled_at=handled_at, params={"b": [1, 2]}
        )
    # then: that row only, its values read back as written (the JSON too)
    assert changed == 1 and row_update(InboundMessage, 0, status=InboundStatus.FAILED) == 0
    first.refresh_from_db()
    other.refresh_from_db()
    assert (first.status, first.handled_at, first.params) == (InboundStatus.PROCESSED, handled_at, {"b": [1, 2]})
    assert (other.status, other.handled_at, other.params) == (InboundStatus.RECEIVED, None, {})


@pytest.mark.django_db
def test_me_answers_what_its_output_serializer_documents(client, geo):
    # given: a coordinator of two areas, with a token
    from rest_framework.authtoken.models import Token

    from api.views import MeApi

    user = UserFactory(username="coord", role=Role.COORDINATOR)
    for area in (geo.north, geo.south):
        CoordinatorScopeFactory(user=user, area=area)
    token = Token.objects.create(user=user)
    # when
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {token.key}")
    # then: the same JSON the serializer makes of it, the scopes included
    answer = response.json()
    assert response.status_code == 200 and sorted(answer["scopes"]) == sorted([geo.north.path, geo.south.path])
    assert answer == MeApi.OutputSerializer(answer).data
    assert (answer["id"], answer["username"], answer["role"]) == (user.pk, "coord", "coordinator")


@pytest.mark.django_db
def test_the_pool_check_discards_a_connection_the_server_closed_and_keeps_a_healthy_one():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL connection pool")
    from psycopg_pool import ConnectionPool

    from backend.core.postgresql.base import connection_usable

    # given: a pool of one connection checked by its socket
    pool = ConnectionPool(
        kwargs={**connection.get_connection_params(), "autocommit": True},
        min_size=1,
        max_size=1,
        check=connection_usable,
        open=True,
    )
    try:
        with pool.connection() as pooled:
            first = pooled.execute("SELECT pg_backend_pid()").fetchone()[0]
        with pool.connection() as pooled:
            assert pooled.execute("SELECT pg_backend_pid()").fetchone()[0] == first  # healthy: kept
        # when: the server ends that backend while the connection rests in the pool
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [first])
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # the backend has gone (its goodbye sent)
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [first])
                if not cursor.fetchone()[0]:
                    break
                time.sleep(0.02)
        # then: the next request gets a working connection to a new backend, not an error
        with pool.connection() as pooled:
            assert pooled.execute("SELECT pg_backend_pid()").fetchone()[0] != first
    finally:
        pool.close()
