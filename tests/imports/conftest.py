"""Helpers for the import tests: workbooks and csv files built in the test, media in a temporary folder."""

import csv
import io

import pytest
from openpyxl import Workbook

from backend.elections.models import Election
from backend.imports.models import ImportKind
from backend.imports.services import batch_create, batch_run

ROSTER_HEADER = ["Apellido y Nombre", "D.N.I.", "Celular", "E-mail", "Localidad", "Escuela donde vota"]


def xlsx(rows: list[list], *, title_rows: list[list] | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in (title_rows or []) + rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list], *, delimiter: str = ";") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode("utf-8")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def eager_celery():
    """Run queued tasks inline even when REDIS_URL configures a real broker."""
    from backend.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(task_always_eager=before[0], task_eager_propagates=before[1])


def run_roster(election: Election, data: bytes, *, dry_run: bool = False, name: str = "fiscales.xlsx", **kwargs):
    batch = batch_create(
        actor=None, election=election, kind=ImportKind.ROSTER, file_name=name, data=data, dry_run=dry_run, **kwargs
    )
    return batch_run(batch=batch, dry_run=dry_run)


def run_stations(election: Election, data: bytes, *, dry_run: bool = False, name: str = "mesas.xlsx"):
    batch = batch_create(
        actor=None, election=election, kind=ImportKind.STATIONS, file_name=name, data=data, dry_run=dry_run
    )
    return batch_run(batch=batch, dry_run=dry_run)
