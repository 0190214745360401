"""The live feed of incidents: one group send per change to the election's board, after commit."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .models import Incident

logger = logging.getLogger(__name__)


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def incident_event(incident: Incident, change: str) -> dict:
    return {
        "type": "incident.changed",
        "change": change,
        "incident_id": incident.pk,
        "election_id": incident.election_id,
        "place_id": incident.place_id,
        "place_name": incident.place.name,
        "table": incident.table.number if incident.table is not None else None,
        "category": incident.category.code,
        "category_name": incident.category.name,
        "category_confirmed": incident.category_confirmed,
        "severity": incident.severity,
        "status": incident.status,
        "owner": _name(incident.owner),
        "escalation_level": incident.escalation_level,
        "text": incident.text[:200],
        "path": incident.place.area.path,
    }


def incident_broadcast(*, incident_id: int, change: str) -> None:
    """Tell every open board about one incident change. Runs after commit; never raises."""
    try:
        incident = Incident.objects.select_related("place__area", "table", "category", "owner").get(pk=incident_id)
        layer = get_channel_layer()
        if layer is None:
            return
        async_to_sync(layer.group_send)(f"board.{incident.election_id}", incident_event(incident, change))
    except Exception:  # a dropped live update must never undo or fail the change
        logger.exception("board broadcast failed for incident %s", incident_id)
