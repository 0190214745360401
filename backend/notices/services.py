"""Writing notices: called by domain services inside their own transaction."""

from .models import Notice


def notice_create(*, volunteer, kind: str, assignment=None, payload: dict | None = None) -> Notice:
    """Record that `volunteer` must be told something. Delivery happens after commit, in `sms/`."""
    return Notice.objects.create(volunteer=volunteer, kind=kind, assignment=assignment, payload=payload or {})
