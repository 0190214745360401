"""Spreadsheets of the count: the discrepancies for the legal team, the quick count.

Every cell goes through `spreadsheet_cell` (no formula injection); every export is logged.
"""

import io
import logging
from collections.abc import Iterable

from django.utils.translation import gettext as _
from openpyxl import Workbook

from backend.core.text import spreadsheet_cell

from .selectors import Discrepancy, QuickCount

logger = logging.getLogger(__name__)

FIELD_NAMES = {
    "blank": "blancos",
    "null": "nulos",
    "contested": "recurridos",
    "challenged": "impugnados",
    "voters": "votantes",
}


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def discrepancies_xlsx(found: Iterable[Discrepancy], *, base_url: str) -> bytes:
    """One row per table x category x differing figure: everything a challenge needs. `found` may be
    a generator (`selectors.discrepancy_iter`): rows are written as they are read."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Discrepancias"))
    sheet.append(
        [
            _("Distrito"),
            _("Sección"),
            _("Circuito"),
            _("Establecimiento"),
            _("Mesa"),
            _("Categoría"),
            _("Dato"),
            _("Nuestra acta"),
            _("Oficial"),
            _("Votos en juego"),
            _("Foto del acta"),
            _("Fiscal"),
        ]
    )
    base = base_url.rstrip("/")
    tables = 0
    for d in found:
        tables += 1
        photo = f"{base}{d.ours.photo.url}" if d.ours.photo else ""
        for name, (ours, official) in d.differences.items():
            sheet.append(
                [
                    spreadsheet_cell(v)
                    for v in (
                        d.district,
                        d.section,
                        d.circuit,
                        d.place,
                        d.table,
                        d.category,
                        FIELD_NAMES.get(name, name),
                        ours,
                        official,
                        d.at_stake,
                        photo,
                        d.watcher,
                    )
                ]
            )
    logger.info("discrepancies export: %s tables", tables)
    return _save(workbook)


def quick_count_xlsx(counts: list[QuickCount]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Conteo rápido"))
    sheet.append([_("Categoría"), _("Área"), _("Lista"), _("Votos"), _("%"), _("Mesas informadas"), _("Mesas")])
    for count in counts:
        for tally in count.lists:
            sheet.append(
                [
                    spreadsheet_cell(v)
                    for v in (
                        count.category,
                        count.area,
                        tally.name,
                        tally.votes,
                        tally.percent,
                        count.tables_reported,
                        count.tables,
                    )
                ]
            )
    logger.info("quick count export: %s categories", len(counts))
    return _save(workbook)
