"""Reads of the electoral map: one table or place by id, the search box's places and tables."""

from __future__ import annotations

from backend.core.prepared import PreparedQuery
from backend.core.text import fold
from backend.permissions import visible

from .models import Election, PollingPlace, Table

# An API write reads its table (the permission checks need the place and its area's path) on every
# request: compiled once, not per request (cProfile of an API table report: the ORM building this
# query cost as much CPU as the report's own service).
_TABLE_WITH_AREA = PreparedQuery(lambda pk: Table.objects.select_related("place__area").filter(pk=pk)[:1], "pk")


def table_get_with_area(*, pk: int) -> Table | None:
    """The table with its place and the place's area loaded (as select_related("place__area")), or None."""
    return next(iter(_TABLE_WITH_AREA.objects(pk=pk)), None)


_PLACE_WITH_AREA = PreparedQuery(
    lambda pk: PollingPlace.objects.select_related("area", "election").filter(pk=pk)[:1], "pk"
)


def place_get_with_area(*, pk: int) -> PollingPlace | None:
    """The place with its area and its election loaded, or None (an API incident's place)."""
    return next(iter(_PLACE_WITH_AREA.objects(pk=pk)), None)


def place_search(*, user, election: Election, query: str, limit: int = 20) -> list[PollingPlace]:
    """Places in the user's scope whose name, code, address or area match every word of `query`,
    in any case and with or without accents.

    Folded in Python: a province has a few thousand places and the country about 17,400, a few
    milliseconds of work, and no accent folding exists in SQLite.
    """
    words = fold(query).split()
    if not words:
        return []
    rows = visible(user, PollingPlace.objects.filter(election=election)).values_list(
        "pk", "code", "name", "address", "area__name"
    )
    found = []
    for pk, code, name, address, area_name in rows.iterator(chunk_size=5000):
        text = fold(f"{code} {name} {address} {area_name}")
        if all(word in text for word in words):
            found.append(pk)
            if len(found) >= limit:
                break
    return list(PollingPlace.objects.filter(pk__in=found).select_related("area").order_by("area__path", "code"))


def table_search(*, user, election: Election, query: str, limit: int = 20) -> list[Table]:
    """Tables numbered as asked ("1234", "mesa 1234"), in the user's scope; one per district."""
    words = fold(query).split()
    numbers = [w for w in words if w.isdigit()]
    if len(numbers) != 1 or len(numbers[0]) > 6 or any(w not in {"mesa", "m"} for w in words if not w.isdigit()):
        return []
    qs = visible(user, Table.objects.filter(election=election, number=int(numbers[0])))
    return list(qs.select_related("place__area", "district").order_by("district__path")[:limit])
