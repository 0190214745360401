"""The live feed of table reports: one group send per new report to the election's board, after commit."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from backend.elections.models import Area

from .models import TableReport

logger = logging.getLogger(__name__)


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


def table_report_broadcast(*, report_id: int, state: str) -> None:
    """Tell every open board about one report. Runs after commit; never raises."""
    try:
        report = TableReport.objects.select_related("table__place__area").get(pk=report_id)
        layer = get_channel_layer()
        if layer is None:
            return
        async_to_sync(layer.group_send)(f"board.{report.table.election_id}", table_report_event(report, state))
    except Exception:  # a dropped live update must never undo or fail a report
        logger.exception("board broadcast failed for table report %s", report_id)
