"""The per-user rate limit of the API: refused over the rate with the JSON error and the wait, over a
sliding minute (no double burst at a minute's edge), refused requests not counted; in the process's
cache and in Redis (as production)."""

import os
import random

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from api.throttling import UserRateThrottle
from backend.accounts.models import Role
from tests.factories import UserFactory


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
def throttle_cache(request, monkeypatch):
    """The store the counters live in: the autouse fixture's fresh in-process cache, or real Redis
    through the default cache as production reaches it (Django's proxy), never flushed: other
    people's keys live there; this test's are its own by the clock's minute."""
    if request.param == "redis":
        if not os.environ.get("REDIS_URL"):
            pytest.skip("needs a Redis server at REDIS_URL")
        from django.core.cache import cache

        monkeypatch.setattr(UserRateThrottle, "cache", cache)
    return UserRateThrottle.cache


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, at the first second of a minute of each test's own: a shared Redis keeps
    counters for two minutes, and user ids repeat from one test, and one run, to the next."""
    start = 60.0 * random.randrange(10**6, 10**8)
    now = {"start": start, "t": start}
    monkeypatch.setattr(UserRateThrottle, "timer", lambda self: now["t"])
    return now


@pytest.fixture
def three_a_minute(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "3/min")


def _client_of(username: str) -> APIClient:
    user = UserFactory(username=username, role=Role.COORDINATOR)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_the_api_uses_the_single_counter_throttle_for_users(settings):
    assert "api.throttling.UserRateThrottle" in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]


def test_over_the_rate_a_user_gets_429_with_the_json_error_and_the_wait(db, throttle_cache, clock, three_a_minute):
    # given: three requests late in a minute
    client = _client_of("apurado")
    clock["t"] = clock["start"] + 50
    assert [client.get(reverse("api-me")).status_code for _ in range(3)] == [200, 200, 200]
    # when
    refused = client.get(reverse("api-me"))
    # then: 10 s left of this minute, then a third of the next before two of the three slide out
    assert refused.status_code == 429
    assert refused.json() == {
        "code": "throttled",
        "message": "Demasiados pedidos: probá de nuevo en 30 segundos.",
        "detail": {"wait": 30},
    }
    assert refused.headers["Retry-After"] == "30"
    assert _client_of("otro").get(reverse("api-me")).status_code == 200  # the limit is per user


def test_the_minute_slides_and_refused_requests_do_not_count(db, throttle_cache, clock, three_a_minute):
    # given: three requests at the end of a minute, and one refused
    client = _client_of("insistente")
    clock["t"] = clock["start"] + 50
    for _ in range(3):
        client.get(reverse("api-me"))
    assert client.get(reverse("api-me")).status_code == 429
    # when / then: just after the minute turns the three still weigh (no second burst of three)...
    clock["t"] = clock["start"] + 60 + 19
    early = client.get(reverse("api-me"))
    assert (early.status_code, early.json()["detail"]) == (429, {"wait": 1})
    # ...and once two of them have slid out of the last 60 s, one more fits, the refused ones not counted
    clock["t"] = clock["start"] + 60 + 21
    assert client.get(reverse("api-me")).status_code == 200
    assert client.get(reverse("api-me")).status_code == 429


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis server at REDIS_URL")
def test_in_redis_a_request_is_counted_in_one_round_trip_and_its_counter_expires(db, monkeypatch, clock):
    # given: the default cache (Redis), and every Redis command and pipeline counted
    import redis
    from django.core.cache import cache

    monkeypatch.setattr(UserRateThrottle, "cache", cache)
    sent = {"commands": 0, "pipelines": 0}
    command, pipeline = redis.Redis.execute_command, redis.client.Pipeline.execute

    def counted_command(self, *args, **kwargs):
        sent["commands"] += 1
        return command(self, *args, **kwargs)

    def counted_pipeline(self, *args, **kwargs):
        sent["pipelines"] += 1
        return pipeline(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", counted_command)
    monkeypatch.setattr(redis.client.Pipeline, "execute", counted_pipeline)
    user = UserFactory(username="contado", role=Role.COORDINATOR)
    client = APIClient()
    client.force_authenticate(user)
    # when
    client.get(reverse("api-me"))
    client.get(reverse("api-me"))
    # then: one pipelined round trip a request; one counter for this minute, at 2, kept no longer
    # than the next minute needs it
    assert sent == {"commands": 0, "pipelines": 2}
    key = cache.make_and_validate_key(f"throttle_user_{user.pk}:{int(clock['start'] // 60)}")
    connection = cache._cache.get_client(key)
    assert int(command(connection, "GET", key)) == 2
    assert 0 < command(connection, "TTL", key) <= 120
