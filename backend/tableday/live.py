"""The board event of a table report (`table_report.created`), built after commit for `core.live.live_send`."""

from backend.elections.models import Area

from .models import TableReport


def _prefixes(path: str) -> list[str]:
    codes = [c for c in path.split("/") if c]
    return ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]


def table_report_event(report: TableReport, state: str) -> dict:
    table = report.table
    place = table.place
    path = place.area.path
    return {
        "type": "table_report.created",
        "report_id": report.pk,
        "election_id": table.election_id,
        "table_id": table.pk,
        "table": table.number,
        "place_id": place.pk,
        "place_name": place.name,
        "reported": report.state,
        "state": state,
        "channel": report.channel,
        "correction": report.correction,
        "path": path,
        "area_ids": list(
            Area.objects.filter(election_id=table.election_id, path__in=_prefixes(path)).values_list("id", flat=True)
        ),
        "at": report.created_at.isoformat(),
    }


def table_report_event_after_commit(report_id: int, state: str) -> dict | None:
    report = TableReport.objects.select_related("table__place__area").filter(pk=report_id).first()
    return table_report_event(report, state) if report is not None else None
