"""Hot reads whose SQL never changes but for a few values: compiled by the ORM once, not per call.

Django builds and compiles a queryset anew on every call; for a read that runs once per WebSocket
connect (tens of thousands in a storm) or once per inbound SMS, the compiling was most of the CPU
(py-spy, bench/threads.py; cProfile, bench/fixed_cost.py). `PreparedQuery` compiles the queryset
once per database vendor with sentinel values, remembers where each sits among the parameters, and
on each call executes that SQL with the real values, through the ORM's own value converters:
`rows()` for a `values_list()` queryset, `objects()` for model instances (select_related included).
Only for querysets whose shape does not depend on the arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators

_SENTINEL_BASE = -7_301_991_000


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    slots: dict[str, list[int]]
    converters: dict
    # For `objects()`: the model, where its columns sit in a row, their attribute names, and the
    # select_related models' populators (as Django's ModelIterable builds them per query).
    model: type[Model] | None = None
    start: int = 0
    end: int = 0
    init_list: tuple[str, ...] = ()
    related_populators: tuple = ()


class PreparedQuery:
    """`build(**values)` returns a queryset; `rows(**values)` / `objects(**values)` run it with those values.

    The values are integer ids, or text for the names listed in `text` (a phone, a token).
    """

    def __init__(self, build: Callable[..., QuerySet], *names: str, text: tuple[str, ...] = ()):
        self.build, self.names, self.text = build, names, text
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def _compile(self, alias: str) -> _Compiled:
        sentinels: dict[str, Any] = {
            name: f"prepared-{_SENTINEL_BASE - i}" if name in self.text else _SENTINEL_BASE - i
            for i, name in enumerate(self.names)
        }
        queryset = self.build(**sentinels)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots = {name: [i for i, p in enumerate(params) if p == value] for name, value in sentinels.items()}
        if not all(slots.values()) or sum(len(s) for s in slots.values()) != sum(
            p in sentinels.values() for p in params
        ):
            raise ValueError(f"every id must appear among the parameters: {slots}")
        converters = compiler.get_converters([column for column, _sql, _alias in compiler.select])
        if queryset._iterable_class is not ModelIterable:
            return _Compiled(sql, tuple(params), slots, converters)
        fields = compiler.klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        # Django 5.2's signature (the stubs already have 6.0's fetch_mode).
        populators = get_related_populators(compiler.klass_info, compiler.select, alias)  # type: ignore[call-arg]
        return _Compiled(
            sql,
            tuple(params),
            slots,
            converters,
            model=compiler.klass_info["model"],
            start=start,
            end=end,
            init_list=tuple(column[0].target.attname for column in compiler.select[start:end]),
            related_populators=tuple(populators),
        )

    def objects(self, *, using: str = "default", **values: Any) -> list:
        """The model instances a model queryset would give, its select_related objects attached."""
        compiled = self._compiled_for(using)
        if compiled.model is None:
            raise TypeError("objects() needs a model queryset; use rows() for values_list()")
        found = []
        for row in self._execute(compiled, using, values):
            instance = compiled.model.from_db(using, compiled.init_list, row[compiled.start : compiled.end])
            for populator in compiled.related_populators:
                populator.populate(row, instance)
            found.append(instance)
        return found

    def rows(self, *, using: str = "default", **ids: Any) -> list[tuple]:
        return self._execute(self._compiled_for(using), using, ids)

    def _compiled_for(self, using: str) -> _Compiled:
        key = (using, connections[using].vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(using)
        return compiled

    def _execute(self, compiled: _Compiled, using: str, arguments: dict[str, Any]) -> list[tuple]:
        connection = connections[using]
        params = list(compiled.params)
        for name, value in arguments.items():
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
