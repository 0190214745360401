"""Reads of incidents for the console's boards: grouped counts and the scoped list, narrowed by
`backend.permissions.visible` (an incident is seen by whoever may see its place)."""

from dataclasses import dataclass, field

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When

from backend.elections.models import Area, Election, PollingPlace
from backend.permissions import visible

from .models import Incident, IncidentCategory, IncidentEvent, IncidentStatus, Severity


def incident_list_visible(
    *, user, election: Election, area: Area | None = None, place: PollingPlace | None = None
) -> QuerySet[Incident]:
    qs = Incident.objects.filter(election=election)
    if area is not None:
        qs = qs.filter(place__area__path__startswith=area.path)
    if place is not None:
        qs = qs.filter(place=place)
    return visible(user, qs).select_related("place__area", "table", "category", "owner", "reporter")


def incident_board_list(
    *, user, election: Election, area: Area | None = None, status: str = "", severity: str = ""
) -> QuerySet[Incident]:
    """The incident board: unresolved first, severe first, newest first; with their history."""
    qs = incident_list_visible(user=user, election=election, area=area)
    if status:
        qs = qs.filter(status=status)
    if severity:
        qs = qs.filter(severity=severity)
    history = IncidentEvent.objects.select_related("actor").order_by("id")
    rank_status = {IncidentStatus.OPEN: 0, IncidentStatus.IN_PROGRESS: 1, IncidentStatus.RESOLVED: 2}
    rank_severity = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2}
    return (
        qs.alias(
            status_rank=_case("status", rank_status),
            severity_rank=_case("severity", rank_severity),
        )
        .order_by("status_rank", "severity_rank", "-id")
        .prefetch_related(Prefetch("events", queryset=history), "photos")
    )


def _case(field_name: str, ranks: dict):
    return Case(
        *[When(**{field_name: key}, then=Value(rank)) for key, rank in ranks.items()],
        default=Value(9),
        output_field=IntegerField(),
    )


@dataclass
class IncidentCounts:
    """Incidents of an area by category and status (one grouped query)."""

    by_category: list[dict] = field(default_factory=list)  # {name, open, in_progress, resolved, total}
    open: int = 0
    in_progress: int = 0
    resolved: int = 0
    severe_open: int = 0

    @property
    def total(self) -> int:
        return self.open + self.in_progress + self.resolved


def incident_counts(*, user, election: Election, area: Area | None = None) -> IncidentCounts:
    qs = incident_list_visible(user=user, election=election, area=area)
    rows = (
        qs.values("category_id", "status")
        .annotate(n=Count("id"), severe=Count("id", filter=Q(severity=Severity.HIGH)))
        .order_by()
        .values_list("category_id", "status", "n", "severe")
    )
    names = dict(IncidentCategory.objects.filter(election=election).values_list("pk", "name"))
    positions = {
        pk: i for i, pk in enumerate(IncidentCategory.objects.filter(election=election).values_list("pk", flat=True))
    }
    counts = IncidentCounts()
    per_category: dict[int, dict] = {}
    for category_id, status, n, severe in rows:
        row = per_category.setdefault(
            category_id, {"name": names.get(category_id, ""), "open": 0, "in_progress": 0, "resolved": 0, "total": 0}
        )
        row[status] += n
        row["total"] += n
        setattr(counts, status, getattr(counts, status) + n)
        if status == IncidentStatus.OPEN:
            counts.severe_open += severe
    counts.by_category = [per_category[k] for k in sorted(per_category, key=lambda k: positions.get(k, 999))]
    return counts


def incident_counts_by_place(*, user, election: Election, area: Area) -> dict[int, int]:
    """Unresolved incidents per place under `area`."""
    qs = incident_list_visible(user=user, election=election, area=area).exclude(status=IncidentStatus.RESOLVED)
    return dict(qs.values("place_id").annotate(n=Count("id")).order_by().values_list("place_id", "n"))
