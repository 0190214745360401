"""The quick count's running sums (CountTally): added to and taken from as sheets become or stop
being current, inside the same transaction; rebuilt from the sheets after a bulk write.

One statement per change: a multi-row INSERT ... ON CONFLICT DO UPDATE adds to the rows (PostgreSQL and SQLite
both speak it). Rows are written in a fixed order (list id) so that two sheets of one area never
wait on each other in opposite orders.
"""

from functools import cache
from typing import Any

from django.db import connection, transaction

from .models import CountTally, ResultSheet

_TOTALS = ("votes", "tables", "electors", "voters", "blank", "null", "contested", "challenged")


def tally_apply(*, sheet: ResultSheet, electors: int | None, sign: int) -> None:
    """Add (`sign` 1) or take away (-1) one current party sheet's figures: one statement."""
    sql, params = tally_statement(sheet=sheet, electors=electors, sign=sign)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def tally_statement(*, sheet: ResultSheet, electors: int | None, sign: int) -> tuple[str, list[Any]]:
    """The SQL and parameters of `tally_apply`, for a writer that sends it inside a larger statement."""
    lists = sorted((int(list_id), sign * int(votes)) for list_id, votes in sheet.votes.items())
    totals = [
        sign,
        sign * (electors or 0),
        sign * (sheet.voters or 0),
        sign * (sheet.blank or 0),
        sign * (sheet.null or 0),
        sign * (sheet.contested or 0),
        sign * (sheet.challenged or 0),
    ]
    if connection.vendor == "postgresql":
        # The lists as two arrays: a dozen parameters whatever the number of lists, so the driver
        # keeps the statement's parsed form (it re-parses any statement with more than 50).
        params: list[Any] = [sheet.category_id, sheet.area_path, *totals, [k for k, _ in lists], [v for _, v in lists]]
        return _postgresql_sql(connection.vendor), params
    table, columns, conflict = _parts(connection.vendor)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * (len(lists) + 1))
    sql = f"INSERT INTO {table} (category_id, area_path, list_id, {columns}) VALUES {values} {conflict}"
    rows = [(sheet.category_id, sheet.area_path, 0, 0, *totals)]
    rows += [(sheet.category_id, sheet.area_path, k, v, 0, 0, 0, 0, 0, 0, 0) for k, v in lists]
    return sql, [value for row in rows for value in row]


@cache
def _parts(vendor: str) -> tuple[str, str, str]:
    """The table, its summed columns and the ON CONFLICT clause: the same for every sheet (`vendor`
    keys the cache: the quoting is the engine's)."""
    table = CountTally._meta.db_table
    q = connection.ops.quote_name
    columns = ", ".join(q(c) for c in _TOTALS)
    updates = ", ".join(f"{q(c)} = {table}.{q(c)} + excluded.{q(c)}" for c in _TOTALS)
    return table, columns, f"ON CONFLICT (category_id, area_path, list_id) DO UPDATE SET {updates}"


@cache
def _postgresql_sql(vendor: str) -> str:
    table, columns, conflict = _parts(vendor)
    return (
        f"INSERT INTO {table} (category_id, area_path, list_id, {columns}) "
        "SELECT %s, %s, r.* FROM (SELECT 0 AS list_id, 0::bigint, %s::int, %s::bigint, %s::bigint, %s::bigint, "
        "%s::bigint, %s::bigint, %s::bigint UNION ALL SELECT l.id, l.votes, 0, 0, 0, 0, 0, 0, 0 "
        "FROM unnest(%s::int[], %s::bigint[]) AS l(id, votes)) AS r ORDER BY r.list_id "
        f"{conflict}"
    )


def tally_rebuild(*, election_id: int) -> int:
    """Recompute every running sum of an election from its current party sheets (after a bulk write,
    or to repair). Returns the rows written."""
    table = CountTally._meta.db_table
    columns = ", ".join(connection.ops.quote_name(c) for c in _TOTALS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE category_id IN (SELECT id FROM count_category WHERE election_id = %s)",
            [election_id],
        )
        cursor.execute(
            f"INSERT INTO {table} (category_id, area_path, list_id, {columns}) "
            "SELECT s.category_id, s.area_path, 0, 0, COUNT(*), COALESCE(SUM(t.electors), 0), "
            'COALESCE(SUM(s.voters), 0), COALESCE(SUM(s.blank), 0), COALESCE(SUM(s."null"), 0), '
            "COALESCE(SUM(s.contested), 0), COALESCE(SUM(s.challenged), 0) "
            "FROM count_resultsheet s JOIN elections_table t ON t.id = s.table_id "
            "WHERE s.election_id = %s AND s.official = %s AND s.current = %s "
            "GROUP BY s.category_id, s.area_path",
            [election_id, False, True],
        )
        # Each sheet's lists expanded from its JSON; only lists still on the ballot are summed (a list
        # deleted in the admin takes its votes out of the quick count).
        each = "jsonb_each_text" if connection.vendor == "postgresql" else "json_each"
        cursor.execute(
            f"INSERT INTO {table} (category_id, area_path, list_id, {columns}) "
            "SELECT s.category_id, s.area_path, b.id, SUM(CAST(v.value AS BIGINT)), 0, 0, 0, 0, 0, 0, 0 "
            f"FROM count_resultsheet s CROSS JOIN {each}(s.votes) AS v "
            "JOIN count_ballotlist b ON b.id = CAST(v.key AS INTEGER) "
            "WHERE s.election_id = %s AND s.official = %s AND s.current = %s "
            "GROUP BY s.category_id, s.area_path, b.id",
            [election_id, False, True],
        )
        return CountTally.objects.filter(category__election_id=election_id).count()
