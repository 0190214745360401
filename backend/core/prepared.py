"""Hot reads whose SQL never changes but for a few integer ids: compiled by the ORM once, not per call.

Django builds and compiles a queryset anew on every call; for a read that runs once per WebSocket
connect (tens of thousands in a storm) the compiling was most of the CPU (py-spy, bench/threads.py).
`PreparedQuery` compiles the queryset once per database vendor with sentinel ids, remembers where
each id sits among the parameters, and on each call executes that SQL with the real ids, through
the ORM's own value converters. Only for querysets whose shape does not depend on the arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import QuerySet

_SENTINEL_BASE = -7_301_991_000


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    slots: dict[str, list[int]]
    converters: dict


class PreparedQuery:
    """`build(**ids)` returns a `values_list()` queryset; `rows(**ids)` runs it with those ids."""

    def __init__(self, build: Callable[..., QuerySet], *names: str):
        self.build, self.names = build, names
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def _compile(self, alias: str) -> _Compiled:
        sentinels = {name: _SENTINEL_BASE - i for i, name in enumerate(self.names)}
        queryset = self.build(**sentinels)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots = {name: [i for i, p in enumerate(params) if p == value] for name, value in sentinels.items()}
        if not all(slots.values()) or sum(len(s) for s in slots.values()) != sum(
            p in sentinels.values() for p in params
        ):
            raise ValueError(f"every id must appear among the parameters: {slots}")
        converters = compiler.get_converters([column for column, _sql, _alias in compiler.select])
        return _Compiled(sql, tuple(params), slots, converters)

    def rows(self, *, using: str = "default", **ids: Any) -> list[tuple]:
        connection = connections[using]
        key = (using, connection.vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(using)
        params = list(compiled.params)
        for name, value in ids.items():
            for i in compiled.slots[name]:
                params[i] = value
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if not compiled.converters:
            return rows
        # As SQLCompiler.apply_converters: dates, booleans and the like as the ORM returns them.
        converted = []
        for row in rows:
            values = list(row)
            for position, (functions, expression) in compiled.converters.items():
                value = values[position]
                for function in functions:
                    value = function(value, expression, connection)
                values[position] = value
            converted.append(tuple(values))
        return converted
