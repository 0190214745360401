"""One-row writes on every request's path with SQL built once: an INSERT of a model instance, an UPDATE by id.

`Model.objects.create()` and `QuerySet.update()` build and compile their SQL anew on every call
(the query, its WHERE tree, the compiler, the save machinery): for the inbound SMS's row, stored
and then marked with its outcome on every text, that was about half of a no-op SMS's view CPU
(py-spy on the uvicorn workers, bench/fixed_cost.py). Here the statement is built once per model,
columns and database, and each value goes through its field exactly as the ORM's own write does
(`pre_save`, then `get_db_prep_save`: defaults, `auto_now_add`, JSON). No model signal is sent:
only for models without `pre_save`/`post_save` receivers.
"""

from __future__ import annotations

from typing import Any, cast

from django.db import connections
from django.db.models import Field, Model

_inserts: dict[tuple[type[Model], str], tuple[str, list[Field], bool]] = {}
_updates: dict[tuple[type[Model], tuple[str, ...], str], tuple[str, list[Field]]] = {}


def row_insert(instance: Model, *, using: str = "default") -> None:
    """INSERT `instance` (every concrete field but its id) and set its id, as `save()` of a new row would."""
    model = type(instance)
    connection = connections[using]
    key = (model, using)
    built = _inserts.get(key)
    if built is None:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        quote = connection.ops.quote_name
        returning = connection.features.can_return_columns_from_insert
        sql = (
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(cast(str, f.column)) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        if returning:
            sql += f" RETURNING {quote(cast(str, model._meta.pk.column))}"
        built = _inserts[key] = (sql, fields, returning)
    sql, fields, returning = built
    params = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        instance.pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    instance._state.adding = False
    instance._state.db = using


def row_update(model: type[Model], pk: Any, *, using: str = "default", **values: Any) -> int:
    """`model.objects.filter(pk=pk).update(**values)` for plain field values (no expressions); the rows changed."""
    connection = connections[using]
    key = (model, tuple(values), using)
    built = _updates.get(key)
    if built is None:
        fields = [cast(Field, model._meta.get_field(name)) for name in values]
        quote = connection.ops.quote_name
        assignments = ", ".join(f"{quote(cast(str, f.column))} = %s" for f in fields)
        pk_column = cast(str, model._meta.pk.column)
        sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(pk_column)} = %s"
        built = _updates[key] = (sql, fields)
    sql, fields = built
    params = [f.get_db_prep_save(value, connection) for f, value in zip(fields, values.values(), strict=True)]
    params.append(model._meta.pk.get_db_prep_value(pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def transaction_not_begun(*, using: str = "default") -> bool:
    """True inside `atomic()` on PostgreSQL while no statement has been sent in it yet.

    psycopg opens the transaction with its first statement, so an `atomic()` that ran none costs
    nothing until it commits: a last write may then go outside it, as one statement in autocommit,
    instead of paying BEGIN and COMMIT for a transaction of that one statement. Elsewhere (SQLite
    begins at once, `BEGIN IMMEDIATE`) always False.
    """
    connection = connections[using]
    if connection.vendor != "postgresql" or connection.connection is None:
        return False
    from psycopg.pq import TransactionStatus

    return connection.connection.info.transaction_status == TransactionStatus.IDLE
