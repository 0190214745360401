"""Large exports: written by the worker, followed on a progress page, downloaded by whoever asked.

Small exports still download at once (tests/console/test_accreditation.py, test_coverage.py); here
the inline limit is lowered so that the small test election takes the background path."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_create
from backend.celery import app
from backend.console import services as console_services
from backend.console.models import ExportJob, ExportKind, ExportLog
from backend.console.services import export_dir, export_job_build, export_jobs_expire
from backend.core.models import FileJobState
from tests.factories import VolunteerFactory


@pytest.fixture(autouse=True)
def _exports_in_tmp_and_small_limit(settings, tmp_path):
    settings.CONSOLE_EXPORTS_DIR = tmp_path / "exports"
    settings.CONSOLE_EXPORT_INLINE_ROWS = 1


@pytest.fixture
def eager_celery():
    """The export task runs inline even when REDIS_URL configures a real broker."""
    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(task_always_eager=before[0], task_eager_propagates=before[1])


@pytest.fixture
def watchers(geo):
    """Two watchers in the north (one with a formula for a name), one in the south."""
    mallory = VolunteerFactory(first_name="=HYPERLINK(1)", last_name="Rojas", dni="30111222")
    assignment_create(
        volunteer=mallory, place=geo.north_place, table=geo.north_tables[0], role=AssignmentRole.TABLE, source="web"
    )
    general = VolunteerFactory(first_name="Inés", last_name="Lima", dni="30111333")
    assignment_create(volunteer=general, place=geo.north_place, role=AssignmentRole.PLACE, source="web")
    south = VolunteerFactory(first_name="Sur", last_name="Sosa", dni="30111444")
    assignment_create(volunteer=south, place=geo.south_place, table=geo.south_tables[0], role="table", source="web")


def _sheet(content: bytes) -> list[tuple]:
    return list(load_workbook(BytesIO(content)).active.iter_rows(values_only=True))


def _file(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_large_accreditation_export_is_built_by_the_worker_and_downloaded_by_its_requester(
    client, geo, north_coordinator, watchers, django_capture_on_commit_callbacks, eager_celery
):
    client.force_login(north_coordinator)
    # given: the export is over the inline limit, so the page offers to prepare it
    offer = client.get(reverse("console:accreditation_export"))
    assert offer.status_code == 200 and offer["Content-Type"].startswith("text/html")
    assert 'data-testid="export-prepare"' in offer.content.decode()
    assert not ExportJob.objects.exists() and not ExportLog.objects.exists()
    # when: the coordinator asks for it (eager Celery runs the task after commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("console:accreditation_export"))
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("console:export_job", args=[job.pk])
    # then: the job is done, the page links the file, the file is the coordinator's scope, escaped
    job.refresh_from_db()
    assert (job.state, job.done, job.total, job.kind) == (FileJobState.DONE, 2, 2, ExportKind.ACCREDITATION)
    page = client.get(reverse("console:export_job", args=[job.pk])).content.decode()
    assert reverse("console:export_job_download", args=[job.pk]) in page
    download = client.get(reverse("console:export_job_download", args=[job.pk]))
    assert download.status_code == 200
    rows = _sheet(_file(download))
    assert rows[0][:3] == ("Apellido", "Nombre", "DNI")
    assert sorted((r[0], r[1], r[2]) for r in rows[1:]) == [
        ("Lima", "Inés", "30111333"),
        ("Rojas", "'=HYPERLINK(1)", "30111222"),
    ]
    log = ExportLog.objects.get()
    assert (log.kind, log.user, log.rows, log.filters) == (
        ExportKind.ACCREDITATION,
        north_coordinator,
        2,
        {"job": job.pk},
    )


def test_another_coordinator_cannot_see_or_download_someone_elses_export(
    client, geo, north_coordinator, south_coordinator, watchers
):
    job = ExportJob.objects.create(
        kind=ExportKind.ACCREDITATION, election=geo.election, requested_by=north_coordinator, total=2
    )
    export_job_build(job_id=job.pk)
    client.force_login(south_coordinator)
    assert client.get(reverse("console:export_job", args=[job.pk])).status_code == 404
    assert client.get(reverse("console:export_job_download", args=[job.pk])).status_code == 404


def test_running_the_task_twice_keeps_the_first_file(geo, lead, watchers):
    job = ExportJob.objects.create(kind=ExportKind.COVERAGE, election=geo.election, requested_by=lead)
    first = export_job_build(job_id=job.pk)
    second = export_job_build(job_id=job.pk)
    assert second.file_name == first.file_name and second.state == FileJobState.DONE
    assert ExportLog.objects.count() == 1


def test_the_background_coverage_workbook_equals_the_one_written_at_once(client, geo, lead, watchers, settings):
    client.force_login(lead)
    settings.CONSOLE_EXPORT_INLINE_ROWS = 1000
    at_once = _sheet(client.get(reverse("console:coverage_export")).content)
    job = ExportJob.objects.create(kind=ExportKind.COVERAGE, election=geo.election, requested_by=lead)
    export_job_build(job_id=job.pk)
    later = _sheet(_file(client.get(reverse("console:export_job_download", args=[job.pk]))))
    assert later == at_once and len(later) == 3  # header, the north place, the south place


def test_a_job_for_an_area_outside_the_scope_is_refused(client, geo, north_coordinator):
    client.force_login(north_coordinator)
    response = client.post(reverse("console:coverage_export"), {"area": geo.south.pk})
    assert response.status_code == 404 and not ExportJob.objects.exists()


def test_an_old_workbook_is_deleted_and_its_page_says_to_ask_again(client, geo, lead, watchers, settings):
    settings.GENERATED_FILES_KEEP_HOURS = 48
    job = ExportJob.objects.create(kind=ExportKind.COVERAGE, election=geo.election, area=None, requested_by=lead)
    job = export_job_build(job_id=job.pk)
    path = export_dir() / job.file_name
    assert path.is_file()
    # when: the hourly sweep runs 47 h, then 49 h after it was built
    kept = export_jobs_expire(now=job.finished_at + timedelta(hours=47))
    deleted = export_jobs_expire(now=job.finished_at + timedelta(hours=49))
    # then
    job.refresh_from_db()
    assert (kept, deleted) == (0, 1) and not path.exists()
    assert job.state == FileJobState.EXPIRED and job.file_name == ""
    client.force_login(lead)
    assert client.get(reverse("console:export_job_download", args=[job.pk])).status_code == 404
    page = client.get(reverse("console:export_job", args=[job.pk])).content.decode()
    assert 'data-testid="export-expired"' in page and "Pedila de nuevo" in page


def test_a_failed_workbook_leaves_no_half_written_file(geo, lead, watchers, monkeypatch):
    job = ExportJob.objects.create(kind=ExportKind.COVERAGE, election=geo.election, area=None, requested_by=lead)

    def broken_write(target, **kwargs):
        target.write(b"PK half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr(console_services, "xlsx_write", broken_write)
    with pytest.raises(OSError):
        export_job_build(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == FileJobState.FAILED and "disk full" in job.error
    assert list(export_dir().iterdir()) == []
