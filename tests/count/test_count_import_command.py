"""`manage.py count_import national|wide` goes through the console's and the API's door: the real file
stored with its hash as an `OfficialImport` by the lead it names, checked, applied, with the API's
refusals and messages, and the same official sheets as the same file uploaded through the API."""

import hashlib
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from backend.count.models import BallotList, Category, OfficialImport, OfficialImportState, ResultSheet

from ..factories import AreaFactory, ElectionFactory, PollingPlaceFactory, TableFactory, UserFactory
from .test_results import CORDOBA, TRENQUE_LAUQUEN, cordoba  # noqa: F401  (the real Córdoba fixture)

pytestmark = pytest.mark.usefixtures("media_and_inline_worker")


def _trenque_lauquen(slug: str):
    """Buenos Aires > Trenque Lauquen, the three tables of the real 2023 national file."""
    election = ElectionFactory(slug=slug, name=f"Generales 2023 ({slug})")
    district = AreaFactory(election=election, kind="distrito", code="02", name="Buenos Aires")
    section = AreaFactory(election=election, parent=district, kind="seccion", code="102", name="Trenque Lauquen")
    place = PollingPlaceFactory(election=election, area=section, code="TL-1", name="Escuela 1")
    for number in (1, 2, 3):
        TableFactory(place=place, district=section, number=number, electors=350)
    return election


def _command(*args) -> str:
    out = StringIO()
    call_command("count_import", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _api_upload(client, election, data: bytes, *, name: str, layout="national", **extra):
    return client.post(
        f"/api/elections/{election.pk}/official-imports/",
        {"file": SimpleUploadedFile(name, data), "layout": layout, **extra},
        format="multipart",
    )


def _official_figures(election) -> dict:
    """Every current official sheet of the election by table number and category name, lists by name."""
    names = dict(BallotList.objects.filter(category__election=election).values_list("pk", "name"))
    return {
        (sheet.table.number, sheet.category.name): (
            {names[int(pk)]: votes for pk, votes in sheet.votes.items()},
            sheet.blank,
            sheet.null,
            sheet.contested,
            sheet.challenged,
            sheet.voters,
            sheet.actor.username,
        )
        for sheet in ResultSheet.objects.filter(election=election, official=True, current=True).select_related(
            "table", "category", "actor"
        )
    }


def _stored_files(settings) -> list:
    media = settings.MEDIA_ROOT
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_the_command_stores_checks_and_applies_the_real_file_as_the_api_does(
    lead, settings, django_capture_on_commit_callbacks
):
    # given: two copies of the same election, one for each door
    by_command, by_api = _trenque_lauquen("por-comando"), _trenque_lauquen("por-api")
    data = TRENQUE_LAUQUEN.read_bytes()
    # when: the command
    out = _command("national", by_command.slug, TRENQUE_LAUQUEN, "--user", "lead", "--create-missing")
    # and: the same file through the API, checked and applied by the worker
    client = _api(lead)
    with django_capture_on_commit_callbacks(execute=True):
        status_url = _api_upload(client, by_api, data, name=TRENQUE_LAUQUEN.name, create_missing="true")["Location"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(client.get(status_url).json()["apply_url"])
    # then: one OfficialImport per door, the command's with the file stored, its hash, who and when
    command_job = OfficialImport.objects.get(election=by_command)
    api_job = OfficialImport.objects.get(election=by_api)
    assert (command_job.state, command_job.created_by, command_job.applied_by) == ("applied", lead, lead)
    assert command_job.applied_at is not None and command_job.file_name == TRENQUE_LAUQUEN.name
    assert (command_job.file_sha256, command_job.file_size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert (settings.MEDIA_ROOT / command_job.file.name).read_bytes() == data
    assert len(_stored_files(settings)) == 2
    # and: the same check, the same result, the same official figures as through the API
    fields = ("layout", "state", "file_sha256", "file_size", "preview", "result", "create_missing")
    assert {f: getattr(command_job, f) for f in fields} == {f: getattr(api_job, f) for f in fields}
    assert command_job.result["sheets"] == 24 and command_job.result["categories_created"] == 8
    figures = _official_figures(by_command)
    assert len(figures) == 24 and figures == _official_figures(by_api)
    assert figures[(1, "PRESIDENTE Y VICE")][0]["LA LIBERTAD AVANZA"] == 81
    # and: the operator saw the progress of both phases and the result
    assert "Revisando: 100%" in out and "Aplicando: 100%" in out
    assert f"Importación #{command_job.pk}" in out and "sheets: 24" in out and "Aplicado: 24 actas oficiales." in out


def test_a_checked_file_is_left_for_a_lead_to_apply_through_the_api(lead, django_capture_on_commit_callbacks):
    # given
    election = _trenque_lauquen("gen-2023")
    # when: only checked
    out = _command("national", election.slug, TRENQUE_LAUQUEN, "--user", "lead", "--create-missing", "--check")
    # then: previewed, nothing written
    job = OfficialImport.objects.get()
    assert job.state == OfficialImportState.PREVIEWED and job.preview["sheets"] == 24
    assert not ResultSheet.objects.exists() and not Category.objects.exists()
    assert f"/api/official-imports/{job.pk}/apply/" in out
    # when: a lead applies that same record through the API
    with django_capture_on_commit_callbacks(execute=True):
        applied = _api(lead).post(f"/api/official-imports/{job.pk}/apply/")
    # then
    assert applied.status_code == 202
    assert OfficialImport.objects.get().state == OfficialImportState.APPLIED
    assert ResultSheet.objects.filter(official=True, current=True).count() == 24


def test_the_wide_layout_with_its_category_code(lead, cordoba):  # noqa: F811
    # given: the real Córdoba 2019 governor file, its 20 tables
    election, governor = cordoba
    # when
    _command("wide", election.slug, CORDOBA, "--user", "lead", "--category", "gob", "--create-missing")
    # then
    job = OfficialImport.objects.get()
    assert (job.state, job.layout, job.category) == ("applied", "wide", governor)
    assert ResultSheet.objects.filter(official=True, current=True, category=governor).count() == 20


@pytest.mark.parametrize(
    ("layout", "data", "extra"),
    [
        ("national", CORDOBA.read_bytes(), {}),
        (
            "national",
            "mesa_id,cargo_nombre,agrupacion_nombre,votos_tipo,votos_cantidad\n1,DIPUTACIÓN,A,POSITIVO,1\n".encode(
                "cp1252"
            ),
            {},
        ),
        ("national", b"mesa_id,cargo_nombre,columna_rara\n1,X,Y\n", {}),
        ("wide", CORDOBA.read_bytes(), {"category": "XYZ"}),
    ],
    ids=["wide-as-national", "cp1252", "unknown-columns", "unknown-category"],
)
def test_a_bad_file_is_refused_with_the_apis_message_and_nothing_stored(lead, settings, tmp_path, layout, data, extra):
    # given
    election = _trenque_lauquen("gen-2023")
    path = tmp_path / "resultados.csv"
    path.write_bytes(data)
    api_message = _api_upload(_api(lead), election, data, name=path.name, layout=layout, **extra).json()["message"]
    options = [f"--{k}={v}" for k, v in extra.items()]
    # when
    with pytest.raises(CommandError) as refused:
        _command(layout, election.slug, path, "--user", "lead", *options)
    # then
    assert str(refused.value) == api_message
    assert not OfficialImport.objects.exists() and _stored_files(settings) == []


def test_a_file_over_the_limit_is_refused_with_the_apis_message_and_nothing_stored(lead, settings):
    # given: a limit below the real file's 15 KB
    settings.COUNT_OFFICIAL_MAX_FILE_BYTES = 2_000
    election = _trenque_lauquen("gen-2023")
    over = _api_upload(_api(lead), election, TRENQUE_LAUQUEN.read_bytes(), name=TRENQUE_LAUQUEN.name)
    # when
    with pytest.raises(CommandError) as refused:
        _command("national", election.slug, TRENQUE_LAUQUEN, "--user", "lead")
    # then: the API's 413 message, word for word
    assert over.status_code == 413 and str(refused.value) == over.json()["message"]
    assert not OfficialImport.objects.exists() and _stored_files(settings) == []


def test_a_file_of_another_election_fails_its_check_and_is_recorded_as_failed(lead, tmp_path):
    # given: the real file with every table moved out of the election
    election = _trenque_lauquen("gen-2023")
    lines = TRENQUE_LAUQUEN.read_text(encoding="utf-8").splitlines()
    moved = [lines[0]] + [line.replace(",1,NATIVOS", ",501,NATIVOS") for line in lines[1:] if ",1,NATIVOS" in line]
    path = tmp_path / "otra.csv"
    path.write_text("\n".join(moved) + "\n", encoding="utf-8")
    # when
    with pytest.raises(CommandError) as refused:
        _command("national", election.slug, path, "--user", "lead", "--create-missing")
    # then: the check's message; the record says failed with its code, as the API shows it; nothing written
    job = OfficialImport.objects.get()
    assert (job.state, job.error_code) == ("failed", "count_wrong_election")
    assert str(refused.value) == job.error_message and "otra elección" in job.error_message
    assert not ResultSheet.objects.exists() and not Category.objects.exists()


def test_only_a_lead_named_by_user_may_import(geo, settings):
    # given
    election = _trenque_lauquen("gen-2023")
    UserFactory(username="coordi", role="coordinator")
    # when / then: no --user, a user who is not a lead
    with pytest.raises(CommandError, match="--user"):
        _command("national", election.slug, TRENQUE_LAUQUEN)
    with pytest.raises(CommandError, match="Solo los responsables"):
        _command("national", election.slug, TRENQUE_LAUQUEN, "--user", "coordi")
    assert not OfficialImport.objects.exists() and _stored_files(settings) == []
