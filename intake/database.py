"""Database engine set-up that the ORM does not do for us.

SQLite: WAL so readers never block the writer, foreign keys on, every commit
fsynced (synchronous=FULL), a 5 s busy timeout, and every transaction opened
with BEGIN IMMEDIATE. pysqlite's own transaction handling opens transactions
lazily and upgrades locks mid-way, which under two writer processes lost
updates or raised "database is locked" (DESIGN.md); taking the write lock at
BEGIN serialises writers cleanly, and SQLite's busy timeout makes the next
writer wait its turn. Every request that shows a chart also writes an audit
row, so there is no read-only transaction worth a special case.

The one exception is a connection opened with the standard
`isolation_level="AUTOCOMMIT"` execution option: it has no transaction, so
its reads take no lock (the bulk export reads that way, and writes its job's
progress through the ordinary session).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from flask import Flask

BUSY_TIMEOUT_MS = 5000


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            connection.exec_driver_sql("BEGIN IMMEDIATE")


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
