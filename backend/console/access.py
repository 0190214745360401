"""Who may use the console, and which election and areas a page is about.

Pages ask the permission module (`backend.permissions`) for every object; this module
only turns its answers into the console's entry rule (leads and coordinators) and the user's
starting points in the area tree.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.db.models import QuerySet
from django.shortcuts import render

from backend.accounts.models import Role
from backend.elections.models import Area, Election
from backend.permissions import role_of, scope_areas

SESSION_ELECTION_KEY = "console_election_id"


def is_console_user(user) -> bool:
    return role_of(user) in {Role.LEAD, Role.COORDINATOR}


def console_view(view):
    """Anonymous people go to the login page; volunteers get a plain 403 page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_console_user(request.user):
            return render(request, "console/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def elections_for(user) -> QuerySet[Election]:
    if role_of(user) == Role.LEAD:
        return Election.objects.order_by("-date", "-id")
    election_ids = {election_id for election_id, _path in scope_areas(user)}
    return Election.objects.filter(pk__in=election_ids).order_by("-date", "-id")


def current_election(request) -> Election | None:
    """The election chosen with ?eleccion=<id> (remembered in the session), else the newest one in scope."""
    elections = elections_for(request.user)
    wanted = request.GET.get("eleccion") or request.session.get(SESSION_ELECTION_KEY)
    election = None
    if wanted and str(wanted).isdigit():
        election = elections.filter(pk=int(wanted)).first()
    if election is None:
        election = elections.first()
    if election is not None:
        request.session[SESSION_ELECTION_KEY] = election.pk
    return election


def root_areas(user, election: Election) -> list[Area]:
    """The top of the tree this user sees: the election's districts for a lead, their scopes otherwise."""
    if role_of(user) == Role.LEAD:
        return list(Area.objects.filter(election=election, depth=0).order_by("path"))
    paths = sorted(path for election_id, path in scope_areas(user) if election_id == election.pk)
    # A scope inside another scope adds nothing.
    tops = [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]
    return list(Area.objects.filter(election=election, path__in=tops).order_by("path"))
