"""Credentials on paper: the PDFs read back (text and pixels), the QR, revocation by every door,
the verification page, the setup's checks, permissions, the zip batch and the accreditation list."""

import io
import random
import zipfile
from datetime import timedelta

import numpy as np
import pypdfium2
import pytest
from django.urls import reverse
from openpyxl import load_workbook
from PIL import Image, ImageDraw
from pypdf import PdfReader
from reportlab.graphics.barcode.qrencoder import QRPolynomial, QRUtil
from rest_framework.test import APIClient

from backend.assignments.models import AssignmentRole, AssignmentStatus
from backend.assignments.services import (
    assignment_create,
    assignment_decline,
    assignment_swap,
    assignment_unassign,
    late_watcher_replace,
)
from backend.celery import app
from backend.core.exceptions import ApplicationError, PermissionDenied
from backend.core.models import FileJobState
from backend.credentials import services as credential_services
from backend.credentials.documents import REPORTLAB_POLYNOMIAL_MOD, _polynomial_mod
from backend.credentials.models import Credential, CredentialBatch
from backend.credentials.services import (
    assignment_credential_pdf,
    batch_dir,
    credential_setup_save,
    credentials_batch_build,
    credentials_batch_start,
    credentials_batches_expire,
    place_credentials_pdf,
)
from tests.factories import VolunteerFactory

try:
    import cv2
except ImportError:  # the decoder is a dev extra; without it the QR's payload is checked instead
    cv2 = None


def _signature_png() -> bytes:
    image = Image.new("RGB", (420, 120), "white")
    ImageDraw.Draw(image).line([(10, 100), (140, 15), (260, 95), (410, 20)], fill="black", width=5)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def setup(geo, lead):
    return credential_setup_save(
        election=geo.election,
        actor=lead,
        party_name="Frente Cívico Ñandú",
        list_number="501",
        signatory_name="Begoña Ibáñez",
        signatory_dni="20.111.222",
        table_wording="Acredito a {nombre}, DNI {dni}, ante la mesa {mesa} de {establecimiento}. Lista {lista}.",
        place_wording="Acredito a {nombre}, DNI {dni}, como fiscal general de {establecimiento}.",
        signature=_signature_png(),
    )


@pytest.fixture
def watchers(geo):
    """Two table watchers with accents and ñ at the north school, and its fiscal general."""
    people = [
        VolunteerFactory(first_name="José María", last_name="Núñez Peña", dni="30123456", area=geo.north_town),
        VolunteerFactory(first_name="Inés", last_name="Ávalos Güemes", dni="31222333", area=geo.north_town),
        VolunteerFactory(first_name="Ñusta", last_name="Quispe", dni="32444555", area=geo.north_town),
    ]
    table_1 = assignment_create(
        volunteer=people[0], place=geo.north_place, table=geo.north_tables[0], role=AssignmentRole.TABLE, source="web"
    )
    table_2 = assignment_create(
        volunteer=people[1], place=geo.north_place, table=geo.north_tables[1], role=AssignmentRole.TABLE, source="web"
    )
    general = assignment_create(volunteer=people[2], place=geo.north_place, role=AssignmentRole.PLACE, source="web")
    return table_1, table_2, general


def _text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _page_image(pdf: bytes, index: int = 0, scale: float = 3.0) -> Image.Image:
    document = pypdfium2.PdfDocument(pdf)
    return document[index].render(scale=scale).to_pil()


def test_a_school_prints_two_credentials_per_page_in_table_order_with_accents_intact(geo, lead, setup, watchers):
    # when
    pdf, pages = place_credentials_pdf(place=geo.north_place, actor=lead)
    # then: three credentials on two A4 pages, the fiscal general first, then tables 1 and 2
    assert pages == 2
    text = _text(pdf)
    assert len(text) == 2
    first, second = text
    assert first.index("Ñusta Quispe") < first.index("José María Núñez Peña")
    assert "Inés Ávalos Güemes" in second
    assert "Frente Cívico Ñandú — Lista 501" in first
    assert "DNI 30.123.456" in first
    assert "Mesa 1" in first
    assert "Begoña Ibáñez" in first
    assert "Acredito a José María Núñez Peña, DNI 30.123.456, ante la mesa 1 de Escuela Norte." in first.replace(
        "\n", " "
    )
    # and the page renders: a PNG with ink on both halves (the signature image included)
    image = _page_image(pdf)
    width, height = image.size
    assert abs(width / height - 595.28 / 841.89) < 0.01
    grey = np.asarray(image.convert("L"))
    assert (grey[: height // 2] < 128).mean() > 0.01
    assert (grey[height // 2 :] < 128).mean() > 0.01
    png = io.BytesIO()
    image.save(png, format="PNG")
    assert png.getvalue().startswith(b"\x89PNG")


def test_the_qr_decodes_to_the_short_verification_link(geo, lead, setup, watchers, settings):
    table_1 = watchers[0]
    # when
    pdf, _pages = assignment_credential_pdf(assignment=table_1, actor=lead)
    # then
    credential = Credential.objects.get(assignment=table_1)
    url = f"{settings.PUBLIC_BASE_URL}/v/{credential.token}"
    assert len(credential.token) == 10
    assert url in _text(pdf)[0]
    if cv2 is None:
        pytest.skip("opencv not installed: the printed link was checked, not the QR's pixels")
    image = np.asarray(_page_image(pdf, scale=4).convert("RGB"))
    decoded, _points, _raw = cv2.QRCodeDetector().detectAndDecode(image[: image.shape[0] // 2])
    assert decoded == url


def test_verification_page_shows_valid_then_revoked_after_a_decline_with_replacement(client, geo, lead, watchers):
    # given: table 1's credential printed
    table_1 = watchers[0]
    assignment_credential_pdf(assignment=table_1, actor=lead)
    old = Credential.objects.get(assignment=table_1)
    substitute = VolunteerFactory(first_name="Agustín", last_name="Muñoz", dni="33777888", area=geo.north_town)
    # when: checked at the door, no login
    page = client.get(f"/v/{old.token}")
    # then: only the first name, the DNI's last three digits, the school and the table
    body = page.content.decode()
    assert page.status_code == 200
    assert "válida" in body
    assert "José" in body and "Núñez" not in body and "María" not in body
    assert "…456" in body and "30.123" not in body and "30123456" not in body
    assert "Escuela Norte" in body
    # when: the watcher declines and the engine proposes the substitute
    declined = assignment_decline(assignment=table_1, source="web")
    # then
    assert declined.replacement is not None and declined.replacement.volunteer == substitute
    body = client.get(f"/v/{old.token}").content.decode()
    assert "revocada" in body and "válida" not in body
    new = Credential.objects.get(assignment=declined.replacement)
    assert new.revoked_at is None and new.table_id == table_1.table_id
    assert "válida" in client.get(f"/v/{new.token}").content.decode()
    # and a reprint of the old one says so
    reprint, _pages = assignment_credential_pdf(assignment=declined, actor=lead)
    assert "REVOCADA" in _text(reprint)[0]
    assert "el fiscal no puede ir" in _text(reprint)[0]


def test_every_door_that_ends_or_moves_an_assignment_revokes(geo, lead, watchers, election_day):
    table_1, table_2, general = watchers
    for assignment in watchers:
        assignment_credential_pdf(assignment=assignment, actor=lead)
    # a swap: both credentials name the other table now
    assignment_swap(first=table_1, second=table_2, source="web")
    assert Credential.objects.filter(assignment__in=[table_1, table_2], revoked_at__isnull=True).count() == 0
    assert set(Credential.objects.filter(assignment=table_1).values_list("revoked_reason", flat=True)) == {"moved"}
    # a late watcher replaced on election day
    stand_in = VolunteerFactory(first_name="Lucía", last_name="Peña", area=geo.north_town)
    new = late_watcher_replace(assignment=general, volunteer=stand_in, actor=lead, source="web")
    assert not Credential.objects.filter(assignment=general, revoked_at__isnull=True).exists()
    assert Credential.objects.filter(assignment=new, revoked_at__isnull=True).exists()
    # a coordinator's cancellation
    assignment_credential_pdf(assignment=table_2, actor=lead)
    assignment_unassign(assignment=table_2, source="web")
    assert Credential.objects.get(assignment=table_2, revoked_reason="cancelled").revoked_at is not None


def test_a_moved_assignment_is_reissued_for_its_new_slot(geo, lead, watchers):
    table_1, table_2, _general = watchers
    pdf, _ = assignment_credential_pdf(assignment=table_1, actor=lead)
    assert "Mesa 1" in _text(pdf)[0]
    assignment_swap(first=table_1, second=table_2, source="web")
    table_1.refresh_from_db()
    pdf, _ = assignment_credential_pdf(assignment=table_1, actor=lead)
    assert "Mesa 2" in _text(pdf)[0] and "REVOCADA" not in _text(pdf)[0]


def test_phone_sized_credential_from_the_watchers_own_page(client, geo, north_volunteer, lead):
    assignment_create(
        volunteer=north_volunteer, place=geo.north_place, table=geo.north_tables[2], role="table", source="web"
    )
    client.force_login(north_volunteer.user)
    # the portal shows the links
    page = client.get(reverse("portal:mine")).content.decode()
    assert reverse("portal:credential_pdf") in page
    response = client.get(reverse("portal:credential_pdf") + "?formato=telefono")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    box = reader.pages[0].mediabox
    assert float(box.width) < 300 and float(box.height) > float(box.width)
    assert "María García" in reader.pages[0].extract_text()


def test_permissions_coordinators_print_only_their_area(client, geo, north_coordinator, south_coordinator, watchers):
    table_1 = watchers[0]
    client.force_login(south_coordinator)
    assert client.get(reverse("console:credentials_place_pdf", args=[geo.north_place.pk])).status_code == 404
    assert client.get(reverse("console:credentials_assignment_pdf", args=[table_1.pk])).status_code == 404
    with pytest.raises(PermissionDenied):
        place_credentials_pdf(place=geo.north_place, actor=south_coordinator)
    with pytest.raises(PermissionDenied):
        credentials_batch_start(election=geo.election, area=None, actor=south_coordinator)
    with pytest.raises(PermissionDenied):
        credentials_batch_start(election=geo.election, area=geo.north, actor=south_coordinator)
    client.force_login(north_coordinator)
    response = client.get(reverse("console:credentials_place_pdf", args=[geo.north_place.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    # the setup is a lead's
    assert client.post(reverse("console:credentials"), {"party_name": "X"}).status_code == 403
    with pytest.raises(PermissionDenied):
        credential_setup_save(
            election=geo.election,
            actor=north_coordinator,
            party_name="X",
            list_number="1",
            signatory_name="",
            signatory_dni="",
            table_wording="{nombre}",
            place_wording="{nombre}",
        )


def test_a_volunteer_never_prints_anothers_credential(geo, north_volunteer, south_volunteer):
    theirs = assignment_create(
        volunteer=south_volunteer, place=geo.south_place, table=geo.south_tables[0], role="table", source="web"
    )
    with pytest.raises(PermissionDenied):
        assignment_credential_pdf(assignment=theirs, actor=north_volunteer.user)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("table_wording", "Acredito a {nombre} en {mesa_x}", "{mesa_x}"),
        ("table_wording", "Acredito a {nombre.__class__}", "no es un dato conocido"),
        ("place_wording", "Acredito a {nombre", "llave sin cerrar"),
        ("place_wording", "   ", "vacío"),
        ("signatory_dni", "12a45", "7 u 8 dígitos"),
    ],
)
def test_setup_refuses_bad_input_clearly_and_keeps_what_was_typed(client, geo, lead, field, value, message):
    client.force_login(lead)
    data = {
        "party_name": "Frente Cívico",
        "list_number": "501",
        "signatory_name": "Begoña Ibáñez",
        "signatory_dni": "20111222",
        "table_wording": "{nombre} {mesa}",
        "place_wording": "{nombre}",
        field: value,
    }
    response = client.post(reverse("console:credentials"), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert "Begoña Ibáñez" in body


def test_setup_refuses_a_signature_that_is_not_an_image(geo, lead):
    with pytest.raises(ApplicationError) as error:
        credential_setup_save(
            election=geo.election,
            actor=lead,
            party_name="P",
            list_number="1",
            signatory_name="S",
            signatory_dni="20111222",
            table_wording="{nombre}",
            place_wording="{nombre}",
            signature=b"%PDF-1.4 not an image",
        )
    assert error.value.code == "signature_invalid"


def test_default_wording_is_spanish_for_both_roles(geo, lead, watchers):
    pdf, _pages = place_credentials_pdf(place=geo.north_place, actor=lead)
    text = " ".join(_text(pdf)).replace("\n", " ")
    assert "como FISCAL GENERAL del establecimiento Escuela Norte" in text
    assert "como FISCAL DE MESA ante la mesa 1" in text


@pytest.fixture(autouse=True)
def _batch_files_in_tmp(settings, tmp_path):
    settings.CREDENTIALS_DIR = tmp_path / "credentials"


@pytest.fixture
def eager_celery():
    """The batch task runs inline even when REDIS_URL configures a real broker."""
    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(task_always_eager=before[0], task_eager_propagates=before[1])


def test_zip_of_an_area_built_by_the_task_with_progress(
    client, geo, lead, setup, watchers, south_volunteer, django_capture_on_commit_callbacks, eager_celery
):
    assignment_create(
        volunteer=south_volunteer, place=geo.south_place, table=geo.south_tables[0], role="table", source="web"
    )
    client.force_login(lead)
    # when: the lead asks for the whole election (eager Celery runs the task after commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("console:credentials_batch_start"), {"area": ""})
    batch = CredentialBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("console:credentials_batch", args=[batch.pk])
    # then
    batch.refresh_from_db()
    assert batch.state == FileJobState.DONE and batch.done == batch.total == 2 and batch.pages == 3
    page = client.get(reverse("console:credentials_batch", args=[batch.pk])).content.decode()
    assert 'value="100"' in page
    download = client.get(reverse("console:credentials_batch_download", args=[batch.pk]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    names = sorted(archive.namelist())
    assert names == ["n-1-escuela-norte.pdf", "s-1-escuela-sur.pdf"]
    assert "Juan Pérez" in _text(archive.read("s-1-escuela-sur.pdf"))[0]


def test_a_coordinators_batch_covers_only_their_area_and_others_cannot_download_it(
    client,
    geo,
    north_coordinator,
    south_coordinator,
    watchers,
    south_volunteer,
    django_capture_on_commit_callbacks,
    eager_celery,
):
    assignment_create(
        volunteer=south_volunteer, place=geo.south_place, table=geo.south_tables[0], role="table", source="web"
    )
    client.force_login(north_coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("console:credentials_batch_start"), {"area": geo.north.pk})
    batch = CredentialBatch.objects.get()
    assert batch.total == 1 and batch.state == FileJobState.DONE
    assert client.get(reverse("console:credentials_batch_download", args=[batch.pk])).status_code == 200
    client.force_login(south_coordinator)
    assert client.get(reverse("console:credentials_batch_download", args=[batch.pk])).status_code == 404


def test_an_old_zip_is_deleted_and_its_page_says_to_build_it_again(
    client, geo, lead, setup, watchers, settings, django_capture_on_commit_callbacks, eager_celery
):
    settings.GENERATED_FILES_KEEP_HOURS = 48
    client.force_login(lead)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("console:credentials_batch_start"), {"area": ""})
    batch = CredentialBatch.objects.get()
    zip_path = batch_dir() / batch.file_name
    assert zip_path.is_file()
    # when: the hourly sweep runs 47 h later, then 49 h later
    kept = credentials_batches_expire(now=batch.finished_at + timedelta(hours=47))
    deleted = credentials_batches_expire(now=batch.finished_at + timedelta(hours=49))
    # then
    batch.refresh_from_db()
    assert (kept, deleted) == (0, 1)
    assert not zip_path.exists() and batch.state == FileJobState.EXPIRED and batch.file_name == ""
    assert client.get(reverse("console:credentials_batch_download", args=[batch.pk])).status_code == 404
    page = client.get(reverse("console:credentials_batch", args=[batch.pk])).content.decode()
    assert 'data-testid="batch-expired"' in page and "Generalo de nuevo" in page


def test_a_failed_build_leaves_no_half_written_zip(geo, lead, setup, watchers, monkeypatch):
    batch = CredentialBatch.objects.create(election=geo.election, area=None, requested_by=lead, total=2)

    def broken_pdf(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(credential_services, "credentials_pdf", broken_pdf)
    with pytest.raises(OSError):
        credentials_batch_build(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.state == FileJobState.FAILED and "disk full" in batch.error
    assert list(batch_dir().iterdir()) == []


def test_accreditation_list_with_status_xlsx_and_pdf(client, geo, lead, watchers):
    table_1 = watchers[0]
    assignment_credential_pdf(assignment=table_1, actor=lead)
    assignment_decline(assignment=table_1, source="web")
    client.force_login(lead)
    response = client.get(reverse("console:credentials_accreditation_xlsx"))
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][-2:] == ("Estado", "Credencial")
    by_dni = {r[2]: r for r in rows[1:]}
    assert by_dni["30123456"][-2:] == ("Rechazada", "revocada")
    assert by_dni["31222333"][-2:] == ("Propuesta", "sin emitir")
    pdf = client.get(reverse("console:credentials_accreditation_pdf")).content
    text = _text(pdf)[0]
    assert "Núñez Peña, José María" in text and "Rechazada" in text and "revocada" in text


def test_unknown_token_is_a_plain_not_found(client, db):
    response = client.get("/v/AAAAAAAAAA")
    assert response.status_code == 404
    assert "no existe" in response.content.decode()


def test_printing_twice_issues_one_credential(geo, lead, watchers):
    # Printing twice issues once: the same token on both prints.
    table_1 = watchers[0]
    assignment_credential_pdf(assignment=table_1, actor=lead)
    assignment_credential_pdf(assignment=table_1, actor=lead)
    assert Credential.objects.filter(assignment=table_1).count() == 1
    assert table_1.status == AssignmentStatus.PROPOSED


def test_the_fast_reed_solomon_remainder_equals_reportlabs():
    rng = random.Random(18)
    for _ in range(500):
        generator = QRUtil.getErrorCorrectPolynomial(rng.choice([7, 10, 13, 16, 18, 22, 26, 28]))
        data = [rng.randrange(1, 256)] + [rng.randrange(256) for _ in range(rng.randrange(0, 60))]
        raw = QRPolynomial(data, generator.getLength() - 1)
        width = generator.getLength() - 1

        def tail(poly, width=width):
            return [poly.get(i) if i >= 0 else 0 for i in range(poly.getLength() - width, poly.getLength())]

        assert tail(_polynomial_mod(raw, generator)) == tail(REPORTLAB_POLYNOMIAL_MOD(raw, generator))


# --- the API ------------------------------------------------------------------------------------


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_api_prints_a_watchers_credential_for_their_coordinator_and_refuses_another_area(
    geo, setup, watchers, north_coordinator, south_coordinator
):
    table_1 = watchers[0]
    url = f"/api/assignments/{table_1.pk}/credential/"
    # when
    mine = _api(north_coordinator).get(url)
    phone = _api(north_coordinator).get(url, {"layout": "phone"})
    theirs = _api(south_coordinator).get(url)
    # then: a real PDF with the watcher's name, issued once; the south's coordinator is refused
    assert mine.status_code == 200 and mine["Content-Type"] == "application/pdf"
    assert "Núñez Peña" in _text(mine.content)[0]
    assert phone.status_code == 200 and _text(phone.content)[0] != _text(mine.content)[0]
    assert Credential.objects.filter(assignment=table_1).count() == 1
    assert theirs.status_code == 403


def test_api_zip_of_an_area_is_followed_and_downloaded_by_its_requester_only(
    geo, setup, watchers, north_coordinator, south_coordinator, lead, django_capture_on_commit_callbacks, eager_celery
):
    api = _api(north_coordinator)
    # when: the coordinator asks for their area, then for the whole election
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post("/api/credentials/batches/", {"election": geo.election.pk, "area": geo.north.pk})
    whole = api.post("/api/credentials/batches/", {"election": geo.election.pk})
    batch_id = started.json()["id"]
    detail = api.get(f"/api/credentials/batches/{batch_id}/").json()
    download = api.get(detail["download_url"])
    # then
    assert started.status_code == 202
    assert (detail["state"], detail["done"], detail["total"], detail["percent"]) == ("done", 1, 1, 100)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert archive.namelist() == ["n-1-escuela-norte.pdf"]
    assert whole.status_code == 403 and "responsable" in whole.json()["message"]
    assert _api(south_coordinator).get(f"/api/credentials/batches/{batch_id}/").status_code == 404
    assert _api(south_coordinator).get(detail["download_url"]).status_code == 404
    assert _api(lead).get(detail["download_url"]).status_code == 200
