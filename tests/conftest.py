"""Shared fixtures: a small election with two departments, their coordinators and volunteers."""

from dataclasses import dataclass

import pytest

from backend.accounts.models import Role
from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_create

from .factories import (
    AreaFactory,
    CoordinatorScopeFactory,
    ElectionFactory,
    PollingPlaceFactory,
    TableFactory,
    UserFactory,
    VolunteerFactory,
)


@dataclass
class Geo:
    """district > {north, south} > one locality each > one place each > three tables each."""

    election: object
    district: object
    north: object
    south: object
    north_town: object
    south_town: object
    north_place: object
    south_place: object
    north_tables: list
    south_tables: list


@pytest.fixture
def geo(db) -> Geo:
    election = ElectionFactory(slug="test-2027", name="Generales 2027")
    district = AreaFactory(election=election, kind="distrito", code="cba", name="Córdoba")
    north = AreaFactory(election=election, parent=district, kind="departamento", code="norte", name="Norte")
    south = AreaFactory(election=election, parent=district, kind="departamento", code="sur", name="Sur")
    north_town = AreaFactory(election=election, parent=north, kind="localidad", code="jesus-maria", name="Jesús María")
    south_town = AreaFactory(election=election, parent=south, kind="localidad", code="rio-cuarto", name="Río Cuarto")
    north_place = PollingPlaceFactory(
        election=election, area=north_town, code="N-1", name="Escuela Norte", latitude=-30.98, longitude=-64.09
    )
    south_place = PollingPlaceFactory(
        election=election, area=south_town, code="S-1", name="Escuela Sur", latitude=-33.12, longitude=-64.35
    )
    north_tables = [TableFactory(place=north_place, district=district, number=n) for n in (1, 2, 3)]
    south_tables = [TableFactory(place=south_place, district=district, number=n) for n in (101, 102, 103)]
    return Geo(
        election, district, north, south, north_town, south_town, north_place, south_place, north_tables, south_tables
    )


@pytest.fixture
def election_day(geo):
    """Today is the election's day: check-ins are accepted only then (by every door)."""
    from django.utils import timezone

    geo.election.date = timezone.localdate()
    geo.election.save(update_fields=["date"])
    return geo.election


@pytest.fixture
def lead(db):
    return UserFactory(username="lead", role=Role.LEAD)


@pytest.fixture
def north_coordinator(geo):
    user = UserFactory(username="coord-norte", role=Role.COORDINATOR)
    CoordinatorScopeFactory(user=user, area=geo.north)
    return user


@pytest.fixture
def south_coordinator(geo):
    user = UserFactory(username="coord-sur", role=Role.COORDINATOR)
    CoordinatorScopeFactory(user=user, area=geo.south)
    return user


@pytest.fixture
def north_volunteer(geo):
    user = UserFactory(username="vol-norte", role=Role.VOLUNTEER)
    return VolunteerFactory(area=geo.north_town, user=user, first_name="María", last_name="García")


@pytest.fixture
def watcher(geo, north_volunteer):
    """north_volunteer, the watcher of the first table of the north place (told nothing)."""
    assignment_create(
        volunteer=north_volunteer,
        place=geo.north_place,
        table=geo.north_tables[0],
        role=AssignmentRole.TABLE,
        source="admin",
        notify=False,
    )
    return north_volunteer


@pytest.fixture
def south_volunteer(geo):
    user = UserFactory(username="vol-sur", role=Role.VOLUNTEER)
    return VolunteerFactory(area=geo.south_town, user=user, first_name="Juan", last_name="Pérez")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 is slow on purpose (~0.3 s per user created); tests need speed, not that protection.
    settings.PASSWORD_HASHERS = ["tests.hashers.FastPBKDF2PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_local_cache():
    """Counters kept in the cache (magic links issued per volunteer id, ...) must not leak from one
    test into the next: on SQLite ids repeat between tests. Only the in-process cache is emptied;
    a shared Redis is left alone (PostgreSQL never hands out an id twice)."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    local = caches["default"]
    if isinstance(local, LocMemCache):
        local.clear()
    yield


@pytest.fixture(autouse=True)
def _fresh_throttle_history(monkeypatch):
    # DRF keeps request counts in the cache; a fresh store per test keeps tests independent of
    # each other's API traffic without flushing a shared Redis.
    import uuid

    from django.core.cache.backends.locmem import LocMemCache
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "cache", LocMemCache(f"throttle-{uuid.uuid4()}", {}))


@pytest.fixture(autouse=True)
def _fresh_ballot_cache():
    # The count keeps each election's ballot per process; a rolled-back test's election id may come
    # back (SQLite reuses row ids) with another ballot, so every test starts without one.
    from backend.count.selectors import ballot_cache_clear

    ballot_cache_clear()
