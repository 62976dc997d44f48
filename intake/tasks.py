"""Background work (bulk export) on Huey: SQLite storage in the instance
folder by default, Redis when INTAKE_HUEY_REDIS_URL is set (several app
servers). Run the worker with `intake worker`; `make run` starts one."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey

ROOT = Path(__file__).resolve().parent.parent


def _make_huey() -> Huey:
    url = os.environ.get("INTAKE_HUEY_REDIS_URL")
    if url:
        return RedisHuey("intake", url=url)
    instance = Path(os.environ.get("INTAKE_INSTANCE_PATH") or ROOT / "instance")
    instance.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("intake", filename=str(instance / "tasks.db"))


huey = _make_huey()
_bound_app: Any = None


def bind_app(app: Any) -> None:
    """Run tasks against this app (tests, and `intake worker`)."""
    global _bound_app
    _bound_app = app


def _app() -> Any:
    global _bound_app
    if _bound_app is None:
        from intake import create_app

        _bound_app = create_app()
    return _bound_app


def _commit_in_app(work: Any) -> None:
    """`work()` in the app's context as one transaction, committed if it returns."""
    from intake.extensions import db

    with _app().app_context():
        try:
            work()
            db.session.commit()
        finally:
            db.session.remove()


@huey.task()
def run_bulk_export(job_id: str) -> None:
    from intake.extensions import db
    from intake.services import bulk

    with _app().app_context():
        try:
            bulk.run_export(job_id)
        finally:
            db.session.remove()


@huey.periodic_task(crontab(minute="*/15"))
def purge_expired_exports() -> None:
    from intake.services import bulk

    _commit_in_app(bulk.purge_expired)


@huey.periodic_task(crontab(minute="*/15"))
def purge_saved_searches() -> None:
    """FHIR POST searches' saved terms, once their paging links have expired."""
    from intake.services import fhir_api

    _commit_in_app(fhir_api.purge_expired_searches)


@huey.periodic_task(crontab(minute="*/10"))
def purge_kiosk_drafts() -> None:
    """Expired kiosk drafts and unreferenced kiosk pictures, off the request path."""
    from intake.services import kiosk

    _commit_in_app(kiosk.purge_expired)


def anchor_due(moment: datetime) -> bool:
    """Every INTAKE_AUDIT_ANCHOR_MINUTES minutes of the day (0: never); read
    from the app's config so instance/config.py can set it too."""
    every = int(_app().config.get("INTAKE_AUDIT_ANCHOR_MINUTES") or 0)
    return every > 0 and (moment.hour * 60 + moment.minute) % every == 0


@huey.periodic_task(anchor_due)
def anchor_audit_chain() -> None:
    """Write the audit chain's head to the anchor file, outside the database:
    deleting the newest rows is then caught by `intake audit verify`."""
    from intake.extensions import db
    from intake.services import audit

    with _app().app_context():
        try:
            audit.anchor()
        finally:
            db.session.rollback()  # a read, but on SQLite it holds the write lock
            db.session.remove()


@huey.task()
def scan_duplicates(scan_id: int) -> None:
    """The practice-wide duplicates scan (services/worklist.py)."""
    from intake.extensions import db
    from intake.services import worklist

    with _app().app_context():
        try:
            worklist.run_scan(scan_id)
        finally:
            db.session.remove()
