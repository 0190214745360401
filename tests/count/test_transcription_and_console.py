"""The transcription desk (double entry, the watcher's entry counts as one, a third person on a
mismatch, throughput per person) and the console's quick count and discrepancies pages."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from backend.core.exceptions import ApplicationError
from backend.count.errors import CountErrorCode
from backend.count.models import ResultSheet, SheetSource, SheetStatus
from backend.count.selectors import transcription_next, transcription_stats
from backend.count.services import sheet_photo_submit, sheet_submit, transcription_enter

from ..factories import CoordinatorScopeFactory, UserFactory
from .conftest import png_bytes, sheet_figures


@pytest.fixture
def photo(geo, ballot, watcher):
    return sheet_photo_submit(
        table=geo.north_tables[0],
        category=ballot.governor,
        photo=SimpleUploadedFile("acta.png", png_bytes()),
        source=SheetSource.WEB,
        actor=watcher.user,
    )


@pytest.fixture
def typists(geo):
    people = []
    for name in ("ana", "beto", "carla"):
        user = UserFactory(username=name, role="data_entry", first_name=name.title())
        CoordinatorScopeFactory(user=user, area=geo.north)
        people.append(user)
    return people


def test_two_matching_entries_make_the_sheet(photo, ballot, typists):
    ana, beto, _carla = typists
    assert transcription_next(user=ana) == photo
    first = transcription_enter(photo_sheet=photo, figures=sheet_figures(ballot), actor=ana)
    assert "falta una segunda carga" in first
    assert transcription_next(user=ana) is None  # never the same person twice
    second = transcription_enter(photo_sheet=photo, figures=sheet_figures(ballot), actor=beto)
    assert "quedó aceptada" in second
    agreed = ResultSheet.objects.get(current=True)
    assert (agreed.source, agreed.status, agreed.photo_sha256) == ("transcription", "transcribed", photo.photo_sha256)
    photo.refresh_from_db()
    assert photo.status == SheetStatus.TRANSCRIBED
    assert transcription_next(user=beto) is None


def test_a_mismatch_goes_to_a_third_person_and_counts_as_a_disagreement(photo, ballot, typists, lead):
    ana, beto, carla = typists
    transcription_enter(photo_sheet=photo, figures=sheet_figures(ballot), actor=ana)
    mismatch = transcription_enter(photo_sheet=photo, figures=sheet_figures(ballot, ours=10, voters=99), actor=beto)
    assert "tercera persona" in mismatch
    assert transcription_next(user=carla) == photo
    transcription_enter(photo_sheet=photo, figures=sheet_figures(ballot), actor=carla)
    assert ResultSheet.objects.get(current=True).votes[str(ballot.ours.pk)] == 100
    stats = {s.name: (s.entries, s.disagreements) for s in transcription_stats(user=lead)}
    assert stats == {"Ana": (1, 0), "Beto": (1, 1), "Carla": (1, 0)}


def test_the_watchers_typed_sheet_counts_as_one_entry(photo, geo, ballot, watcher, typists):
    sheet_submit(
        table=geo.north_tables[0],
        category=ballot.governor,
        figures=sheet_figures(ballot),
        source=SheetSource.SMS,
        actor=watcher.user,
    )
    result = transcription_enter(photo_sheet=photo, figures=sheet_figures(ballot), actor=typists[0])
    assert "quedó aceptada" in result or "Coincide" in result
    photo.refresh_from_db()
    assert photo.status == SheetStatus.TRANSCRIBED


def test_the_same_person_twice_is_refused(photo, ballot, typists):
    transcription_enter(photo_sheet=photo, figures=sheet_figures(ballot), actor=typists[0])
    with pytest.raises(ApplicationError) as err:
        transcription_enter(photo_sheet=photo, figures=sheet_figures(ballot), actor=typists[0])
    assert err.value.code == CountErrorCode.SAME_PERSON


def test_the_desk_pages(photo, ballot, typists, geo, south_coordinator):
    # given
    client = Client()
    client.force_login(typists[0])
    # when
    page = client.get("/consola/carga-de-actas/").content.decode()
    data = {f"list_{ballot.ours.pk}": 100, f"list_{ballot.cambia.pk}": 60, f"list_{ballot.ucr.pk}": 20}
    data.update(blank=5, null=3, contested=1, challenged=0, voters=189)
    after = client.post(f"/consola/carga-de-actas/{photo.pk}/", data, follow=True).content.decode()
    # then
    assert 'data-testid="desk-photo"' in page and photo.photo.url in page
    assert "falta una segunda carga" in after and 'data-testid="desk-empty"' in after
    client.force_login(south_coordinator)
    assert client.post(f"/consola/carga-de-actas/{photo.pk}/", data).status_code == 403
    # a volunteer is not at the desk
    client.force_login(UserFactory(username="vol", role="volunteer"))
    assert client.get("/consola/carga-de-actas/").status_code == 403


def test_the_console_pages(geo, ballot, watcher, north_coordinator):
    sheet_submit(
        table=geo.north_tables[0],
        category=ballot.governor,
        figures=sheet_figures(ballot),
        source=SheetSource.WEB,
        actor=watcher.user,
    )
    client = Client()
    client.force_login(north_coordinator)
    page = client.get("/consola/conteo/?categoria=GOB").content.decode()
    assert 'data-testid="tables-reported">1<' in page and "de 3 mesas informadas" in page
    assert f'data-testid="votes-{ballot.ours.pk}">100<' in page and "Ventaja sobre Córdoba Cambia: 40 votos" in page
    export = client.get("/consola/conteo.xlsx?categoria=GOB")
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxml")
    assert "Sin diferencias por ahora." in client.get("/consola/discrepancias/").content.decode()
