"""No file of any shape takes a process more than MEMORY_CEILING_MB above its baseline.

Each file is opened and read in a fresh process (`memory_probe`), which reports its peak resident
memory; the shapes are the worst the fuzzing suite and the attack of issue 14 found, at and just
over the reading budgets (IMPORT_MAX_CELLS, IMPORT_MAX_TEXT_BYTES, IMPORT_MAX_CELL_CHARS).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .hostile_files import ods_cell, ods_raw, ods_row, shared_string_trick, xls_raw, xlsx_cell, xlsx_raw

ROOT = Path(__file__).resolve().parents[2]
MEMORY_CEILING_MB = 256

pytestmark = pytest.mark.slow


def probe(tmp_path: Path, name: str, data: bytes) -> dict:
    path = tmp_path / name
    path.write_bytes(data)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "tests.hostile.memory_probe", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_shared_string_trick_of_the_issue_is_refused_in_a_few_megabytes(tmp_path):
    # given: 7.5 KB that calamine inflated to 411 MB (one 1,000,000-character string in 5,000 cells)
    data = shared_string_trick(length=1_000_000, cells=5000)
    assert len(data) < 40_000

    report = probe(tmp_path, "trick.xlsx", data)

    assert report["code"] == "cell_too_long"
    assert report["peak_mb"] < 32


def test_shared_strings_up_to_the_text_budget_are_read_under_the_ceiling(tmp_path):
    # given: the worst accepted shape: 32,000-character strings shown by cells up to just under 64 MB of text
    data = shared_string_trick(length=32_000, cells=2000)

    report = probe(tmp_path, "shared.xlsx", data)

    assert report["code"] == "" and report["rows"] == 2000
    assert report["peak_mb"] < MEMORY_CEILING_MB


def test_one_more_reference_over_the_text_budget_is_refused_before_reading(tmp_path):
    report = probe(tmp_path, "over.xlsx", shared_string_trick(length=32_000, cells=2200))

    assert report["code"] == "too_much_text"
    assert report["peak_mb"] < 32


def test_a_sparse_range_at_the_cell_budget_is_read_under_the_ceiling_and_one_over_is_refused(tmp_path):
    # given: two values span 200,000 rows by 20 columns: calamine builds every cell between them
    corner = {1: xlsx_cell(1, 1, "DNI") + xlsx_cell(1, 20, "x"), 2: xlsx_cell(2, 1, "1")}
    at_budget = xlsx_raw({**corner, 200_000: xlsx_cell(200_000, 20, 1)}, [])
    over = xlsx_raw({**corner, 200_000: xlsx_cell(200_000, 21, 1)}, [])

    read, refused = probe(tmp_path, "at.xlsx", at_budget), probe(tmp_path, "over.xlsx", over)

    assert read["code"] == "" and read["peak_mb"] < MEMORY_CEILING_MB
    assert refused["code"] == "too_many_cells" and refused["peak_mb"] < 32


def test_the_worst_accepted_file_both_budgets_at_once_stays_under_the_ceiling(tmp_path):
    # given: a range of 200,000 x 20 cells and 62.5 MB of shared text: the most a file may make calamine build
    cells = {1: xlsx_cell(1, 1, "DNI") + xlsx_cell(1, 20, "x")}
    cells.update({row: xlsx_cell(row, 2, ("s", 0)) for row in range(2, 2002)})
    cells[200_000] = xlsx_cell(200_000, 20, 1)

    report = probe(tmp_path, "worst.xlsx", xlsx_raw(cells, ["x" * 32_000]))

    assert report["code"] == "" and report["rows"] == 200_000
    assert report["peak_mb"] < MEMORY_CEILING_MB


def test_repeated_ods_cells_are_counted_as_often_as_they_are_copied(tmp_path):
    body = ods_row(ods_cell("DNI") + ods_cell("Nombre")) + ods_row(ods_cell("x" * 30_000, repeat=1000), repeat=1000)

    report = probe(tmp_path, "repeat.ods", ods_raw(body))

    assert report["code"] == "too_much_text" and report["peak_mb"] < 32


def test_xls_shared_strings_and_sparse_ranges_are_refused_before_calamine_reads_them(tmp_path):
    # given: 2,300 cells showing one 30,000-character string (69 MB), and two numbers at A1 and IV65536
    trick = xls_raw([(0, 0, "DNI")] + [(row, 0, ("s", 0)) for row in range(1, 2301)], ["x" * 30_000])
    sparse = xls_raw([(0, 0, 1), (1, 0, 1), (65_535, 255, 2)], [])

    shared, spread = probe(tmp_path, "trampa.xls", trick), probe(tmp_path, "disperso.xls", sparse)

    assert shared["code"] == "too_much_text" and shared["peak_mb"] < 32
    assert spread["code"] == "too_many_cells" and spread["peak_mb"] < 32


def test_a_million_row_csv_is_refused_without_building_its_rows(tmp_path):
    data = b"DNI;Nombre;Celular\n" + b"30111111;Ana Perez;3514123456\n" * 1_000_000

    report = probe(tmp_path, "millon.csv", data)

    assert report["code"] == "too_many_rows"
    assert report["peak_mb"] < 64


@settings(
    max_examples=max(4, int(os.environ.get("FUZZ_EXAMPLES", "25")) // 5),
    deadline=None,
    derandomize=os.environ.get("FUZZ_SEED", "") != "random",
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    shape=st.one_of(
        st.builds(
            lambda n, cells: ("trampa.xlsx", shared_string_trick(length=n, cells=cells)),
            st.integers(1, 40_000),
            st.integers(1, 4000),
        ),
        st.builds(
            lambda row, col: ("disperso.xlsx", xlsx_raw({1: xlsx_cell(1, 1, "DNI"), row: xlsx_cell(row, col, 1)}, [])),
            st.integers(2, 1_048_576),
            st.integers(1, 16_384),
        ),
        st.builds(
            lambda n, rows, cols: (
                "repetido.ods",
                ods_raw(ods_row(ods_cell("DNI")) + ods_row(ods_cell("x" * n, repeat=cols), repeat=rows)),
            ),
            st.integers(1, 40_000),
            st.integers(1, 100_000),
            st.integers(1, 1024),
        ),
        st.builds(
            lambda n, cells: ("trampa.xls", xls_raw([(r, 0, ("s", 0)) for r in range(cells)], ["x" * n])),
            st.integers(1, 40_000),
            st.integers(1, 3000),
        ),
    )
)
def test_generated_hostile_shapes_stay_under_the_ceiling(tmp_path_factory, shape):
    name, data = shape

    report = probe(tmp_path_factory.mktemp("shape"), name, data)

    assert report["peak_mb"] < MEMORY_CEILING_MB, (name, len(data), report)
