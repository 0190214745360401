"""The official results through the API, by the console's door: the upload stored (on disk, with its
hash) as an `OfficialImport`, checked and applied by the worker, its status polled; every bad file
refused with its code and nothing stored; leads only; in the schema. Real files: the Córdoba 2019
governor results (as published, and rewritten by openpyxl) and the 2023 national long CSV."""

import csv
import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook
from rest_framework.test import APIClient

from api import count as count_api
from backend.count.models import BallotList, Category, OfficialImport, OfficialImportState, ResultSheet, SheetSource
from backend.count.services import SheetFigures, sheet_submit

from ..factories import AreaFactory, ElectionFactory, PollingPlaceFactory, TableFactory
from .test_results import CORDOBA, TRENQUE_LAUQUEN, cordoba  # noqa: F401  (the real Córdoba fixture)

pytestmark = pytest.mark.usefixtures("media_and_inline_worker")


@pytest.fixture
def api(lead):
    client = APIClient()
    client.force_authenticate(lead)
    return client


def _upload(api, election, data: bytes, *, name="resultados.csv", layout="national", **extra):
    return api.post(
        f"/api/elections/{election.pk}/official-imports/",
        {"file": SimpleUploadedFile(name, data), "layout": layout, **extra},
        format="multipart",
    )


def _stored_files(settings) -> list:
    media = settings.MEDIA_ROOT
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def _cordoba_xlsx() -> bytes:
    """The real Córdoba file as a provincial site's workbook, written by openpyxl (numbers as numbers)."""
    book = Workbook()
    sheet = book.active
    with CORDOBA.open(encoding="utf-8") as handle:
        for index, row in enumerate(csv.reader(handle)):
            sheet.append(row if index == 0 else [int(c) if c.isdigit() else c for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [("cordoba.csv", CORDOBA.read_bytes), ("cordoba.xlsx", _cordoba_xlsx)],
    ids=["csv-as-published", "xlsx-by-openpyxl"],
)
def test_a_lead_uploads_the_real_cordoba_file_polls_its_check_then_applies_it(
    api,
    cordoba,  # noqa: F811
    django_capture_on_commit_callbacks,
    settings,
    name,
    content,
):
    # given: our sheet of the first table says 7 more votes for us than the official figure
    election, governor = cordoba
    data = content()
    # when: upload (the check runs in the worker after commit)
    with django_capture_on_commit_callbacks(execute=True):
        uploaded = _upload(api, election, data, name=name, layout="wide", category="gob", create_missing="true")
    # then: 202, an OfficialImport with the file on disk and its hash, checked and nothing written yet
    assert uploaded.status_code == 202, uploaded.content
    job = OfficialImport.objects.get()
    assert uploaded["Location"].endswith(f"/api/official-imports/{job.pk}/")
    assert (job.file_sha256, job.file_size, job.created_by.username) == (
        hashlib.sha256(data).hexdigest(),
        len(data),
        "lead",
    )
    assert _stored_files(settings) == [settings.MEDIA_ROOT / job.file.name]
    assert not ResultSheet.objects.exists() and not BallotList.objects.exists()
    status = api.get(uploaded["Location"]).json()
    assert (status["state"], status["progress"], status["category"]) == ("previewed", 100, "GOB")
    assert status["counts"]["rows"] == 20 and status["counts"]["tables_matched"] == 20
    assert (status["counts"]["sheets"], status["counts"]["lists_created"], status["row_errors"]) == (20, 12, [])
    assert status["understood"]["columns"]["table"] == "mesa" and status["discrepancies_url"] is None
    # when: apply
    with django_capture_on_commit_callbacks(execute=True):
        applied = api.post(status["apply_url"])
    # then: 20 official sheets, the result, and the discrepancies one link away
    assert applied.status_code == 202 and applied.json()["state"] == "applying"
    status = api.get(uploaded["Location"]).json()
    assert (status["state"], status["applied_by"], status["counts"]["sheets"], status["apply_url"]) == (
        "applied",
        "lead",
        20,
        None,
    )
    assert ResultSheet.objects.filter(official=True, current=True).count() == 20
    official = ResultSheet.objects.get(official=True, table__number=1)
    ours = BallotList.objects.get(category=governor, name="Hacemos por Córdoba")
    ours.ours = True
    ours.save()
    votes = {int(k): v for k, v in official.votes.items()}
    votes[ours.pk] += 7
    figures = SheetFigures(
        votes=votes,
        blank=official.blank,
        null=official.null,
        contested=official.contested,
        challenged=official.challenged,
        voters=official.voters + 7,
    )
    sheet_submit(table=official.table, category=governor, figures=figures, source=SheetSource.API)
    found = api.get(status["discrepancies_url"]).json()
    assert found["count"] == 1 and found["results"][0]["table"] == 1 and found["results"][0]["at_stake"] == 7


def test_the_upload_reaches_the_service_as_a_file_on_disk_whatever_its_size(
    api,
    cordoba,  # noqa: F811
    monkeypatch,
):
    # given: a 2 KB file, far below the size Django would otherwise keep in memory
    seen = []
    real = count_api.official_import_upload

    def spy(**kwargs):
        seen.append(kwargs["upload"])
        return real(**kwargs)

    monkeypatch.setattr(count_api, "official_import_upload", spy)
    # when
    response = _upload(api, cordoba[0], CORDOBA.read_bytes(), layout="wide", category="GOB")
    # then
    assert response.status_code == 202
    assert hasattr(seen[0], "temporary_file_path")


@pytest.fixture
def national(db):
    """The three tables of the real 2023 national file (Trenque Lauquen), by their numbers."""
    election = ElectionFactory(slug="gen-2023", name="Generales 2023")
    district = AreaFactory(election=election, kind="distrito", code="02", name="Buenos Aires")
    section = AreaFactory(election=election, parent=district, kind="seccion", code="102", name="Trenque Lauquen")
    place = PollingPlaceFactory(election=election, area=section, code="TL-1", name="Escuela 1")
    for number in (1, 2, 3):
        TableFactory(place=place, district=section, number=number, electors=350)
    return election


def _national_csv(*, bad_row: int | None = None, tables_offset: int = 0) -> bytes:
    """The real 2023 file rewritten by csv.writer (quoted, semicolons), one vote cell spoiled if asked."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL)
    with TRENQUE_LAUQUEN.open(encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        writer.writerow(header)
        votes, table = header.index("votos_cantidad"), header.index("mesa_id")
        for number, row in enumerate(reader, start=2):
            row[table] = str(int(row[table]) + tables_offset)
            if number == bad_row:
                row[votes] = "doce"
            writer.writerow(row)
    return out.getvalue().encode()


def test_a_national_file_with_a_bad_cell_lists_the_row_and_applies_the_rest(
    api, national, django_capture_on_commit_callbacks
):
    # given: row 5 of the file (a president's row of table 1) is not a number
    with django_capture_on_commit_callbacks(execute=True):
        uploaded = _upload(api, national, _national_csv(bad_row=5), create_missing="true")
    status = api.get(uploaded["Location"]).json()
    assert status["state"] == "previewed"
    assert status["counts"]["rejected_rows"] == 1 and status["counts"]["sheets"] == 23
    assert status["row_errors"] == [{"row": 5, "message": "Fila 5, columna votos_cantidad: «doce» no es un número."}]
    assert len(status["understood"]["categories"]) == 8
    # when
    with django_capture_on_commit_callbacks(execute=True):
        api.post(status["apply_url"])
    # then: every sheet but the spoiled one (table 1's president) is written, never half of it
    assert ResultSheet.objects.filter(official=True).count() == 23
    president = Category.objects.get(election=national, name="PRESIDENTE Y VICE")
    assert not ResultSheet.objects.filter(official=True, table__number=1, category=president).exists()


def test_a_file_of_tables_not_in_the_election_fails_its_check_with_its_code(
    api, national, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        uploaded = _upload(api, national, _national_csv(tables_offset=500), create_missing="true")
    status = api.get(uploaded["Location"]).json()
    assert (status["state"], status["error_code"], status["apply_url"]) == ("failed", "count_wrong_election", None)
    assert "otra elección" in status["error_message"]
    assert not Category.objects.exists() and not ResultSheet.objects.exists()


HEADER = "mesa_id,cargo_nombre,agrupacion_nombre,votos_tipo,votos_cantidad\n"


@pytest.mark.parametrize(
    ("data", "name", "extra", "expected"),
    [
        (b"", "r.csv", {}, "empty_file"),
        ((HEADER + "1,DIPUTACIÓN,A,POSITIVO,1\n").encode("cp1252"), "r.csv", {}, "count_not_utf8"),
        (CORDOBA.read_bytes(), "r.csv", {}, "count_wrong_layout"),
        (_cordoba_xlsx(), "r.xlsx", {}, "count_wrong_layout"),
        (b"mesa_id,cargo_nombre,columna_rara\n1,X,Y\n", "r.csv", {}, "missing_columns"),
        (HEADER.encode(), "r.csv", {}, "no_data_rows"),
        (_national_csv(), "r.csv", {"layout": "pdf"}, "validation_error"),
        (CORDOBA.read_bytes(), "r.csv", {"layout": "wide", "category": "XYZ"}, "count_unknown_category"),
    ],
    ids=[
        "empty",
        "cp1252",
        "wide-as-national",
        "xlsx-as-national",
        "unknown-columns",
        "header-only",
        "bad-layout",
        "category",
    ],
)
def test_a_bad_file_is_refused_at_once_with_its_code_and_nothing_stored(
    api, national, settings, data, name, extra, expected
):
    response = _upload(api, national, data, name=name, **extra)
    assert response.status_code == 400 and response.json()["code"] == expected, response.content
    assert response.json()["message"]
    assert not OfficialImport.objects.exists() and _stored_files(settings) == []


@pytest.mark.parametrize("size", [3_000, 200_000], ids=["caught-as-it-arrives", "caught-by-its-declared-length"])
def test_a_file_over_the_limit_is_refused_with_413_and_nothing_stored(api, national, settings, size):
    settings.COUNT_OFFICIAL_MAX_FILE_BYTES = 2_000
    data = _national_csv()[:size]
    response = _upload(api, national, data)
    assert response.status_code == 413 and response.json()["code"] == "file_too_big"
    assert "MB" in response.json()["message"]
    assert not OfficialImport.objects.exists() and _stored_files(settings) == []


def test_only_leads_upload_read_and_apply(api, national, north_coordinator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job_url = _upload(api, national, _national_csv(), create_missing="true")["Location"]
    coordinator = APIClient()
    coordinator.force_authenticate(north_coordinator)
    refused = [
        _upload(coordinator, national, _national_csv()).status_code,
        coordinator.get(f"/api/elections/{national.pk}/official-imports/").status_code,
        coordinator.get(job_url).status_code,
        coordinator.post(job_url + "apply/").status_code,
        APIClient().get(job_url).status_code,
    ]
    assert refused[:4] == [403, 403, 403, 403] and refused[4] in (401, 403)
    assert OfficialImport.objects.get().state == OfficialImportState.PREVIEWED
    assert [j["id"] for j in api.get(f"/api/elections/{national.pk}/official-imports/").json()] == [
        OfficialImport.objects.get().pk
    ]


def test_applying_twice_is_refused_with_its_code(api, national, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job_url = _upload(api, national, _national_csv(), create_missing="true")["Location"]
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(job_url + "apply/")
    second = api.post(job_url + "apply/")
    assert (first.status_code, second.status_code, second.json()["code"]) == (202, 400, "count_import_state")
    assert ResultSheet.objects.filter(official=True).count() == 24


def test_the_official_import_endpoints_are_in_the_schema_and_the_old_one_is_gone(api):
    paths = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert paths["/api/elections/{election_id}/official-imports/"]["post"]["operationId"] == (
        "count_official_imports_upload"
    )
    assert paths["/api/official-imports/{id}/"]["get"]["operationId"] == "count_official_import_status"
    assert paths["/api/official-imports/{id}/apply/"]["post"]["operationId"] == "count_official_import_apply"
    assert "/api/elections/{election_id}/official-results/" not in paths
