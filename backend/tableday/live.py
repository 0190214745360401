"""The board event of a table report (`table_report.created`), built for `core.live.live_send` from what
the service already read under the table's lock: no read after commit."""

from dataclasses import dataclass

from backend.elections.models import Area

from .models import TableReport


@dataclass(frozen=True)
class TableSite:
    """Where a table is, as its board event names it (`services._table_facts`)."""

    table_id: int
    number: int
    election_id: int
    place_id: int
    place_name: str
    path: str
    area_ids: tuple[int, ...]  # the place's area and its ancestors, root first


def _prefixes(path: str) -> list[str]:
    codes = [c for c in path.split("/") if c]
    return ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]


def area_ids_of_path(*, election_id: int, path: str) -> tuple[int, ...]:
    """The ids of the area at `path` and its ancestors, root first (for areas deeper than the lock reads)."""
    return tuple(
        Area.objects.filter(election_id=election_id, path__in=_prefixes(path))
        .order_by("depth")
        .values_list("id", flat=True)
    )


def table_report_event(site: TableSite, report: TableReport, state: str) -> dict:
    return {
        "type": "table_report.created",
        "report_id": report.pk,
        "election_id": site.election_id,
        "table_id": site.table_id,
        "table": site.number,
        "place_id": site.place_id,
        "place_name": site.place_name,
        "reported": report.state,
        "state": state,
        "channel": report.channel,
        "correction": report.correction,
        "path": site.path,
        "area_ids": list(site.area_ids),
        "at": report.created_at.isoformat(),
    }
