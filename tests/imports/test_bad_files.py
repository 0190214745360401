"""Bad files get a specific error and write nothing: no batch, no volunteer."""

import io
import zipfile

import pytest

from backend.core.exceptions import ApplicationError
from backend.imports.models import BatchStatus, ImportBatch
from backend.volunteers.models import Volunteer

from .conftest import ROSTER_HEADER, run_roster, xlsx

pytestmark = pytest.mark.django_db


def _refused(election, data: bytes, name: str = "fiscales.xlsx") -> ApplicationError:
    with pytest.raises(ApplicationError) as error:
        run_roster(election, data, name=name)
    assert not Volunteer.objects.exists()
    return error.value


def test_a_pdf_renamed_xlsx_is_not_a_spreadsheet(geo):
    error = _refused(geo.election, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" * 10)

    assert error.code == "not_a_spreadsheet" and "PDF" in str(error.message)
    assert not ImportBatch.objects.exists()


def test_a_word_document_renamed_xlsx_is_named(geo):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")

    error = _refused(geo.election, buffer.getvalue())

    assert error.code == "not_a_spreadsheet" and "Word" in str(error.message)


def test_a_binary_file_with_a_spreadsheet_name_is_refused(geo):
    error = _refused(geo.election, bytes(range(256)) * 20)

    assert error.code == "not_a_spreadsheet"


def test_a_truncated_workbook_is_refused(geo):
    data = xlsx([ROSTER_HEADER, ["Uno", "30111111", "351 15 412 3456"]])

    error = _refused(geo.election, data[: len(data) // 2])

    assert error.code == "truncated_file"
    assert "incompleto" in str(error.message)


def test_a_password_protected_workbook_is_refused(geo):
    # Excel writes encrypted workbooks as an OLE compound file holding EncryptionInfo and EncryptedPackage.
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    ole += "EncryptionInfo".encode("utf-16-le") + b"\x00" * 64 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 900

    error = _refused(geo.election, ole)

    assert error.code == "password_protected"
    assert "contraseña" in str(error.message)


def test_a_zip_bomb_is_refused_before_reading(geo, settings):
    # given a real workbook plus a member that inflates to 50 MB from a few kilobytes
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 400 * 1024 * 1024
    source = zipfile.ZipFile(io.BytesIO(xlsx([ROSTER_HEADER, ["Uno", "30111111", "351 15 412 3456"]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            archive.writestr(item, source.read(item))
        archive.writestr("xl/media/zeros.bin", b"\x00" * (50 * 1024 * 1024))

    error = _refused(geo.election, buffer.getvalue())

    assert error.code == "compression_bomb"


def test_total_uncompressed_size_over_the_limit_is_refused(geo, settings):
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 1000

    error = _refused(geo.election, xlsx([ROSTER_HEADER, ["Uno", "30111111", "351 15 412 3456"]]))

    assert error.code == "compression_bomb"


def test_xml_entity_declarations_are_refused(geo):
    source = zipfile.ZipFile(io.BytesIO(xlsx([ROSTER_HEADER, ["Uno", "30111111", "351 15 412 3456"]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            body = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>' + body
            archive.writestr(item, body)

    error = _refused(geo.election, buffer.getvalue())

    assert error.code == "xml_entities"


def test_more_rows_than_the_limit_is_refused(geo, settings):
    settings.IMPORT_MAX_ROWS = 5
    rows = [ROSTER_HEADER] + [[f"P{i}", str(30_000_000 + i), f"351 15 412 {1000 + i}"] for i in range(10)]

    error = _refused(geo.election, xlsx(rows))
    csv_error = _refused(geo.election, "\n".join(";".join(r) for r in rows).encode(), name="fiscales.csv")

    assert error.code == csv_error.code == "too_many_rows"
    assert "5" in str(error.message)


def test_empty_file_is_refused(geo):
    assert _refused(geo.election, b"").code == "empty_file"


def test_missing_required_column_fails_the_batch_names_it_and_writes_no_volunteer(geo):
    data = xlsx([["Apellido y Nombre", "Email", "Celular"], ["Uno", "a@b.org", "351 15 412 3456"]])

    error = _refused(geo.election, data)

    assert error.code == "missing_columns" and "DNI" in str(error.message)
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.error_code) == (BatchStatus.FAILED, "missing_columns")
