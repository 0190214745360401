"""The upload page for leads at /importar/: form, preview, apply, report; Django's test client."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backend.imports.models import BatchStatus, ImportBatch
from backend.volunteers.models import Volunteer

from .conftest import ROSTER_HEADER, xlsx

pytestmark = pytest.mark.django_db


def test_lead_previews_then_applies_a_roster_and_downloads_the_report(client, geo, lead):
    client.force_login(lead)

    # given the form
    page = client.get("/importar/")
    assert page.status_code == 200 and "Importar planillas" in page.content.decode()

    # when the lead uploads a dry run
    data = xlsx([ROSTER_HEADER, ["GARCÍA, María", "30.123.456", "351 15 412 3456"], ["X", "1", "2"]])
    response = client.post(
        "/importar/",
        {
            "election": geo.election.slug,
            "kind": "roster",
            "file": SimpleUploadedFile("fiscales.xlsx", data),
            "dry_run": "on",
            "default_area_code": "",
        },
    )

    # then the preview shows counts and the first problems, and nothing is saved
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/importar/{batch.pk}/"
    preview = client.get(response["Location"]).content.decode()
    assert "Vista previa" in preview and "Aplicar" in preview and "DNI inválido" in preview
    assert not Volunteer.objects.exists()

    # when the lead applies
    applied = client.post(f"/importar/{batch.pk}/aplicar/", follow=True).content.decode()

    # then
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPLIED
    assert "Importación aplicada" in applied and ">Aplicar<" not in applied
    assert Volunteer.objects.get().last_name == "García"
    report = client.get(f"/importar/{batch.pk}/informe/")
    assert report.status_code == 200 and report["Content-Type"].startswith("application/vnd.openxmlformats")


def test_bad_file_is_shown_as_a_form_error(client, geo, lead):
    client.force_login(lead)

    response = client.post(
        "/importar/",
        {"election": geo.election.slug, "kind": "stations", "file": SimpleUploadedFile("mesas.xlsx", b"%PDF-1.5 x")},
    )

    assert response.status_code == 400
    assert "no es una planilla" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_missing_column_shows_the_failed_batch_with_the_column_named(client, geo, lead):
    client.force_login(lead)
    data = xlsx([["Nombre", "Celular"], ["Ana", "351 15 412 3456"]])

    response = client.post(
        "/importar/",
        {"election": geo.election.slug, "kind": "roster", "file": SimpleUploadedFile("f.xlsx", data)},
        follow=True,
    )

    assert "Falta la columna obligatoria: DNI" in response.content.decode()


def test_large_file_page_shows_a_progress_bar_polling_the_batch(client, geo, lead, settings):
    settings.IMPORT_ASYNC_ROW_THRESHOLD = 1
    client.force_login(lead)
    data = xlsx([ROSTER_HEADER, ["A", "30111111", "351 15 412 3456"], ["B", "30111112", "351 15 412 3457"]])

    # the task is queued on commit; without running it the batch stays pending
    response = client.post(
        "/importar/",
        {"election": geo.election.slug, "kind": "roster", "file": SimpleUploadedFile("f.xlsx", data), "dry_run": "on"},
        follow=True,
    )

    body = response.content.decode()
    batch = ImportBatch.objects.get()
    assert 'role="progressbar"' in body and f"/api/imports/{batch.pk}/" in body


def test_coordinators_and_anonymous_users_cannot_import(client, geo, north_coordinator):
    assert client.get("/importar/").status_code == 302  # to the login page
    client.force_login(north_coordinator)
    assert client.get("/importar/").status_code == 403


def test_lead_uploads_the_national_files_together_maps_an_ambiguous_column_previews_the_diff_and_applies(client, lead):
    # given: the real cut of the 2019 list with a second column that also reads as the place code
    from pathlib import Path

    from django.conf import settings

    from backend.elections.models import Table
    from tests.factories import ElectionFactory

    election = ElectionFactory(slug="paso-2019")
    sample = Path(settings.BASE_DIR) / "fixtures" / "national-sample"
    escuelas = (sample / "escuelas.csv").read_text().splitlines()
    escuelas = [f"{line},{'codigo_escuela' if n == 0 else 'x'}" for n, line in enumerate(escuelas)]
    uploads = [SimpleUploadedFile("escuelas.csv", "\n".join(escuelas).encode())] + [
        SimpleUploadedFile(n, (sample / n).read_bytes()) for n in ("distritos.csv", "secciones.csv", "circuitos.csv")
    ]
    client.force_login(lead)

    # when the lead uploads the four files at once
    response = client.post(
        "/importar/", {"election": election.slug, "kind": "stations", "file": uploads, "dry_run": "on"}
    )

    # then the batch stops on the ambiguous column and the page offers to choose it by hand
    first = ImportBatch.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert first.status == BatchStatus.FAILED and first.error_code == "ambiguous_columns"
    assert "escuela_nro" in page and "codigo_escuela" in page and 'name="map:codigo_escuela"' in page

    # when the lead ignores the extra column
    remapped = client.post(f"/importar/{first.pk}/columnas/", {"map:codigo_escuela": "-", "map:escuela_nro": ""})

    # then a new preview shows the diff, the electors rule and the unused columns
    second = ImportBatch.objects.exclude(pk=first.pk).get()
    assert remapped["Location"] == f"/importar/{second.pk}/"
    preview = client.get(remapped["Location"]).content.decode()
    assert second.status == BatchStatus.PREVIEWED and second.details["tables_created"] == 169
    assert "Qué cambiaría" in preview and "se reparten entre sus mesas" in preview
    assert "seccion_politica" in preview and "columna desconocida" in preview
    assert not Table.objects.exists()

    # when the lead applies
    client.post(f"/importar/{second.pk}/aplicar/")

    # then
    second.refresh_from_db()
    assert second.status == BatchStatus.APPLIED
    assert Table.objects.filter(election=election).count() == 169


def test_roster_preview_lists_the_columns_it_does_not_import(client, geo, lead):
    # given: "Movilidad" (has a car) once passed for a phone column by its prefix
    client.force_login(lead)
    data = xlsx([[*ROSTER_HEADER, "Movilidad"], ["GARCÍA, María", "30.123.456", "351 15 412 3456", "", "", "", "sí"]])

    # when
    response = client.post(
        "/importar/",
        {"election": geo.election.slug, "kind": "roster", "file": SimpleUploadedFile("f.xlsx", data), "dry_run": "on"},
    )

    # then
    batch = ImportBatch.objects.get()
    assert batch.details["unused_columns"] == ["Movilidad"]
    page = client.get(response["Location"]).content.decode()
    assert "Columnas que no se importan: Movilidad" in page
