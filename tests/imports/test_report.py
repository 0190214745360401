"""The xlsx report: every row with its number, status and reason; cells escaped against formula injection."""

import io

import pytest
from openpyxl import load_workbook

from backend.imports.reports import escape_cell
from backend.imports.services import batch_report

from .conftest import ROSTER_HEADER, csv_bytes, run_roster

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=1+1", "'=1+1"),
        ("+54 9 11", "'+54 9 11"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("Ana", "Ana"),
        (-5, -5),
        (None, None),
    ],
)
def test_escape_cell(value, escaped):
    assert escape_cell(value) == escaped


def test_report_lists_each_row_with_number_status_reason_and_escaped_original(geo):
    # given a csv whose cells try formula injection
    data = csv_bytes(
        [
            [*ROSTER_HEADER, "Notas"],
            ["Ana", "30111111", "+54 9 351 412 3456", "", "", "", '=HYPERLINK("http://evil","x")'],
            ["Beto", "30.1", "@SUM(1)", "", "", "", "-1+1"],
        ]
    )
    batch = run_roster(geo.election, data, name="f.csv")

    # when
    batch = batch_report(batch=batch)
    sheet = load_workbook(io.BytesIO(batch.report.read()))["Informe"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    types = [[c.data_type for c in row] for row in sheet.iter_rows()]

    # then
    assert rows[0][:4] == ["Fila", "Estado", "Motivo", "Apellido y Nombre"]
    assert rows[1][:3] == [2, "nuevo", "se ignoraron fórmulas en: notes"]
    assert rows[1][5] == "'+54 9 351 412 3456"
    assert rows[1][9] == '\'=HYPERLINK("http://evil","x")'
    assert rows[2][:2] == [3, "rechazado"] and "DNI inválido" in rows[2][2]
    assert rows[2][5] == "'@SUM(1)" and rows[2][9] == "'-1+1"
    assert all(t != "f" for row in types for t in row)  # no formula cell anywhere
