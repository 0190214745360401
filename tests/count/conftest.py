"""Fixtures of the count: a ballot on the shared geography, a watcher whose table is counted."""

import struct
import zlib
from dataclasses import dataclass

import pytest
from django.core.cache import cache

from backend.accounts.models import Role
from backend.assignments.models import AssignmentRole, EventSource
from backend.assignments.services import assignment_create
from backend.celery import app
from backend.count.models import BallotList, Category
from backend.count.services import SheetFigures
from backend.tableday.services import table_report

from ..factories import CoordinatorScopeFactory, UserFactory


@pytest.fixture
def media_and_inline_worker(settings, tmp_path):
    """Uploads under a temporary folder; the worker runs inline even when REDIS_URL names a broker."""
    settings.MEDIA_ROOT = tmp_path / "media"
    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(task_always_eager=before[0], task_eager_propagates=before[1])


@dataclass
class Ballot:
    governor: Category
    mayor: Category  # voted in the north only
    ours: BallotList
    cambia: BallotList
    ucr: BallotList
    mayor_ours: BallotList
    mayor_other: BallotList


@pytest.fixture
def ballot(geo) -> Ballot:
    governor = Category.objects.create(election=geo.election, code="GOB", name="Gobernador", position=0)
    mayor = Category.objects.create(election=geo.election, code="INT", name="Intendente", position=1)
    mayor.districts.add(geo.north)
    return Ballot(
        governor=governor,
        mayor=mayor,
        ours=BallotList.objects.create(category=governor, name="Hacemos por Córdoba", position=0, ours=True),
        cambia=BallotList.objects.create(category=governor, name="Córdoba Cambia", position=1),
        ucr=BallotList.objects.create(category=governor, name="Unión Cívica Radical", position=2),
        mayor_ours=BallotList.objects.create(
            category=mayor, district=geo.north, name="Vecinal Norte", position=0, ours=True
        ),
        mayor_other=BallotList.objects.create(category=mayor, district=geo.north, name="Otro Norte", position=1),
    )


@pytest.fixture
def watcher(geo, north_volunteer, ballot):
    """María watches table 1 of Escuela Norte; the table is counted."""
    assignment_create(
        volunteer=north_volunteer,
        place=geo.north_place,
        table=geo.north_tables[0],
        role=AssignmentRole.TABLE,
        source="admin",
        notify=False,
    )
    table_report(table=geo.north_tables[0], state="counted", actor=north_volunteer.user, channel=EventSource.WEB)
    return north_volunteer


@pytest.fixture
def north_data_entry(geo):
    user = UserFactory(username="carga-norte", role=Role.DATA_ENTRY)
    CoordinatorScopeFactory(user=user, area=geo.north)
    return user


def sheet_figures(ballot, ours=100, cambia=60, ucr=20, blank=5, null=3, contested=1, challenged=0, voters=189):
    """A governor's sheet that closes: 180 list votes + 9 others = 189 voters, unless told otherwise."""
    return SheetFigures(
        votes={ballot.ours.pk: ours, ballot.cambia.pk: cambia, ballot.ucr.pk: ucr},
        blank=blank,
        null=null,
        contested=contested,
        challenged=challenged,
        voters=voters,
    )


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A real (tiny, grey) PNG, written by hand: the project has no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Magic-link rate limits and cached table totals live in the cache, and ids repeat between
    tests: leave it empty for the next test (of any directory)."""
    cache.clear()
    yield
    cache.clear()
