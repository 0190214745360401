"""Import API: leads upload, preview, apply and download; coordinators are refused."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook
from rest_framework.test import APIClient

from backend.imports.models import BatchStatus, ImportBatch
from backend.volunteers.models import Volunteer

from .conftest import ROSTER_HEADER, xlsx

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _upload(client, election, data: bytes, **fields):
    payload = {
        "election": election.slug,
        "kind": "roster",
        "file": SimpleUploadedFile("fiscales.xlsx", data),
        **fields,
    }
    return client.post("/api/imports/", payload, format="multipart")


ROSTER = [ROSTER_HEADER, ["GARCÍA, María", "30.123.456", "351 15 412 3456"], ["Pérez, Juan", "30.1", "351 15 412 0000"]]


def test_lead_uploads_a_dry_run_reads_progress_applies_and_downloads_the_report(geo, lead):
    client = _client(lead)

    # when the lead uploads a preview
    response = _upload(client, geo.election, xlsx(ROSTER), dry_run="true")

    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "previewed" and body["counts"]["new"] == 1 and body["counts"]["rejected"] == 1
    assert body["problems"][0]["row"] == 3 and "DNI inválido" in body["problems"][0]["reason"]
    assert (body["rows_done"], body["total_rows"], body["progress"]) == (3, 3, 100)
    assert not Volunteer.objects.exists()

    # when the lead applies it
    batch_id = body["id"]
    applied = client.post(f"/api/imports/{batch_id}/apply/")

    # then
    assert applied.status_code == 200 and applied.json()["status"] == "applied"
    assert Volunteer.objects.get().dni == "30123456"
    assert client.get(f"/api/imports/{batch_id}/").json()["counts"]["new"] == 1
    again = client.post(f"/api/imports/{batch_id}/apply/")
    assert again.status_code == 400 and again.json()["code"] == "already_applied"

    # and the report downloads as xlsx
    report = client.get(f"/api/imports/{batch_id}/report/")
    assert report.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(report.streaming_content))).active
    assert [c.value for c in sheet[3]][:2] == [3, "rechazado"]


def test_coordinator_is_refused_everywhere(geo, lead, north_coordinator):
    batch_id = _upload(_client(lead), geo.election, xlsx(ROSTER)).json()["id"]
    client = _client(north_coordinator)

    assert _upload(client, geo.election, xlsx(ROSTER)).status_code == 403
    assert client.get(f"/api/imports/{batch_id}/").status_code == 403
    assert client.post(f"/api/imports/{batch_id}/apply/").status_code == 403
    assert client.get(f"/api/imports/{batch_id}/report/").status_code == 403
    assert ImportBatch.objects.count() == 1


def test_bad_file_is_a_400_with_its_code_and_nothing_is_written(geo, lead):
    response = _upload(_client(lead), geo.election, b"%PDF-1.4 not a sheet")

    assert response.status_code == 400
    assert response.json()["code"] == "not_a_spreadsheet"
    assert not ImportBatch.objects.exists()


def test_large_file_runs_as_a_task_with_progress(geo, lead, settings, django_capture_on_commit_callbacks, eager_celery):
    # given a threshold below the file size
    settings.IMPORT_ASYNC_ROW_THRESHOLD = 5
    rows = [ROSTER_HEADER] + [[f"P{i}", str(30_000_000 + i), f"351 15 412 {1000 + i}"] for i in range(20)]

    # when (Celery is eager here: the task runs when the transaction commits)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _upload(_client(lead), geo.election, xlsx(rows), dry_run="false")

    # then the API answered "accepted" with a pending batch, and the task finished it
    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert len(callbacks) == 1
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.created, batch.rows_done, batch.total_rows) == (BatchStatus.APPLIED, 20, 21, 21)
    assert Volunteer.objects.count() == 20


def test_the_task_is_idempotent(geo, lead, settings, django_capture_on_commit_callbacks, eager_celery):
    from backend.imports.tasks import run_batch

    settings.IMPORT_ASYNC_ROW_THRESHOLD = 1
    with django_capture_on_commit_callbacks(execute=True):
        batch_id = _upload(_client(lead), geo.election, xlsx(ROSTER), dry_run="false").json()["id"]

    assert run_batch(batch_id, False) == "skipped"
    assert Volunteer.objects.count() == 1


def test_lead_imports_a_station_list_directly(lead):
    from backend.elections.models import Table
    from tests.factories import ElectionFactory

    # given
    election = ElectionFactory(slug="api-2027")
    data = xlsx(
        [
            ["Departamento", "Localidad", "Cód. Establecimiento", "Escuela", "Nro. Mesa", "Electores"],
            ["Capital", "Córdoba", "CO.1.1", "Escuela Belgrano", 1, 350],
            ["Capital", "Córdoba", "CO.1.1", "Escuela Belgrano", 2, 349],
        ]
    )
    payload = {"election": election.slug, "kind": "stations", "file": SimpleUploadedFile("mesas.xlsx", data)}

    # when
    response = _client(lead).post("/api/imports/", {**payload, "dry_run": "false"}, format="multipart")

    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["counts"]["new"], body["details"]["places_created"]) == ("applied", 2, 1)
    assert Table.objects.filter(election=election).count() == 2


def test_lead_posts_the_national_files_together_with_a_mapping_and_gets_the_preview_with_columns(geo, lead):
    # given: the real cut of the 2019 list and its companion files, one column renamed
    from pathlib import Path

    from django.conf import settings

    from backend.elections.models import Table

    sample = Path(settings.BASE_DIR) / "fixtures" / "national-sample"
    escuelas = (sample / "escuelas.csv").read_bytes().replace(b"escuela_nro", b"id_local", 1)
    files = [SimpleUploadedFile("escuelas.csv", escuelas)] + [
        SimpleUploadedFile(n, (sample / n).read_bytes()) for n in ("distritos.csv", "secciones.csv", "circuitos.csv")
    ]
    client = _client(lead)

    # when
    response = client.post(
        "/api/imports/",
        {
            "election": geo.election.slug,
            "kind": "stations",
            "files": files,
            "dry_run": "true",
            "mapping": '{"id_local": "place_code"}',
        },
        format="multipart",
    )

    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "previewed" and body["details"]["tables_created"] == 169
    stations = next(f for f in body["details"]["files"] if f["role"] == "stations")
    mapped = next(c for c in stations["columns"] if c["header"] == "id_local")
    assert (mapped["field"], mapped["status"]) == ("place_code", "mapped")
    assert body["details"]["tables_removed"] == 6  # the six tables of the test election are not in the file
    assert Table.objects.filter(election=geo.election).count() == 6  # a preview writes nothing
