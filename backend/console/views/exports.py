"""Spreadsheet exports: coverage and accreditation. Small ones download at once; large ones are
written by the worker while a page shows the progress, then download from there."""

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from ..access import console_view, current_election
from ..exports import EXPORTS, XLSX_TYPE, export_log, xlsx_bytes, xlsx_response
from ..models import ExportJob, ExportKind
from ..services import export_job_path, export_job_start
from .common import area_from_query

RECENT_JOBS = 5


def _export(request, kind: str):
    """GET: the file now when it is small (at most CONSOLE_EXPORT_INLINE_ROWS rows), else a page
    that offers to prepare it in the background (one button, a POST). POST: queue the job."""
    election = current_election(request)
    if election is None:
        return render(request, "console/no_election.html", status=404)
    area = area_from_query(request, election)
    spec = EXPORTS[kind]
    if request.method == "POST":
        job = export_job_start(kind=kind, election=election, area=area, actor=request.user)
        return redirect("console:export_job", pk=job.pk)
    total = spec.count(user=request.user, election=election, area=area)
    if total > settings.CONSOLE_EXPORT_INLINE_ROWS:
        recent = ExportJob.objects.filter(requested_by=request.user, kind=kind, election=election, area=area)
        context = {
            "nav_active": "coverage",
            "spec": spec,
            "kind_label": ExportKind(kind).label,
            "area": area,
            "election": election,
            "total": total,
            "recent": recent.order_by("-created_at", "-id")[:RECENT_JOBS],
        }
        return render(request, "console/export_start.html", context)
    rows = spec.rows(user=request.user, election=election, area=area)
    content, count = xlsx_bytes(title=str(spec.title), header=[str(h) for h in spec.header], rows=rows)
    export_log(
        user=request.user,
        kind=kind,
        election=election,
        area=area,
        filters={k: v for k, v in request.GET.items()},
        rows=count,
    )
    return xlsx_response(content, stem=spec.stem)


@console_view
def coverage_export(request):
    """Per place: area, code, name, slots, assigned, confirmed, checked in, uncovered. Logged."""
    return _export(request, ExportKind.COVERAGE)


@console_view
def accreditation_export(request):
    """Watchers per place and table in the layout a party files. Logged."""
    return _export(request, ExportKind.ACCREDITATION)


def _own_job(request, pk: int) -> ExportJob:
    # The file holds what its requester's scope showed: nobody else may fetch it (404, not 403).
    job = ExportJob.objects.select_related("area", "election").filter(pk=pk, requested_by=request.user).first()
    if job is None:
        raise Http404()
    return job


@console_view
def export_job(request, pk: int):
    job = _own_job(request, pk)
    template = "console/_export_progress.html" if request.headers.get("HX-Request") else "console/export_job.html"
    return render(request, template, {"nav_active": "coverage", "job": job, "kind_label": ExportKind(job.kind).label})


@console_view
def export_job_download(request, pk: int):
    job = _own_job(request, pk)
    path = export_job_path(job=job)
    if path is None:
        raise Http404()
    stem = EXPORTS[job.kind].stem
    finished = timezone.localtime(job.finished_at or job.created_at)
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=f"{stem}-{finished:%Y%m%d-%H%M}.xlsx", content_type=XLSX_TYPE
    )
