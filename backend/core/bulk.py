"""The one bulk writer: COPY on PostgreSQL, batched multi-row INSERTs elsewhere (SQLite).

Roster imports, auto-assign and broadcasts write tens or hundreds of thousands of rows at once.
`bulk_create` prepares every field of every object in Python (~100 µs a row) and sends one
statement per batch; here a column's database value is prepared once when it is constant, and
PostgreSQL receives the rows in one COPY stream. No signals are sent and no ids come back: callers
that need the new ids read them back by a key they wrote.
"""

import datetime
from collections.abc import Iterable, Sequence
from itertools import islice
from operator import itemgetter

from django.db import connections, models
from django.utils import timezone

# SQLite page cache (negative: KiB) while writing more than one batch of rows.
SQLITE_BULK_CACHE_KIB = -32768
# Field types whose Python value is already what the driver takes.
_PLAIN = {
    "AutoField",
    "BigAutoField",
    "CharField",
    "TextField",
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "BigIntegerField",
    "FloatField",
    "ForeignKey",
    "OneToOneField",
}


def insert_rows(
    table: str, columns: Sequence[str], rows: Iterable[tuple], *, using: str = "default", batch_size: int = 5000
) -> None:
    """Bulk INSERT of database-ready tuples into `table`'s `columns`.

    `rows` may be a generator: it is consumed a chunk at a time, so the caller never needs every
    row built at once."""
    connection = connections[using]
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    rows = iter(rows)
    first = list(islice(rows, batch_size))
    if not first:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY streams the rows in one statement: executemany costs a round trip per row. The
            # driver's cursor bypasses Django's error translation, so a violated constraint is
            # turned into django.db.IntegrityError here, as every other write raises it.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy,
            ):
                write_row = copy.write_row
                for row in first:
                    write_row(row)
                for row in rows:
                    write_row(row)
            return
        sql = "INSERT INTO {} ({}) VALUES ({})".format(quote(table), names, ", ".join(["%s"] * len(columns)))
        chunk = list(islice(rows, batch_size))
        if not chunk:
            cursor.executemany(sql, first)
            return
        # Many rows: SQLite's default 2 MB page cache makes every index insert evict and reread pages
        # (a 200,000-row roster: 6 s of CPU at 2 MB, 3.9 s at 32 MB). Raised for this write only.
        cursor.execute("PRAGMA cache_size")
        (cache_size,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = {SQLITE_BULK_CACHE_KIB}")
        try:
            cursor.executemany(sql, first)
            while chunk:
                cursor.executemany(sql, chunk)
                chunk = list(islice(rows, batch_size))
        finally:
            cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")


def bulk_insert(
    model: type[models.Model],
    rows: Sequence[dict] | Sequence[models.Model],
    *,
    using: str = "default",
    batch_size: int = 5000,
    now: datetime.datetime | None = None,
) -> int:
    """Insert `rows` into `model`'s table; returns how many.

    Each row is a dict of field attname -> Python value, or an unsaved instance (built by the
    same constructor a single write uses, e.g. `event_build`). Fields a dict does not give get
    their model default; `auto_now`/`auto_now_add` fields get the same `now` (default: the
    current time) for every row, so a caller can find its rows again by that stamp.
    """
    if not rows:
        return 0
    connection = connections[using]
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
    if isinstance(rows[0], models.Model):
        # Timestamps are set on save, so an unsaved instance has none yet: they get "now" below.
        names = [f.attname for f in fields if not _auto_time(f)]
        dict_rows = [{n: getattr(obj, n) for n in names} for obj in rows]
        varying = set(names)
    else:
        dict_rows = [dict(row) for row in rows]  # type: ignore[arg-type]
        varying = set(dict_rows[0])
    now = now or timezone.now()
    constants = {}
    for field in fields:
        if field.attname in varying:
            continue
        value = now if _auto_time(field) else field.get_default()
        constants[field.attname] = field.get_db_prep_save(value, connection)
    for field in fields:
        if field.attname in varying and field.get_internal_type() not in _PLAIN:
            # Varying values of other types (dates, JSON, booleans...) are prepared per row.
            for row in dict_rows:
                row[field.attname] = field.get_db_prep_save(row[field.attname], connection)
    # One C-level lookup per row: the row's values over the constants, in column order.
    getter = itemgetter(*[f.attname for f in fields])
    values = [getter({**constants, **row}) for row in dict_rows]
    if len(fields) == 1:
        values = [(v,) for v in values]
    insert_rows(model._meta.db_table, [str(f.column) for f in fields], values, using=using, batch_size=batch_size)
    return len(values)


def _auto_time(field) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))
