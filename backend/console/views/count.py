"""Election night: the quick count (live), the discrepancies with the official figures, and the
transcription desk where data-entry volunteers type sheets from their photos."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.core.exceptions import ApplicationError
from backend.count.exports import discrepancies_xlsx, quick_count_xlsx
from backend.count.models import Category, ResultSheet
from backend.count.selectors import (
    ballot_list_for_table,
    discrepancy_iter,
    discrepancy_page,
    quick_count,
    transcription_next,
    transcription_stats,
)
from backend.count.services import SheetFigures, transcription_enter
from backend.permissions import can_submit_sheet, can_transcribe, scope_areas

from ..access import console_view, current_election
from ..exports import export_log
from ..models import ExportKind
from .common import ancestors, area_from_query

TOTALS = ("blank", "null", "contested", "challenged", "voters")
DISCREPANCIES_SHOWN = 500  # the page shows the first ones (ranked); the export has them all


def _counts(request, election, area):
    categories = list(Category.objects.filter(election=election).order_by("position", "id"))
    wanted = request.GET.get("categoria")
    chosen = [c for c in categories if c.code == wanted] or categories
    return categories, [quick_count(election=election, category=c, area=area) for c in chosen]


def _default_area(request, election):
    """A coordinator without ?area= sees their first scope; a lead sees everything."""
    area = area_from_query(request, election)
    if area is None and request.user.role != "lead" and not request.user.is_superuser:
        scopes = [path for e, path in scope_areas(request.user) if e == election.pk]
        if scopes:
            area = election.areas.filter(path=scopes[0]).first()
    return area


@console_view
def quick_count_page(request):
    election = current_election(request)
    if election is None:
        return render(request, "console/no_election.html", {"nav_active": "count"})
    area = _default_area(request, election)
    categories, counts = _counts(request, election, area)
    context = {
        "nav_active": "count",
        "election": election,
        "area": area,
        "crumbs": ancestors(area, request.user),
        "categories": categories,
        "counts": counts,
        "chosen": request.GET.get("categoria", ""),
        "children": list(area.children.all()) if area is not None else list(election.areas.filter(depth=0)),
    }
    template = "console/_quick_count.html" if request.GET.get("fragmento") else "console/quick_count.html"
    return render(request, template, context)


@console_view
def quick_count_export(request):
    election = current_election(request)
    if election is None:
        return redirect("console:quick_count")
    _categories, counts = _counts(request, election, _default_area(request, election))
    response = HttpResponse(
        quick_count_xlsx(counts), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="conteo-{election.slug}.xlsx"'
    return response


@console_view
def discrepancies_page(request):
    election = current_election(request)
    if election is None:
        return render(request, "console/no_election.html", {"nav_active": "count"})
    area = _default_area(request, election)
    if request.GET.get("export") == "xlsx":
        written = 0

        def counted():
            nonlocal written
            for row in discrepancy_iter(election=election, area=area):
                written += 1
                yield row

        content = discrepancies_xlsx(counted(), base_url=request.build_absolute_uri("/"))
        # The legal team's file names each table's watcher: logged like every export of personal data.
        export_log(user=request.user, kind=ExportKind.DISCREPANCIES, election=election, area=area, rows=written)
        response = HttpResponse(
            content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="discrepancias-{election.slug}.xlsx"'
        return response
    total, found = discrepancy_page(election=election, area=area, limit=DISCREPANCIES_SHOWN)
    return render(
        request,
        "console/discrepancies.html",
        {"nav_active": "count", "election": election, "area": area, "found": found, "total": total},
    )


def _desk_user(view):
    """Data-entry volunteers, coordinators and leads; anyone else to the login page or a 403."""

    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not can_transcribe(request.user):
            return render(request, "console/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


@_desk_user
def transcription_desk(request):
    """The next photo beside its form; leads and coordinators also see each person's throughput."""
    photo_sheet = transcription_next(user=request.user)
    lists = ballot_list_for_table(table=photo_sheet.table, category=photo_sheet.category) if photo_sheet else []
    stats = transcription_stats(user=request.user) if request.user.role != "data_entry" else []
    return render(
        request,
        "console/transcription.html",
        {"nav_active": "count", "photo_sheet": photo_sheet, "lists": lists, "stats": stats},
    )


def _number(value: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ApplicationError(_("«%(value)s» no es un número entero.") % {"value": value}, code="count_bad_number")
    return int(value)


@require_POST
@_desk_user
def transcription_post(request, pk: int):
    photo_sheet = get_object_or_404(ResultSheet.objects.select_related("table__place__area", "category"), pk=pk)
    if not can_submit_sheet(request.user, photo_sheet.table):
        return render(request, "console/forbidden.html", status=403)
    try:
        votes = {
            int(key.removeprefix("list_")): _number(value)
            for key, value in request.POST.items()
            if key.startswith("list_") and key.removeprefix("list_").isdigit()
        }
        figures = SheetFigures(votes=votes, **{name: _number(request.POST.get(name, "")) for name in TOTALS})
        result = transcription_enter(photo_sheet=photo_sheet, figures=figures, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("console:transcription")
    messages.success(request, result)
    return redirect("console:transcription")
