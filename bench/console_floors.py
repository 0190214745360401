"""The pages bench/console.py requests, and for each its floor: one SQL query for the same numbers.

A floor is what the database alone needs: the coverage pages' counts in one grouped query (per
area under the page's area; adding up to its children is arithmetic), a list page's rows in one
query with the page size as limit. Imported by bench/console.py after django.setup().
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Q

from backend.accounts.models import Role
from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentStatus
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.permissions import role_of, scope_areas
from backend.volunteers.models import Volunteer

ACTIVE = tuple(str(s) for s in ACTIVE_STATUSES)
PAGE = 50


@dataclass
class Page:
    label: str
    url: str
    floor: Callable[[], object]
    headers: dict = field(default_factory=dict)
    lead_only: bool = False
    method: str = "get"
    data: dict = field(default_factory=dict)


def scope_of(user, election: Election) -> Area | None:
    """The coordinator's first scope in this election; None for the lead."""
    if role_of(user) == Role.LEAD:
        return None
    paths = sorted(path for election_id, path in scope_areas(user) if election_id == election.pk)
    return Area.objects.get(election=election, path=paths[0])


def coverage_floor(election: Election, path: str) -> Callable[[], object]:
    """Places, tables, and active assignments by status, per area under `path`: one statement
    (three grouped counts joined by UNION ALL), what the database alone must do for the page."""
    active = ", ".join(["%s"] * len(ACTIVE))
    sql = f"""
        SELECT p.area_id, 'places', COUNT(*) FROM elections_pollingplace p
        JOIN elections_area ar ON ar.id = p.area_id
        WHERE p.election_id = %s AND ar.path LIKE %s GROUP BY p.area_id
        UNION ALL
        SELECT p.area_id, 'tables', COUNT(*) FROM elections_table t
        JOIN elections_pollingplace p ON p.id = t.place_id JOIN elections_area ar ON ar.id = p.area_id
        WHERE t.election_id = %s AND ar.path LIKE %s GROUP BY p.area_id
        UNION ALL
        SELECT p.area_id, a.status, COUNT(*) FROM assignments_assignment a
        JOIN elections_pollingplace p ON p.id = a.place_id JOIN elections_area ar ON ar.id = p.area_id
        WHERE a.election_id = %s AND a.status IN ({active}) AND ar.path LIKE %s GROUP BY p.area_id, a.status
    """
    like = path + "%"

    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, [election.pk, like, election.pk, like, election.pk, *ACTIVE, like])
            return cursor.fetchall()

    return run


def rows_floor(queryset, limit: int = PAGE) -> Callable[[], object]:
    return lambda: list(queryset[:limit])


def pages(*, election: Election, scope: Area | None) -> list[Page]:
    top = scope or Area.objects.filter(election=election, depth=0).order_by("path").first()
    assert top is not None
    root_path = scope.path if scope else "/"
    child = Area.objects.filter(election=election, parent=top).order_by("path").first() or top
    # The place with most tables in scope: the heaviest board.
    in_scope = PollingPlace.objects.filter(election=election, area__path__startswith=root_path)
    place = in_scope.annotate(n=Count("tables")).order_by("-n", "pk").first()
    assert place is not None
    table = place.tables.order_by("number").first()
    assignment = Assignment.objects.filter(place=place, status__in=ACTIVE).order_by("pk").first()
    volunteer = assignment.volunteer if assignment else Volunteer.objects.order_by("pk").first()
    slug = election.slug
    scope_assignments = Assignment.objects.filter(
        election=election, status__in=ACTIVE, place__area__path__startswith=root_path
    )
    volunteers_garcia = Volunteer.objects.filter(search_key__contains="garcia").order_by("last_name", "pk")
    # The first late watcher in scope (bench/console.py moved the election and its statuses to yesterday).
    late = (
        scope_assignments.filter(status__in=["notified", "confirmed"])
        .select_related("place__area")
        .order_by("place_id", "role", "table_id", "slot", "id")
        .first()
    )
    late_path = late.place.area.path.split("/")[1] if late else ""
    late_path = f"/{late_path}/"
    out = [
        Page("coverage, root", "/consola/", coverage_floor(election, root_path)),
        Page("coverage, district", f"/consola/?area={top.pk}", coverage_floor(election, top.path)),
        Page(
            "coverage, district uncovered",
            f"/consola/?area={top.pk}&ver=sin-cubrir",
            coverage_floor(election, top.path),
        ),
        Page("coverage, area below", f"/consola/?area={child.pk}", coverage_floor(election, child.path)),
        Page("coverage.xlsx, root", "/consola/cobertura.xlsx", coverage_floor(election, root_path)),
        Page(
            "coverage.xlsx, start the job",
            "/consola/cobertura.xlsx",
            coverage_floor(election, root_path),
            method="post",
        ),
        Page(
            "place board",
            f"/consola/establecimientos/{place.pk}/",
            rows_floor(Assignment.objects.filter(place=place, status__in=ACTIVE).select_related("volunteer"), 500),
        ),
        Page(
            "candidates for a table",
            f"/consola/establecimientos/{place.pk}/candidatos/?rol=table&mesa={table.pk}",
            rows_floor(Volunteer.objects.filter(area__path__startswith=place.area.path[:4]).order_by("pk"), 200),
        ),
        Page("volunteer search", "/consola/fiscales/?q=garcia", rows_floor(volunteers_garcia)),
        Page(
            "volunteer profile",
            f"/consola/fiscales/{volunteer.pk}/",
            rows_floor(Assignment.objects.filter(volunteer=volunteer).prefetch_related("events")),
        ),
        Page("election day, root", "/consola/dia/", coverage_floor(election, root_path)),
        Page("election day, district", f"/consola/dia/?area={top.pk}", coverage_floor(election, top.path)),
        Page(
            "late watcher's proposals (one row)",
            f"/consola/asignaciones/{late.pk}/propuestas/" if late else "/consola/dia/",
            rows_floor(Volunteer.objects.filter(area__path__startswith=late_path).order_by("pk"), 200),
            headers={"HTTP_HX_REQUEST": "true"},
        ),
        Page(
            "late watchers, page 2",
            f"/consola/dia/?area={top.pk}&tarde=2",
            rows_floor(scope_assignments.filter(status__in=["notified", "confirmed"]).order_by("place__code")),
        ),
        Page(
            "auto-assign preview, district",
            f"/consola/asignacion-automatica/?area={top.pk}",
            coverage_floor(election, top.path),
        ),
        Page("instructions", "/consola/instrucciones/", rows_floor(Assignment.objects.none())),
        Page("imports", "/consola/importar/", rows_floor(Assignment.objects.none())),
        Page("import upload page", "/importar/", rows_floor(Assignment.objects.none()), lead_only=True),
        Page(
            "accreditation.xlsx, district",
            f"/consola/acreditacion.xlsx?area={top.pk}",
            rows_floor(
                scope_assignments.filter(place__area__path__startswith=top.path).select_related("volunteer"), 10**6
            ),
        ),
        Page(
            "accreditation.xlsx, start the job",
            "/consola/acreditacion.xlsx",
            rows_floor(
                scope_assignments.filter(place__area__path__startswith=top.path).select_related("volunteer"), 10**6
            ),
            method="post",
            data={"area": top.pk},
        ),
        Page("station thread", f"/hilos/{place.pk}/", rows_floor(Assignment.objects.none())),
        # API reads
        Page("api me", "/api/me/", rows_floor(Election.objects.all())),
        Page("api elections", "/api/elections/", rows_floor(Election.objects.all())),
        Page(
            "api assignments, page 1",
            f"/api/assignments/?election={slug}",
            rows_floor(scope_assignments.select_related("volunteer", "place", "table").order_by("place__code", "id")),
        ),
        Page(
            "api assignments, district",
            f"/api/assignments/?election={slug}&area={top.pk}&active=1",
            rows_floor(scope_assignments.filter(place__area__path__startswith=top.path).order_by("place__code", "id")),
        ),
        Page(
            "api assignment detail",
            f"/api/assignments/{assignment.pk}/" if assignment else "/api/me/",
            rows_floor(Assignment.objects.filter(pk=assignment.pk if assignment else 0)),
        ),
        Page(
            "api candidates",
            f"/api/assignments/candidates/?place={place.pk}&role=table&table={table.pk}",
            rows_floor(Volunteer.objects.filter(area__path__startswith=place.area.path[:4]).order_by("pk"), 200),
        ),
        Page(
            "api coverage areas",
            f"/api/assignments/coverage/?election={slug}&max_depth=1",
            coverage_floor(election, root_path),
        ),
        Page(
            "api coverage places, district",
            f"/api/assignments/coverage/places/?election={slug}&area={top.pk}",
            coverage_floor(election, top.path),
        ),
        Page(
            "api coverage tables",
            f"/api/assignments/coverage/places/{place.pk}/",
            rows_floor(
                Table.objects.filter(place=place).annotate(
                    n=Count("assignments", filter=Q(assignments__status__in=ACTIVE))
                ),
                500,
            ),
        ),
        Page("api volunteers", "/api/volunteers/?q=garcia", rows_floor(volunteers_garcia)),
        Page(
            "api volunteer detail",
            f"/api/volunteers/{volunteer.pk}/",
            rows_floor(Volunteer.objects.filter(pk=volunteer.pk)),
        ),
        Page("api broadcasts", "/api/sms/broadcasts/", rows_floor(Election.objects.all())),
        Page("api incidents", f"/api/incidents/?election={slug}", rows_floor(Election.objects.all())),
        Page("api table timeline", f"/api/tables/{table.pk}/reports/", rows_floor(Election.objects.all())),
        Page("api thread messages", f"/api/threads/{place.pk}/messages/", rows_floor(Election.objects.all())),
        Page("api unread announcements", "/api/threads/announcements/unread/", rows_floor(Election.objects.all())),
    ]
    checked_in = scope_assignments.filter(status=AssignmentStatus.CHECKED_IN)
    assert checked_in.exists(), "the bench data has nobody checked in"
    return out
