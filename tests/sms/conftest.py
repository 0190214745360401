"""Fixtures of the SMS tests: a fake Twilio server, the twilio backend pointed at it, signed posts."""

import pytest
from twilio.request_validator import RequestValidator

from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_create

from .fake_twilio import FakeTwilio


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def twilio_backend(settings, fake_twilio):
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_API_BASE_URL = fake_twilio.url
    settings.TWILIO_FROM = "+15005550006"
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_HTTP_TIMEOUT = 2.0
    settings.SMS_PACING = False  # the rate limiter has its own tests
    settings.SMS_RETRY_BACKOFF = 1.0
    return fake_twilio


@pytest.fixture
def signed_post(client, settings):
    """POST form data to a webhook with the X-Twilio-Signature Twilio would compute."""

    def post(path: str, params: dict, *, token: str | None = None):
        url = settings.PUBLIC_BASE_URL + path
        signature = RequestValidator(token or settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
        return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)

    return post


@pytest.fixture
def assigned(geo, north_volunteer):
    """María, table watcher at table 1 of Escuela Norte (proposed)."""
    return assignment_create(
        volunteer=north_volunteer,
        place=geo.north_place,
        table=geo.north_tables[0],
        role=AssignmentRole.TABLE,
        source="admin",
        notify=False,
    )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The factories hash a password per user; PBKDF2 would make each fixture take a second.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and relay flags live in the cache; ids repeat between tests."""
    from django.core.cache import cache

    from backend.messaging.texts import templates_changed

    cache.clear()
    templates_changed()
    yield
    cache.clear()
    templates_changed()


@pytest.fixture(autouse=True)
def _eager_celery():
    """Run tasks in-process, also when REDIS_URL is set (the worker test starts a real worker)."""
    from backend.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def geo(geo):
    """The shared geography, with addresses of a fixed length (the factory's grow with the session,
    and texts are shortened to one segment when they run long)."""
    for place, address in ((geo.north_place, "Calle 9 123"), (geo.south_place, "Calle 8 456")):
        place.address = address
        place.save(update_fields=["address"])
    return geo
