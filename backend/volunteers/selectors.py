"""Reads of volunteers: the search box, what tells namesakes apart, their audit trail."""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet

from backend.core.phones import normalize_phone
from backend.core.text import fold
from backend.permissions import visible

from .models import Volunteer, VolunteerEvent

_NON_DIGIT = re.compile(r"\D+")


def _digit_query(query: str) -> str | None:
    """The digits of a query that is a DNI or a phone ("30.123.456", "0351 15 500-0039"), else None."""
    digits = _NON_DIGIT.sub("", query)
    compact = re.sub(r"[\s.\-()/+]", "", query)
    if len(digits) >= 4 and len(digits) == len(compact):
        return digits
    return None


def volunteer_search_condition(query: str) -> Q | None:
    """A filter for the search box: name words in any case and with or without accents, a DNI with
    or without dots, a phone in any Argentine notation. None when the query is empty.

    Everything is matched against `Volunteer.search_key` (folded names, DNI, phone digits) with
    LIKE '%word%', which a trigram index serves on PostgreSQL.
    """
    query = (query or "").replace("\x00", "").strip()
    if not query:
        return None
    digits = _digit_query(query)
    if digits is None:
        words = fold(query).split()
        if not words:
            return None
        condition = Q()
        for word in words:
            condition &= Q(search_key__contains=word)
        return condition
    condition = Q(search_key__contains=digits)
    phone = normalize_phone(query).e164
    if phone:
        condition |= Q(phone=phone)
    if digits.startswith("0"):
        condition |= Q(search_key__contains=digits.lstrip("0"))
    return condition


def volunteer_search(*, user, query: str, limit: int = 50) -> QuerySet[Volunteer]:
    """The volunteers in the user's scope that match the search box, by name."""
    qs = visible(user, Volunteer.objects.all())
    condition = volunteer_search_condition(query)
    if condition is not None:
        qs = qs.filter(condition)
    # The key starts with the folded "last first" name: its order is the alphabetical one. The 50
    # ids are chosen on narrow rows first: "garcia" matches thousands, and sorting them joined to
    # their areas and places cost four times as much.
    ids = list(qs.order_by("search_key", "pk").values_list("pk", flat=True)[:limit])
    return Volunteer.objects.filter(pk__in=ids).select_related("area", "votes_at__area").order_by("search_key", "pk")


def volunteer_event_list(*, volunteer: Volunteer) -> QuerySet[VolunteerEvent]:
    return volunteer.events.select_related("actor").order_by("-created_at", "-id")
