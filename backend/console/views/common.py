"""Helpers shared by the console views: loading objects the user may see, rendering errors."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from backend.core.exceptions import ApplicationError
from backend.elections.models import Area
from backend.permissions import Action, can


def get_visible(request, queryset, action: Action = Action.VIEW, **lookup):
    """The object, or 404 when it does not exist or is outside the user's scope (never reveal which)."""
    obj = get_object_or_404(queryset, **lookup)
    if not can(request.user, action, obj):
        raise Http404()
    return obj


def area_from_query(request, election) -> Area | None:
    raw = request.GET.get("area") or request.POST.get("area")
    if not raw or not str(raw).isdigit():
        return None
    return get_visible(request, Area.objects.all(), pk=int(raw), election=election)


def ancestors(area: Area | None, user=None) -> list[Area]:
    """The chain above `area` that `user` may open, root first (paths make this one query)."""
    if area is None:
        return []
    codes = [c for c in area.path.split("/") if c]
    paths = ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes) - 1)]
    chain = Area.objects.filter(election_id=area.election_id, path__in=paths).order_by("depth")
    return [a for a in chain if user is None or can(user, Action.VIEW, a)]


def flash_error(request, exc: ApplicationError) -> None:
    messages.error(request, str(exc.message))


def back_to(request, default: str):
    """Redirect to the form's `next` when it is a local URL, else to `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


PAGE_SIZE = 50


def page_of(request, items: list):
    """One page (?pagina=N) of a long list: a phone gets 50 cards, not a thousand."""
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("pagina"))


def _first_url(*names: str, args=None) -> str | None:
    for name in names:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return None


def thread_url(*, place) -> str | None:
    """The station thread page, one click from the board."""
    return _first_url("threads:thread", "threads:page", "thread-page", args=[place.pk])


def imports_url() -> str | None:
    return _first_url("imports:upload", "imports:index", "imports:home", "imports")


def candidate_rows(candidates) -> list[dict]:
    """The engine's candidates (`SlotCandidate`) as the candidate lists render them, distance in km."""
    return [
        {"volunteer_id": c.volunteer_id, "name": c.name, "reason": c.reason, "cost_km": c.cost_m / 1000}
        for c in candidates
    ]
