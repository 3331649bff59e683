"""The statements of a turn, built by the ORM once per process and database, then run with
new values.

Building and compiling a query costs far more than running it: measured on SQLite, reading
the assistant a turn starts with (two joins and an EXISTS) took 1.5 ms of CPU through the
ORM, of which 0.05 ms was the statement itself; the dozen statements of a turn and its end
were most of the CPU the site spends on a reply beyond relaying its stream
(docs/performance.md). These keep the ORM as the one description of each query (its joins,
annotations, converters and model instances) and skip the rebuilding:

- `PreparedQuery`: a queryset built by a function of its parameters. It is compiled twice
  per parameter with two example values, and the positions whose values differ are where
  that parameter goes; a query whose SQL changes with its values is refused.
- `PreparedInsert` / `PreparedUpdate`: one INSERT ... RETURNING, or one UPDATE by a key,
  of named fields, with each value prepared by its field as the ORM's compilers do.

No signals are sent (as with `bulk_create` and `QuerySet.update`): nothing in the project
listens to saves of these models.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    # For each parameter, the positions in `params` where its value goes.
    positions: dict[str, tuple[int, ...]]
    compiler: object
    converters: dict
    # Model instances: where the main model's columns are, its field names, the populators
    # of select_related objects, and where each annotation is.
    model: type[Model] | None = None
    fields: slice | None = None
    init_list: tuple[str, ...] = ()
    populators: tuple = ()
    annotations: tuple[tuple[str, int], ...] = ()


class PreparedQuery:
    """`build(**parameters)` returns the queryset; `examples` gives two values of each
    parameter that the ORM prepares differently (two ids, two strings)."""

    def __init__(self, build: Callable[..., QuerySet], **examples: tuple):
        self.build = build
        self.examples = examples
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()
        self._model: type[Model] | None = None

    def objects(self, **parameters) -> list[Model]:
        compiled, rows = self._run(parameters)
        objects = []
        for row in rows:
            obj = compiled.model.from_db(
                compiled.compiler.using, compiled.init_list, row[compiled.fields]
            )
            for populator in compiled.populators:
                populator.populate(row, obj)
            for name, position in compiled.annotations:
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects

    def first(self, **parameters) -> Model | None:
        found = self.objects(**parameters)
        return found[0] if found else None

    def rows(self, **parameters) -> list[tuple]:
        """The rows of a values_list() query, converted as the ORM converts them."""
        return self._run(parameters)[1]

    def _run(self, parameters: dict) -> tuple[_Compiled, list]:
        if parameters.keys() != self.examples.keys():
            raise TypeError(f"Parameters {sorted(parameters)}, expected {sorted(self.examples)}")
        compiled = self._for(self._alias())
        params = list(compiled.params)
        for name, value in parameters.items():
            for position in compiled.positions[name]:
                params[position] = value
        connection = connections[compiled.compiler.using]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            # The compiler keeps the connection of the thread that compiled it: converters read
            # only its settings (time zone, features), the rows come from this thread's.
            rows = [
                tuple(row) for row in compiled.compiler.apply_converters(rows, compiled.converters)
            ]
        return compiled, rows

    def _alias(self) -> str:
        if self._model is None:
            self._model = self.build(**self._example(0)).model
        return router.db_for_read(self._model)

    def _example(self, index: int, varied: str | None = None) -> dict:
        return {
            name: values[1 if name == varied else index] for name, values in self.examples.items()
        }

    def _for(self, alias: str) -> _Compiled:
        compiled = self._compiled.get(alias)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(alias) or self._compile(alias)
                self._compiled[alias] = compiled
        return compiled

    def _compile(self, alias: str) -> _Compiled:
        queryset = self.build(**self._example(0))
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        positions = {}
        for name in self.examples:
            other_sql, other_params = (
                self.build(**self._example(0, varied=name)).query.get_compiler(using=alias).as_sql()
            )
            if other_sql != sql or len(other_params) != len(params):
                raise ValueError(f"The SQL of this query changes with {name!r}: not preparable.")
            positions[name] = tuple(
                n for n, (a, b) in enumerate(zip(params, other_params, strict=True)) if a != b
            )
            if not positions[name]:
                raise ValueError(f"{name!r} is not a parameter of this query.")
        columns = [select[0] for select in compiler.select[: compiler.col_count]]
        common = {
            "sql": sql,
            "params": tuple(params),
            "positions": positions,
            "compiler": compiler,
            "converters": compiler.get_converters(columns),
        }
        klass_info = compiler.klass_info
        if queryset._iterable_class.__name__ != "ModelIterable" or klass_info is None:
            return _Compiled(**common)
        select_fields = klass_info["select_fields"]
        fields = slice(select_fields[0], select_fields[-1] + 1)
        return _Compiled(
            **common,
            model=klass_info["model"],
            fields=fields,
            init_list=tuple(s[0].target.attname for s in compiler.select[fields]),
            populators=tuple(get_related_populators(klass_info, compiler.select, alias)),
            annotations=tuple(compiler.annotation_col_map.items()),
        )


class PreparedInsert:
    """INSERT of `model` rows with every concrete field but the automatic key, returning
    the key, as `bulk_create` does with fewer layers."""

    def __init__(self, model: type[Model]):
        self.model = model
        meta = model._meta
        self.fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
        self._sql: dict[tuple[str, int], str] = {}

    def save(self, objects: list[Model]) -> list[Model]:
        alias = router.db_for_write(self.model)
        connection = connections[alias]
        if not connection.features.can_return_rows_from_bulk_insert:
            return self.model.objects.using(alias).bulk_create(objects)
        params = []
        for obj in objects:
            # What the insert compiler does per value: pre_save (auto_now, defaults in
            # fields like FileField), then the field's preparation for the database.
            params += [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in self.fields]
        with connection.cursor() as cursor:
            cursor.execute(self._statement(alias, len(objects)), params)
            keys = cursor.fetchall()
        for obj, (key,) in zip(objects, keys, strict=True):
            obj.pk = key
            obj._state.adding = False
            obj._state.db = alias
        return objects

    def _statement(self, alias: str, count: int) -> str:
        sql = self._sql.get((alias, count))
        if sql is None:
            connection = connections[alias]
            quote, meta = connection.ops.quote_name, self.model._meta
            columns = ", ".join(quote(f.column) for f in self.fields)
            row = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
            returning, _ = connection.ops.return_insert_columns([meta.pk])
            sql = (
                f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "
                + ", ".join([row] * count)
                + f" {returning}"
            )
            self._sql[(alias, count)] = sql
        return sql


class PreparedUpdate:
    """UPDATE of `model` rows by the fields of `where` (names; the key by default):
    `QuerySet.filter(**where).update(**values)` without rebuilding it. The statement is
    kept for each set of fields updated."""

    def __init__(self, model: type[Model], *, where: tuple[str, ...] = ("pk",)):
        meta = model._meta
        self.model = model
        self.where = tuple(meta.pk if name == "pk" else meta.get_field(name) for name in where)
        self._sql: dict[tuple[str, tuple[str, ...]], tuple[str, tuple]] = {}

    def run(self, *keys, **values) -> int:
        """`keys`: the values of the `where` fields, in order; `values`: the new value of
        each field updated, by name. The number of rows updated."""
        if len(keys) != len(self.where):
            raise TypeError(f"{len(self.where)} keys expected, {len(keys)} given")
        alias = router.db_for_write(self.model)
        connection = connections[alias]
        sql, fields = self._statement(alias, tuple(values))
        params = [
            f.get_db_prep_save(value, connection)
            for f, value in zip(fields, values.values(), strict=True)
        ]
        params += [
            f.get_db_prep_value(key, connection) for f, key in zip(self.where, keys, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def _statement(self, alias: str, names: tuple[str, ...]) -> tuple[str, tuple]:
        found = self._sql.get((alias, names))
        if found is None:
            quote, meta = connections[alias].ops.quote_name, self.model._meta
            fields = tuple(meta.get_field(name) for name in names)
            assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
            conditions = " AND ".join(f"{quote(f.column)} = %s" for f in self.where)
            sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {conditions}"
            found = self._sql[(alias, names)] = (sql, fields)
        return found
