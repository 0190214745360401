"""The console's two election-night screens: the official results upload (checked, previewed, then
applied by the worker; every bad file refused with its reason and nothing changed) and the
conflicts page (both sheets side by side, one chosen with a reason, through `sheet_resolve`)."""

import gzip
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from backend.console.models import ExportKind, ExportLog
from backend.console.views import count_official
from backend.count import results_import
from backend.count.models import (
    BallotList,
    Category,
    OfficialImport,
    OfficialImportState,
    ResultSheet,
    SheetEvent,
    SheetStatus,
)
from backend.count.results_import import official_import_national
from backend.count.selectors import conflict_list, quick_count
from backend.count.services import sheet_submit
from backend.notices.models import Notice, NoticeKind

from ..factories import AreaFactory, ElectionFactory, PollingPlaceFactory, TableFactory, UserFactory
from .conftest import sheet_figures
from .test_results import CORDOBA, RESULTS, cordoba  # noqa: F401  (the real Córdoba fixture)

CORDOBA_FULL = RESULTS / "gobernador-cordoba-2019.csv.gz"  # the whole province, 580 KB

pytestmark = pytest.mark.usefixtures("media_and_inline_worker")


def _lead_client():
    client = Client()
    client.force_login(UserFactory(username="jefa", role="lead"))
    return client


def _upload(client, election, data: bytes, *, layout="national", name="resultados.csv", **extra):
    return client.post(
        f"/consola/resultados-oficiales/?eleccion={election.pk}",
        {"layout": layout, "file": SimpleUploadedFile(name, data), **extra},
    )


def test_a_lead_uploads_the_wide_file_sees_what_was_understood_then_applies_it(
    cordoba,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    # given
    election, governor = cordoba
    client = _lead_client()
    # when: upload (the check runs in the worker after commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(
            client, election, CORDOBA.read_bytes(), layout="wide", category=governor.pk, create_missing="on"
        )
    job = OfficialImport.objects.get()
    # then: a preview, and nothing written yet (not even the 12 lists it would create)
    assert response.status_code == 302 and response["Location"].endswith(f"/resultados-oficiales/{job.pk}/")
    assert job.state == OfficialImportState.PREVIEWED
    assert (job.preview["rows"], job.preview["tables_matched"], job.preview["sheets"]) == (20, 20, 20)
    assert job.preview["lists_created"] == 12 and job.preview["columns"]["table"] == "mesa"
    assert not ResultSheet.objects.exists() and not BallotList.objects.exists()
    page = client.get(f"/consola/resultados-oficiales/{job.pk}/").content.decode()
    assert "Lo que se entendió del archivo" in page and "cant_votantes" in page and "Aplicar" in page
    # when: apply
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/consola/resultados-oficiales/{job.pk}/aplicar/")
    job.refresh_from_db()
    # then: 20 official sheets, the result and a link to the discrepancies
    assert job.state == OfficialImportState.APPLIED and job.result["sheets"] == 20 and job.applied_by is not None
    assert ResultSheet.objects.filter(official=True, current=True).count() == 20
    page = client.get(f"/consola/resultados-oficiales/{job.pk}/").content.decode()
    assert 'data-testid="official-result"' in page and "/consola/discrepancias/" in page
    # a second apply (a double click) is refused and writes nothing
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/consola/resultados-oficiales/{job.pk}/aplicar/", follow=True)
    assert ResultSheet.objects.filter(official=True).count() == 20


@pytest.fixture
def national(db):
    """Two tables of one district, for national long CSVs written in the tests."""
    election = ElectionFactory(slug="gen-2027-x", name="Generales 2027")
    province = AreaFactory(election=election, kind="distrito", code="02", name="Buenos Aires")
    place = PollingPlaceFactory(election=election, area=province, code="P-1", name="Escuela")
    for number in (7, 8, 9):
        TableFactory(place=place, district=province, number=number, electors=350)
    return election


HEADER = "mesa_id,cargo_nombre,agrupacion_nombre,votos_tipo,votos_cantidad\n"


def _rows(table: int, a: int = 120, b: int = 80) -> str:
    return (
        f"{table},DIPUTADOS,LISTA A,POSITIVO,{a}\n{table},DIPUTADOS,LISTA B,POSITIVO,{b}\n"
        f"{table},DIPUTADOS,,EN BLANCO,4\n{table},DIPUTADOS,,NULO,2\n"
    )


@pytest.mark.parametrize(
    ("data", "layout", "expected"),
    [
        (b"", "national", "vac"),
        (b"   \n\n", "national", "vacío"),
        (
            "mesa_id,cargo_nombre,agrupacion_nombre,votos_tipo,votos_cantidad\n7,DIPUTACIÓN,A,POSITIVO,1\n".encode(
                "cp1252"
            ),
            "national",
            "UTF-8",
        ),
        (CORDOBA.read_bytes(), "national", "formato provincial"),
        ((HEADER + _rows(7)).encode(), "wide", "formato nacional"),
        (b"mesa_id,cargo_nombre\n7,X\n", "national", "votos_tipo"),
        (HEADER.encode(), "national", "no tiene filas de datos"),
        (b"%PDF-1.4 binary", "national", "UTF-8"),
    ],
    ids=["empty", "blank", "cp1252", "wide-as-national", "national-as-wide", "missing", "header-only", "pdf"],
)
def test_a_bad_file_is_refused_at_once_with_its_reason(national, data, layout, expected):
    client = _lead_client()
    response = _upload(client, national, data, layout=layout)
    assert response.status_code == 400 and expected in response.content.decode()
    assert not OfficialImport.objects.exists() and not ResultSheet.objects.exists()


def test_the_upload_reaches_the_service_as_a_file_on_disk_whatever_its_size(
    cordoba,  # noqa: F811
    monkeypatch,
):
    # given: the real Córdoba file (4 KB), far below the size Django would otherwise keep in memory
    election, governor = cordoba
    data = CORDOBA.read_bytes()
    seen = []
    real = count_official.official_import_upload

    def spy(**kwargs):
        seen.append(kwargs["upload"])
        return real(**kwargs)

    monkeypatch.setattr(count_official, "official_import_upload", spy)
    # when
    response = _upload(_lead_client(), election, data, layout="wide", category=governor.pk)
    # then: the API's handler wrote it to a temporary file; the stored file and its hash are the upload's
    assert response.status_code == 302
    assert hasattr(seen[0], "temporary_file_path")
    job = OfficialImport.objects.get()
    assert (job.file_sha256, job.file.read()) == (hashlib.sha256(data).hexdigest(), data)


@pytest.mark.parametrize("size", [3_000, 200_000], ids=["caught-as-it-arrives", "caught-by-its-declared-length"])
def test_a_file_over_the_limit_is_refused_on_the_page_and_nothing_stored(national, settings, size):
    # given: a limit of 2,000 bytes and the real Córdoba 2019 governor file, cut
    settings.COUNT_OFFICIAL_MAX_FILE_BYTES = 2_000
    data = gzip.decompress(CORDOBA_FULL.read_bytes())[:size]
    # when
    response = _upload(_lead_client(), national, data)
    # then: the API's refusal and message, on the form, and nothing stored
    page = response.content.decode()
    assert response.status_code == 413 and 'data-testid="official-upload-form"' in page
    assert 'data-testid="official-upload-error"' in page and "pesa más de 0 MB" in page
    media = settings.MEDIA_ROOT
    assert not OfficialImport.objects.exists() and not (media.exists() and any(media.rglob("*.*")))


def test_the_upload_still_needs_its_csrf_token(national, django_capture_on_commit_callbacks):
    # given: a browser's client, which checks CSRF (the page sets the handler before the check reads the body)
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(username="jefa", role="lead"))
    form = {"layout": "national", "create_missing": "on"}
    data = (HEADER + _rows(7)).encode()
    url = f"/consola/resultados-oficiales/?eleccion={national.pk}"
    # when: without the token, then with the one the page gave
    refused = client.post(url, {**form, "file": SimpleUploadedFile("r.csv", data)})
    client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = client.post(
            url,
            {
                **form,
                "file": SimpleUploadedFile("r.csv", data),
                "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
            },
        )
    # then
    assert (refused.status_code, accepted.status_code) == (403, 302)
    assert OfficialImport.objects.get().state == OfficialImportState.PREVIEWED


def test_a_file_of_another_election_fails_its_check_and_changes_nothing(national, django_capture_on_commit_callbacks):
    # given: tables 501-502, none of which exist here (the header is right: only the full read can tell)
    client = _lead_client()
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, national, (HEADER + _rows(501) + _rows(502)).encode(), create_missing="on")
    job = OfficialImport.objects.get()
    assert job.state == OfficialImportState.FAILED and "otra elección" in job.error_message
    assert not Category.objects.exists() and not ResultSheet.objects.exists()
    page = client.get(f"/consola/resultados-oficiales/{job.pk}/").content.decode()
    assert "No se cambió ningún dato" in page
    # and a national file of another year, named as such
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, national, ("año," + HEADER + "2023," + _rows(7).replace("\n7,", "\n2023,7,")).encode())
    assert "es de 2023" in OfficialImport.objects.first().error_message


def test_a_bad_row_rejects_its_sheet_with_the_line_number_and_the_rest_is_applied(
    national, django_capture_on_commit_callbacks
):
    client = _lead_client()
    text = HEADER + _rows(7) + _rows(8, a="doce") + _rows(9)
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, national, text.encode(), create_missing="on")
    job = OfficialImport.objects.get()
    assert job.preview["rejected_rows"] == 1 and job.preview["sheets"] == 2
    assert job.preview["errors"] == ["Fila 6, columna votos_cantidad: «doce» no es un número."]
    assert "Fila 6" in client.get(f"/consola/resultados-oficiales/{job.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/consola/resultados-oficiales/{job.pk}/aplicar/")
    assert sorted(ResultSheet.objects.filter(official=True).values_list("table__number", flat=True)) == [7, 9]


def test_a_csv_on_disk_is_streamed_and_written_in_rounds(national, settings, tmp_path, monkeypatch):
    # given: a file over the in-memory reader's byte limit, written in rounds of 2 sheets, with a late
    # row of table 7 at the end (added to its sheet, not a second sheet)
    settings.IMPORT_MAX_FILE_BYTES = 50
    monkeypatch.setattr(results_import, "FLUSH_EVERY", 2)
    path = tmp_path / "nacional.csv"
    path.write_text(HEADER + _rows(7) + _rows(8) + _rows(9) + "7,DIPUTADOS,LISTA A,POSITIVO,5\n", encoding="utf-8")
    seen = []
    # when
    summary = official_import_national(
        election=national, source=path, create_missing=True, on_progress=lambda d, t: seen.append((d, t))
    )
    # then
    assert summary.sheets == 3 and summary.rows == 13
    sheets = {s.table.number: s for s in ResultSheet.objects.filter(official=True).select_related("table")}
    a = str(BallotList.objects.get(name="LISTA A").pk)
    assert (sheets[7].votes[a], sheets[7].voters, sheets[8].votes[a], sheets[8].voters) == (125, 211, 120, 206)
    assert ResultSheet.objects.filter(official=True, current=True).count() == 3
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)


def test_only_leads_upload_and_the_menu_shows_each_screen_to_who_may_use_it(geo, north_coordinator):
    coordinator = Client()
    coordinator.force_login(north_coordinator)
    assert coordinator.get("/consola/resultados-oficiales/").status_code == 403
    page = coordinator.get("/consola/actas-en-conflicto/").content.decode()
    assert 'data-testid="nav-conflicts"' in page and 'data-testid="nav-official"' not in page
    page = _lead_client().get("/consola/actas-en-conflicto/").content.decode()
    assert 'data-testid="nav-conflicts"' in page and 'data-testid="nav-official"' in page


@pytest.fixture
def conflict(geo, ballot, watcher, lead):
    table = geo.north_tables[0]
    first = sheet_submit(table=table, category=ballot.governor, figures=sheet_figures(ballot), source="web", actor=lead)
    second = sheet_submit(
        table=table,
        category=ballot.governor,
        figures=sheet_figures(ballot, ours=90, voters=179),
        source="web",
        actor=lead,
    )
    assert second.sheet.status == SheetStatus.CONFLICT
    return first.sheet, second.sheet


def test_conflicts_are_listed_in_scope_ranked_and_shown_side_by_side(
    geo, ballot, conflict, north_coordinator, south_coordinator
):
    current, waiting = conflict
    north, south = Client(), Client()
    north.force_login(north_coordinator)
    south.force_login(south_coordinator)
    # the north coordinator sees it, with 10 of our votes at stake
    [found] = conflict_list(user=north_coordinator, election=geo.election)
    assert (found.sheet, found.current, found.at_stake) == (waiting, current, 10)
    assert 'data-testid="conflict"' in north.get("/consola/actas-en-conflicto/").content.decode()
    # the south coordinator neither sees it nor opens it
    assert conflict_list(user=south_coordinator, election=geo.election) == []
    assert south.get(f"/consola/actas-en-conflicto/{waiting.pk}/").status_code == 404
    page = north.get(f"/consola/actas-en-conflicto/{waiting.pk}/").content.decode()
    assert f'data-sheet="{current.pk}"' in page and f'data-sheet="{waiting.pk}"' in page and "differs" in page


def test_resolving_needs_a_reason_and_keeping_the_current_sheet_sets_the_other_aside(
    geo, ballot, conflict, north_coordinator, watcher
):
    current, waiting = conflict
    client = Client()
    client.force_login(north_coordinator)
    url = f"/consola/actas-en-conflicto/{waiting.pk}/"
    # no reason: refused, nothing changes
    response = client.post(url, {"sheet": current.pk, "note": "  "})
    assert response.status_code == 400 and "motivo" in response.content.decode()
    assert ResultSheet.objects.get(pk=waiting.pk).status == SheetStatus.CONFLICT
    # keep the current one, and ask the watcher back
    response = client.post(url, {"sheet": current.pk, "note": "La foto dice 100", "ask_back": "1"})
    assert response.status_code == 302
    waiting.refresh_from_db()
    current.refresh_from_db()
    assert (waiting.status, waiting.current, current.current) == (SheetStatus.SET_ASIDE, False, True)
    notes = set(SheetEvent.objects.filter(kind=SheetEvent.Kind.RESOLVED).values_list("sheet_id", "note"))
    assert notes == {(current.pk, "La foto dice 100"), (waiting.pk, "set_aside: La foto dice 100")}
    asked = Notice.objects.filter(volunteer=watcher, kind=NoticeKind.SHEET_ASKED_BACK).last()
    assert asked is not None and "La foto dice 100" in asked.payload["text"]
    assert conflict_list(user=north_coordinator, election=geo.election) == []


def test_choosing_the_new_sheet_makes_it_the_figure_of_the_quick_count(geo, ballot, conflict, north_coordinator):
    current, waiting = conflict
    client = Client()
    client.force_login(north_coordinator)
    client.post(f"/consola/actas-en-conflicto/{waiting.pk}/", {"sheet": waiting.pk, "note": "Foto nítida: 90"})
    waiting.refresh_from_db()
    assert waiting.current and not ResultSheet.objects.get(pk=current.pk).current
    count = quick_count(election=geo.election, category=ballot.governor)
    assert count.ours_votes == 90 and count.tables_reported == 1


def test_the_legal_teams_export_of_discrepancies_is_logged(geo, lead):
    client = Client()
    client.force_login(lead)
    response = client.get(f"/consola/discrepancias/?eleccion={geo.election.pk}&export=xlsx")
    assert response.status_code == 200
    assert ExportLog.objects.filter(kind=ExportKind.DISCREPANCIES, user=lead, election=geo.election).count() == 1
