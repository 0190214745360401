"""The board event of an incident change (`incident.changed`), built after commit for `core.live.live_send`."""

from .models import Incident


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


def incident_event_after_commit(incident_id: int, change: str) -> dict | None:
    incident = (
        Incident.objects.select_related("place__area", "table", "category", "owner").filter(pk=incident_id).first()
    )
    return incident_event(incident, change) if incident is not None else None
