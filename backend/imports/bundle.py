"""Several files as one upload: a station list with its companion files, sent together or as a zip.

The national lists come as four csv files (places and tables; names of districts, sections and
circuits). A lead uploads them together or zipped; the batch stores one zip either way, and
each member is opened with the same checks as a single spreadsheet. A zip that is itself a
workbook (xlsx, ods) is a spreadsheet, not a bundle.
"""

from __future__ import annotations

import io
import zipfile
from enum import StrEnum
from pathlib import PurePosixPath

from django.conf import settings
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.spreadsheets import ZIP_MAGIC, Sheet, SpreadsheetError, open_sheet

MAX_MEMBERS = 20


class BundleError(StrEnum):
    TOO_MANY = "too_many_files"
    EMPTY = "empty_bundle"


def is_bundle(data: bytes) -> bool:
    """A plain zip of files (not an xlsx or ods, which are zips too)."""
    if not data.startswith(ZIP_MAGIC):
        return False
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, EOFError, ValueError):
        return False  # open_sheet names the damage
    return "xl/workbook.xml" not in names and "content.xml" not in names and "word/document.xml" not in names


def bundle_files(files: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    """(name, data) to store: one file as it came, several as one zip."""
    if len(files) == 1:
        return files[0]
    if len(files) > MAX_MEMBERS:
        raise _too_many()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        used: set[str] = set()
        for name, data in files:
            member = PurePosixPath(name.replace("\\", "/")).name or "archivo"
            while member in used:
                member = f"_{member}"
            used.add(member)
            archive.writestr(member, data)
    first = PurePosixPath(files[0][0]).name
    return f"{first} + {len(files) - 1}.zip", buffer.getvalue()


def _too_many() -> ApplicationError:
    return ApplicationError(
        _("Demasiados archivos juntos (máximo %(n)s).") % {"n": MAX_MEMBERS}, code=BundleError.TOO_MANY
    )


def open_bundle(data: bytes, *, filename: str = "") -> list[tuple[str, Sheet]]:
    """Every spreadsheet of the upload as (name, first sheet); refuse bombs and damaged members."""
    if not is_bundle(data):
        return [(PurePosixPath(filename).name, open_sheet(data, filename=filename))]
    archive = zipfile.ZipFile(io.BytesIO(data))
    members = [
        m
        for m in archive.infolist()
        # Folders, and what macOS adds to a zip, are not files the lead chose.
        if not m.is_dir()
        and not m.filename.startswith("__MACOSX/")
        and not PurePosixPath(m.filename).name.startswith(".")
    ]
    if not members:
        raise ApplicationError(_("El zip no contiene archivos."), code=BundleError.EMPTY)
    if len(members) > MAX_MEMBERS:
        raise _too_many()
    max_total = int(getattr(settings, "IMPORT_MAX_UNCOMPRESSED_BYTES", 400 * 1024 * 1024))
    max_ratio = int(getattr(settings, "IMPORT_MAX_COMPRESSION_RATIO", 200))
    if sum(m.file_size for m in members) > max_total or any(
        m.file_size > 1024 * 1024 and m.file_size > max_ratio * max(m.compress_size, 1) for m in members
    ):
        raise ApplicationError(
            _("El archivo se descomprime a un tamaño desmedido (posible bomba zip). No se importó nada."),
            code=SpreadsheetError.BOMB,
        )
    sheets = []
    for member in sorted(members, key=lambda m: m.filename):
        name = PurePosixPath(member.filename).name
        try:
            content = archive.read(member)
        except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
            raise ApplicationError(
                _("El zip está incompleto o dañado (%(name)s).") % {"name": name}, code=SpreadsheetError.TRUNCATED
            ) from exc
        if is_bundle(content):
            raise ApplicationError(
                _("%(name)s es un zip dentro del zip: subí los archivos directamente.") % {"name": name},
                code=SpreadsheetError.UNSUPPORTED,
            )
        try:
            sheets.append((name, open_sheet(content, filename=name)))
        except ApplicationError as exc:
            raise ApplicationError(f"{name}: {exc.message}", code=exc.code, extra=exc.extra) from exc
    return sheets
