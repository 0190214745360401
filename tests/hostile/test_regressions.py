"""Each failure the attack of issue 14 found, as a test: clear 4xx errors, nothing written, no traceback."""

import uuid
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_create
from backend.imports.models import BatchStatus, ImportBatch
from backend.messaging.models import InboundMessage
from backend.threads.models import Message
from backend.volunteers.models import Volunteer
from tests.factories import VolunteerFactory
from tests.imports.conftest import ROSTER_HEADER, csv_bytes, run_roster

from .hostile_files import shared_string_trick

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _upload(user, election, data: bytes, name: str):
    client = APIClient()
    client.force_authenticate(user)
    payload = {"election": election.slug, "kind": "roster", "file": SimpleUploadedFile(name, data), "dry_run": "false"}
    return client.post("/api/imports/", payload, format="multipart")


def _refused(response, code: str) -> dict:
    assert response.status_code == 400, response.content[:500]
    body = response.json()
    assert body["code"] == code and body["message"]
    assert not ImportBatch.objects.exists() and not Volunteer.objects.exists()
    return body


def test_the_shared_string_trick_is_a_clear_error_and_stores_nothing(geo, lead):
    body = _refused(
        _upload(lead, geo.election, shared_string_trick(length=1_000_000, cells=5000), "x.xlsx"), "cell_too_long"
    )

    assert "32.767" in body["message"]


def test_a_csv_field_over_the_csv_module_limit_is_a_clear_error(geo, lead):
    data = csv_bytes([ROSTER_HEADER, ["Ana Pérez", "30111111", "351 15 412 3456", "x" * 131_073]])

    body = _refused(_upload(lead, geo.election, data, "fiscales.csv"), "cell_too_long")

    assert body["detail"]["row"] == 2


def test_a_nul_byte_in_a_csv_is_a_clear_error_never_a_failed_batch(geo, lead):
    data = csv_bytes([ROSTER_HEADER, ["Ana\x00 Pérez", "30111111", "351 15 412 3456"]])

    _refused(_upload(lead, geo.election, data, "fiscales.csv"), "nul_bytes")


def test_a_csv_with_only_its_header_is_refused_not_applied_as_zero_rows(geo, lead):
    _refused(_upload(lead, geo.election, csv_bytes([ROSTER_HEADER]), "fiscales.csv"), "no_data_rows")


def test_a_csv_with_a_title_and_a_header_but_no_rows_fails_with_its_reason(geo, lead):
    response = _upload(lead, geo.election, csv_bytes([["Padrón de fiscales 2027"], ROSTER_HEADER]), "fiscales.csv")

    assert response.status_code == 400 and response.json()["code"] == "no_data_rows"
    batch = ImportBatch.objects.get()
    assert batch.status == BatchStatus.FAILED and batch.error_code == "no_data_rows" and batch.error_message
    assert not Volunteer.objects.exists()


def test_control_characters_in_names_are_removed_and_the_accreditation_export_works(client, geo, north_coordinator):
    # given a roster whose names carry controls (a NUL, a bell, a vertical tab) and decomposed accents
    data = csv_bytes(
        [ROSTER_HEADER, ["Pe\u0301rez\x07, Ana\x0b María", "30111111", "351 15 412 3456", "ana.pérez@correo.com.ar"]]
    )
    run_roster(geo.election, data.replace(b"\x07", b"\x07\x01"), name="fiscales.csv")
    ana = Volunteer.objects.get()
    assert (ana.first_name, ana.last_name) == ("Ana María", "Pérez")
    # and an accented local part is a valid address (RFC 6531), not dropped
    assert ana.email == "ana.pérez@correo.com.ar"
    # when a control character reaches the database some other way, the export still works
    Volunteer.objects.filter(pk=ana.pk).update(first_name="Ana\x01\x1f")
    assignment_create(
        volunteer=ana, place=geo.north_place, table=geo.north_tables[0], role=AssignmentRole.TABLE, source="web"
    )
    client.force_login(north_coordinator)

    response = client.get(reverse("console:accreditation_export"))

    assert response.status_code == 200
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[1][:2] == ("Pérez", "Ana")


def test_a_nul_in_a_signed_sms_body_is_stored_without_it(client, settings, geo):
    from twilio.request_validator import RequestValidator

    volunteer = VolunteerFactory(phone="+5493514123456")
    assignment_create(volunteer=volunteer, place=geo.north_place, table=geo.north_tables[0], role="table", source="web")
    params = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "From": volunteer.phone,
        "To": "+15005550006",
        "Body": "ho\x00la\x1b",
    }
    url = settings.PUBLIC_BASE_URL + "/sms/inbound/"
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)

    response = client.post("/sms/inbound/", params, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 200
    assert InboundMessage.objects.get().body == "hola"
    assert Message.objects.get().body == "hola"


def test_names_typed_in_the_admin_lose_their_control_characters():
    from django.forms import modelform_factory

    from backend.volunteers.admin import VolunteerAdminForm

    form_class = modelform_factory(
        Volunteer, form=VolunteerAdminForm, fields=["dni", "first_name", "last_name", "phone", "notes"]
    )
    form = form_class(
        data={
            "dni": "30111222",
            "first_name": "Ana\x07\x1b",
            "last_name": "Pe\u0301rez\x0b",
            "phone": "+5493514123456",
            "notes": "línea 1\r\nlínea 2\x01",
        }
    )

    assert form.is_valid(), form.errors
    volunteer = form.save()
    assert (volunteer.first_name, volunteer.last_name, volunteer.notes) == ("Ana", "Pérez", "línea 1\nlínea 2")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "cp1252"])
def test_a_csv_row_of_millions_of_empty_fields_is_refused_before_it_is_built(settings, encoding):
    from backend.core.exceptions import ApplicationError
    from backend.core.spreadsheets import open_sheet

    settings.IMPORT_MAX_CELLS = 100
    text = "DNI;Nombre\n" + ";" * 200 + "\n"
    data = ("\ufeff" + text).encode(encoding) if encoding == "utf-16-be" else text.encode(encoding)

    with pytest.raises(ApplicationError) as error:
        open_sheet(data, filename="fiscales.csv")

    assert error.value.code == "too_many_cells"


def test_a_stored_file_that_changed_on_disk_is_scanned_again(geo):
    from backend.core.exceptions import ApplicationError
    from backend.imports.models import ImportKind
    from backend.imports.services import batch_create, batch_run

    # given a batch created from a good file, whose stored copy is then replaced by the shared-string trick
    good = csv_bytes([ROSTER_HEADER, ["Ana Pérez", "30111111", "351 15 412 3456"]])
    batch = batch_create(actor=None, election=geo.election, kind=ImportKind.ROSTER, file_name="f.csv", data=good)
    with open(batch.file.path, "wb") as handle:
        handle.write(shared_string_trick(length=1_000_000, cells=50))

    # when
    with pytest.raises(ApplicationError) as error:
        batch_run(batch=batch, dry_run=False)

    # then
    assert error.value.code == "cell_too_long"
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED and batch.error_code == "cell_too_long" and batch.error_message
    assert not Volunteer.objects.exists()
