"""Background work (bulk export, clean-ups, audit anchors) on Huey: SQLite
storage in the instance folder by default, Redis when INTAKE_HUEY_REDIS_URL
is set (several app servers). Run the worker with `intake worker`; `make
run` starts one.

Nothing is configured at import: `create_app` calls `init_app(app)`, which
chooses the storage from the app's own configuration (defaults,
instance/config.py, the environment) and runs tasks against that app. The
request edge queues a task once its transaction commits
(`database.on_commit`), so the worker sees the rows; services do not queue
tasks themselves, and this module imports them without a cycle."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from huey import crontab
from huey.api import Huey
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from intake import private
from intake.extensions import db
from intake.services import audit, bulk, fhir_api, kiosk


class _AppHuey(Huey):
    """A Huey whose storage is chosen by `init_app`; until then (only at
    import) it keeps tasks in memory."""

    def __init__(self) -> None:
        self.storage_choice: tuple[type, dict[str, Any]] = (MemoryStorage, {})
        super().__init__("intake", utc=True)

    def get_storage(self, **kwargs: Any) -> Any:
        storage_class, options = self.storage_choice
        return storage_class(self.name, **options)


huey = _AppHuey()
_app: Any = None


def init_app(app: Any) -> None:
    """Queue tasks where this app's configuration says, and run them in it."""
    global _app
    url = app.config.get("INTAKE_HUEY_REDIS_URL")
    if url:
        huey.storage_choice = (RedisStorage, {"url": url})
    else:
        private.owner_only_umask()  # the queue's database too
        instance = private.make_dir(Path(app.instance_path))
        huey.storage_choice = (SqliteStorage, {"filename": str(instance / "tasks.db")})
    huey.storage = huey.create_storage()
    _app = app


def _bound_app() -> Any:
    if _app is None:
        raise RuntimeError("intake.tasks: no app; create_app() calls init_app(app)")
    return _app


def _commit_in_app(work: Any) -> None:
    """`work()` in the app's context as one transaction, committed if it returns."""
    with _bound_app().app_context():
        audit.act_as("worker")
        try:
            work()
            db.session.commit()
        finally:
            db.session.remove()


@huey.task()
def run_bulk_export(job_id: str) -> None:
    with _bound_app().app_context():
        audit.act_as("worker")
        try:
            bulk.run_export(job_id)
        finally:
            db.session.remove()


@huey.task(retries=3, retry_delay=300)
def send_reminder_email(appointment_id: int) -> None:
    """One appointment reminder through the practice's SMTP server."""
    from intake.services.schedule import reminders

    _commit_in_app(lambda: reminders.send_one(appointment_id))


@huey.periodic_task(crontab(minute="*/15"))
def purge_expired_exports() -> None:
    _commit_in_app(bulk.purge_expired)


@huey.periodic_task(crontab(minute="*/15"))
def purge_saved_searches() -> None:
    """FHIR POST searches' saved terms, once their paging links have expired."""
    _commit_in_app(fhir_api.purge_expired_searches)


@huey.periodic_task(crontab(minute="*/10"))
def purge_kiosk_drafts() -> None:
    """Expired kiosk drafts and unreferenced kiosk pictures, off the request path."""
    _commit_in_app(kiosk.purge_expired)


def anchor_due(moment: datetime) -> bool:
    """Every INTAKE_AUDIT_ANCHOR_MINUTES minutes of the day (0: never); read
    from the app's config so instance/config.py can set it too."""
    every = int(_bound_app().config.get("INTAKE_AUDIT_ANCHOR_MINUTES") or 0)
    return every > 0 and (moment.hour * 60 + moment.minute) % every == 0


@huey.periodic_task(anchor_due)
def anchor_audit_chain() -> None:
    """Write the audit chain's head to the anchor file, outside the database:
    deleting the newest rows is then caught by `intake audit verify`."""
    with _bound_app().app_context():
        try:
            audit.anchor()
        finally:
            db.session.rollback()  # a read, but on SQLite it holds the write lock
            db.session.remove()


@huey.task()
def scan_duplicates(scan_id: int) -> None:
    """The practice-wide duplicates scan (services/worklist.py)."""
    from intake.services import worklist

    with _bound_app().app_context():
        audit.act_as("worker")
        try:
            worklist.run_scan(scan_id)
        finally:
            db.session.remove()
