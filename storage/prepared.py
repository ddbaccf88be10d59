"""The statements every event runs, compiled once and executed through the driver itself.

SQLAlchemy's per-statement machinery (execution context, parameter and result processing, result
wrapping, events) costs a few hundred microseconds of CPU for a statement the database answers in tens:
on SQLite, run inline on the event loop, it was most of an event's transaction. The few statements on
every event's path (claim, cross-out, outbox and inbox inserts) are compiled once per dialect by
SQLAlchemy — the same SQL text and the same type conversions (bind and result processors) — and then
handed to the driver directly:

- SQLite: inline on the loop, when the connection's write transaction holds the lock (`sqlite_driver`);
- PostgreSQL: asyncpg's prepared statement (SQLAlchemy's own cache of them), inside the transaction
  SQLAlchemy began, under the adapter's mutex, errors translated as SQLAlchemy translates them.

Anything else (SQLite outside an inline write transaction, another driver) goes through SQLAlchemy as
before, so the rows and errors are the same on either road. String parameters lose their NUL bytes as
the engine's filter (`storage.limits`) would do. SQLAlchemy's events do not see these statements:
`WATCHERS` do (tests and benchmarks that count what an event sends its database).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import ClauseElement, Executable

from storage import limits, sqlite_driver

Processor = Callable[[Any], Any] | None
WATCHERS: list[Callable[[str], None]] = []  # each called with the SQL of every statement run around SQLAlchemy


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # parameter names, in positional order
    defaults: Mapping[str, Any]  # values the statement itself binds (literals such as 'done')
    binds: tuple[Processor, ...]
    results: tuple[Processor, ...]  # per returned column


class Prepared:
    """One Core statement, compiled once per dialect; `rows`/`run` execute it by the shortest road."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        done = self._compiled.get(dialect.name)
        if done is None:
            compiled: Any = cast(ClauseElement, self.statement).compile(dialect=dialect)
            names = tuple(compiled.positiontup or ())
            binds = tuple(compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
            results = tuple(entry.type.dialect_impl(dialect).result_processor(dialect, None)
                            for entry in getattr(compiled, "_result_columns", ()) or ())
            done = _Compiled(compiled.string, names, dict(compiled.params), binds, results)
            self._compiled[dialect.name] = done
        return done

    async def rows(self, conn: AsyncConnection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run once with `params`; the returned rows (empty without RETURNING)."""
        c = self._for(conn.dialect)
        raw = await _raw(conn)
        if raw is None:
            return [tuple(r) for r in (await conn.execute(self.statement, dict(params))).all()]
        return _processed(c, await _guarded(conn, raw, c.sql, _args(c, params), False))

    async def rows_of_each(self, conn: AsyncConnection, params: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """Run once per parameter set and return every returned row: on SQLite one driver call each (they
        cost microseconds inline); elsewhere several sets go as SQLAlchemy's one multi-row statement."""
        if len(params) == 1:
            return await self.rows(conn, params[0])
        raw = await _raw(conn) if params else None
        if raw is None or not isinstance(raw[1], sqlite_driver.OneTripConnection):
            if not params:
                return []
            return [tuple(r) for r in (await conn.execute(self.statement, [dict(p) for p in params])).all()]
        c = self._for(conn.dialect)
        out: list[tuple[Any, ...]] = []
        for p in params:
            out += _processed(c, await _guarded(conn, raw, c.sql, _args(c, p), False))
        return out

    async def run_many(self, conn: AsyncConnection, params: Sequence[Mapping[str, Any]]) -> None:
        """Run once per parameter set (no rows back): one `executemany`."""
        if not params:
            return
        c = self._for(conn.dialect)
        raw = await _raw(conn)
        if raw is None:
            await conn.execute(self.statement, [dict(p) for p in params])
            return
        await _guarded(conn, raw, c.sql, [_args(c, p) for p in params], True)


async def _guarded(conn: AsyncConnection, raw: tuple[Raw, Any], sql: str, args: Any, many: bool) -> list[Any]:
    """The driver's call, its errors raised as SQLAlchemy raises them (a lost connection invalidated)."""
    for watch in WATCHERS:
        watch(sql)
    dialect = conn.dialect
    call, adapter = raw
    try:
        return await call(sql, args, many)
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, adapter, None)
        if lost:
            await conn.invalidate()
        raise exc.DBAPIError.instance(sql, args, error, dialect.loaded_dbapi.Error, dialect=dialect,
                                      connection_invalidated=lost) from error


def _args(c: _Compiled, params: Mapping[str, Any]) -> tuple[Any, ...]:
    out = []
    for name, process in zip(c.names, c.binds, strict=True):
        value = params[name] if name in params else c.defaults[name]
        if type(value) is str and limits.NUL in value:
            value = limits.clean(value)
        out.append(value if process is None or value is None else process(value))
    return tuple(out)


def _processed(c: _Compiled, rows: Sequence[Any]) -> list[tuple[Any, ...]]:
    if not rows or not any(c.results):
        return [tuple(r) for r in rows]
    return [tuple(v if p is None or v is None else p(v) for p, v in zip(c.results, r, strict=True)) for r in rows]


Raw = Callable[[str, Any, bool], Awaitable[list[Any]]]


async def _raw(conn: AsyncConnection) -> tuple[Raw, Any] | None:
    """The driver's own call for this connection's transaction (and the DBAPI connection it runs on),
    or None to go through SQLAlchemy."""
    sync = conn.sync_connection
    if sync is not None and not sync.closed and not sync.invalidated:
        adapter = sync.connection.dbapi_connection  # in a transaction: no trip through SQLAlchemy's greenlet
    else:
        adapter = (await conn.get_raw_connection()).dbapi_connection
    if isinstance(adapter, sqlite_driver.OneTripConnection):
        return (adapter.run_inline, adapter) if adapter.inline else None
    if conn.dialect.driver == "asyncpg":
        return _asyncpg(adapter, conn.dialect), adapter
    return None


def _asyncpg(adapter: Any, dialect: Dialect) -> Raw:
    """asyncpg's prepared statement (SQLAlchemy's cache of them) in the transaction SQLAlchemy began."""

    async def call(sql: str, args: Any, many: bool) -> list[Any]:
        async with adapter._execute_mutex:
            if adapter._transaction is None:
                await adapter._start_transaction()
            try:
                statement, _ = await adapter._prepare(sql, getattr(dialect, "_invalidate_schema_cache_asof", 0))
                if many:
                    await statement.executemany(args)
                    return []
                return list(await statement.fetch(*args))
            except Exception as error:
                adapter._handle_exception(error)  # asyncpg's errors as the DBAPI's (raises)
                raise

    return call
