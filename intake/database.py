"""Database engine set-up that the ORM does not do for us.

SQLite: WAL so readers never block the writer, foreign keys on, a 5 s busy
timeout, and every transaction opened with BEGIN IMMEDIATE. pysqlite's own
transaction handling opens transactions lazily and upgrades locks mid-way,
which under two writer processes lost updates or raised "database is locked"
(DESIGN.md); taking the write lock at BEGIN serialises writers cleanly.
Every request that shows a chart also writes an audit row, so there is no
read-only transaction worth the special case. The exception is a view
marked `reads_first` (the kiosk's Send): its reads run outside any
transaction and the lock is taken at its first write, so a request that
mostly reads does not hold every other writer up; such a view makes each
write conditional on what it read.

Writers wait in a queue, not in SQLite's busy handler. That handler sleeps
and retries on a schedule (1, 2, 5, 10 ... 100 ms), so a waiting request
went on sleeping long after the lock came free: submissions held the lock
for about 3 ms and waited tens. Before BEGIN IMMEDIATE a connection takes
a lock shared by the threads of its process (threading.Lock, which wakes
the next waiter at once) and then an flock on `<database>-writer.lock`
beside the database file, shared by every process of this app (web
workers, the task worker, the CLI). Both are released right after the
COMMIT or ROLLBACK (or when the pool takes the connection back), and by
the kernel when a process dies. SQLite's own lock and busy timeout still guard against
processes that don't take the queue (the sqlite3 shell, a backup tool).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from flask import Flask

BUSY_TIMEOUT_MS = 5000
# How often a process waiting for another's write turn looks again (seconds).
POLL_FAST, POLL_SLOW, POLL_FAST_FOR = 0.0001, 0.001, 0.02
_WRITE_LOCKS: "weakref.WeakKeyDictionary[Engine, Any]" = weakref.WeakKeyDictionary()


class WriterQueue:
    """The turn to write to one SQLite file: a lock for this process's
    threads, then an flock for the processes. `acquire` gives up after
    `timeout` seconds and returns False; the caller then goes on to SQLite's
    own locking, which fails the same way it did before the queue."""

    _thread_locks: dict[str, threading.Lock] = {}
    _guard = threading.Lock()

    def __init__(self, database: str):
        self.path = f"{database}-writer.lock"
        with WriterQueue._guard:
            self.thread_lock = WriterQueue._thread_locks.setdefault(database, threading.Lock())

    def open(self) -> int:
        return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self, fd: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self.thread_lock.acquire(timeout=timeout):
            return False
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                # Another process writes. Only one thread per process polls
                # here: every 0.1 ms at first, since a turn usually lasts
                # about 1 ms and any time slept past its end is time in which
                # no process writes; after POLL_FAST_FOR seconds (a long
                # write, such as an import), every 1 ms.
                now = time.monotonic()
                if now >= deadline:
                    self.thread_lock.release()
                    return False
                time.sleep(POLL_FAST if now - started < POLL_FAST_FOR else POLL_SLOW)

    def release(self, fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        self.thread_lock.release()


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    database = engine.url.database or ""
    queue = WriterQueue(os.path.abspath(database)) \
        if database and database != ":memory:" and not database.startswith("file:") else None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()
        if queue is not None:
            record.info["writer_fd"] = queue.open()

    def _begin_immediate(connection: Any) -> None:
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection.in_transaction:
            return
        record = connection.connection._connection_record
        fd = record.info.get("writer_fd") if record is not None else None
        if fd is not None and not record.info.get("writer_turn"):
            record.info["writer_turn"] = queue.acquire(fd, BUSY_TIMEOUT_MS / 1000)
        dbapi_connection.execute("BEGIN IMMEDIATE")

    _WRITE_LOCKS[engine] = _begin_immediate

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if not _reads_first():
            _begin_immediate(connection)
        # else: autocommit reads until the first write (below) or lock_for_write()

    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:6].upper() != "SELECT":
            _begin_immediate(connection)

    def _end_turn(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
        if record is not None and record.info.pop("writer_turn", False):
            queue.release(record.info["writer_fd"])

    def _end_transaction(connection: Any, statement: str) -> None:
        # SQLAlchemy's commit and rollback events come before the driver's
        # call. The transaction was opened here (BEGIN IMMEDIATE), so it is
        # ended here too, and the turn handed on at once, not when the
        # connection goes back to the pool: code run after a commit (an
        # on_commit callback) may write on another connection.
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection.in_transaction:
            try:
                dbapi_connection.execute(statement)  # the driver's own call then has nothing to do
            except sqlite3.Error:
                # Still open: the driver's own call meets the same error, which
                # SQLAlchemy reports as usual; its rollback ends the turn.
                return
        _end_turn(dbapi_connection, connection.connection._connection_record)

    def _close_fd(dbapi_connection: Any, record: Any, *args: Any) -> None:
        _end_turn(dbapi_connection, record)
        fd = record.info.pop("writer_fd", None) if record is not None else None
        if fd is not None:
            os.close(fd)

    if queue is not None:
        event.listen(engine, "commit", lambda connection: _end_transaction(connection, "COMMIT"))
        event.listen(engine, "rollback", lambda connection: _end_transaction(connection, "ROLLBACK"))
        event.listen(engine, "checkin", _end_turn)  # the pool's own rollback, on return
        event.listen(engine, "invalidate", _close_fd)
        event.listen(engine, "close", _close_fd)


def lock_for_write(session: Any) -> None:
    """Hold the write lock from here to the commit, as a transaction that
    began with BEGIN IMMEDIATE does (only a `reads_first` request on SQLite
    does not hold it yet). Read what the writes depend on after this.
    `session` may also be the session's Connection."""
    connection = session if isinstance(session, Connection) else session.connection()
    begin = _WRITE_LOCKS.get(connection.engine)
    if begin is not None:
        begin(connection)


class DriverStatement:
    """A Core statement run through the DB-API connection of the current
    transaction, without SQLAlchemy's machinery around each execution.

    SQLAlchemy still compiles it (once per dialect: the models' table and
    column names, the driver's parameter style, bind casts) and its column
    types' own bind and result processors convert the values, so what is
    stored and read back is what `Connection.execute` would store and read.
    What is skipped is the execution context, result object and event
    dispatch of every call: 40 to 150 µs a statement here, against a few µs
    for the driver. Only for the few statements on the hottest paths (the
    kiosk's Send, the audit chain); everything else goes through SQLAlchemy.

    A write takes the SQLite write lock first (`lock_for_write`), since the
    engine's before_cursor_execute hook does not see it. Driver errors are
    raised as SQLAlchemy's (IntegrityError and the rest), as usual.
    """

    def __init__(self, statement: Any):
        self.statement = statement
        self.returns_rows = len(statement.exported_columns) > 0  # a SELECT, or DML with RETURNING
        self.writes = not isinstance(statement, Select)
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Any) -> "_Compiled":
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            if compiled.literal_execute_params or compiled.post_compile_params:
                raise NotImplementedError("expanding or literal-execute parameters need Connection.execute")
            processors = {}
            for name, bind in compiled.binds.items():
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors[name] = process
            results = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                       for column in self.statement.exported_columns] if self.returns_rows else []
            found = self._compiled[dialect.name] = _Compiled(
                compiled.string, tuple(compiled.positiontup) if compiled.positiontup else None,
                {k: v for k, v in compiled.params.items() if v is not None}, processors,
                results if any(results) else None)
        return found

    def _cursor(self, connection: Connection) -> Any:
        if self.writes:
            lock_for_write(connection)
        return connection.connection.driver_connection.cursor()

    def _call(self, connection: Connection, compiled: "_Compiled", run: Any, params: Any) -> Any:
        try:
            return run(compiled.sql, params)
        except connection.dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(compiled.sql, None, error, connection.dialect.loaded_dbapi.Error,
                                      hide_parameters=True, dialect=connection.dialect) from error

    def rows(self, connection: Connection, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Execute with `params` (by bind name); the rows, values converted."""
        compiled = self._for(connection.dialect)
        cursor = self._cursor(connection)
        self._call(connection, compiled, cursor.execute, compiled.parameters(params or {}))
        rows = cursor.fetchall() if self.returns_rows else []
        if compiled.results is not None:
            rows = [tuple(value if process is None or value is None else process(value)
                          for process, value in zip(compiled.results, row)) for row in rows]
        return rows

    def run_many(self, connection: Connection, params: list[Mapping[str, Any]]) -> None:
        """Execute once per parameter set (an executemany), returning nothing."""
        compiled = self._for(connection.dialect)
        cursor = self._cursor(connection)
        self._call(connection, compiled, cursor.executemany, [compiled.parameters(p) for p in params])


@dataclass(frozen=True)
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # positional parameter styles: the bind names in order
    defaults: dict[str, Any]  # values bound in the statement itself (a LIMIT)
    processors: dict[str, Any]
    results: list[Any] | None

    def parameters(self, params: Mapping[str, Any]) -> Any:
        values = {**self.defaults, **params} if self.defaults else dict(params)
        for name, process in self.processors.items():
            if name in values:
                values[name] = process(values[name])
        return values if self.order is None else tuple(values[name] for name in self.order)


def reads_first(view: Any) -> Any:
    """Mark a view whose reads need no write lock: on SQLite its request reads
    outside any transaction and takes the write lock at its first write, so
    other requests write meanwhile. The view must make its writes conditional
    on what it read (a DELETE or UPDATE that checks the row is unchanged)."""
    view.reads_first = True
    return view


def start_reads_first() -> None:
    """The same for work outside a request (the worker's bulk export): from
    here on, in this app context, reads take no write lock."""
    from flask import g

    g.reads_first = True


def _reads_first() -> bool:
    from flask import g, has_app_context

    return has_app_context() and bool(g.get("reads_first"))


def init_app(app: "Flask") -> None:
    """Marks each request's view as `reads_first` or not, before any hook reads."""

    @app.before_request
    def mark_reads_first() -> None:
        from flask import g, request

        view = app.view_functions.get(request.endpoint or "")
        g.reads_first = bool(getattr(view, "reads_first", False))


def commit_at_the_edge(app: "Flask") -> None:
    """One commit per request, at the edge: services only flush. A response
    of 400 or more (a form shown again with errors is 422) rolls back, so a
    failed request never leaves half its writes behind.

    Register it after every other app-wide after_request hook: Flask runs
    them last-registered first, so the commit comes straight after the view
    (and its blueprint's hooks), and a SQLite writer holds the write lock no
    longer than that, not through the header hooks as well."""
    from intake.extensions import db

    @app.after_request
    def commit_or_rollback(response: Any) -> Any:
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response


def on_commit(callback: Any) -> None:
    """Run `callback()` once the current transaction commits (and never if it
    rolls back): how work is queued for the worker, which must see the rows."""
    from intake.extensions import db

    db.session.info.setdefault("on_commit", []).append(callback)


def _run_on_commit(session: Any) -> None:
    for callback in session.info.pop("on_commit", []):
        callback()


def _drop_on_rollback(session: Any) -> None:
    session.info.pop("on_commit", None)


event.listen(Session, "after_commit", _run_on_commit)
event.listen(Session, "after_soft_rollback", lambda session, _tx: _drop_on_rollback(session))
