"""Schema and engine behaviour on the real databases."""

from __future__ import annotations

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from intake.extensions import db


def test_migrations_produce_the_models_schema(app):
    """The test databases are built by `flask db upgrade` only; the models
    must match them exactly (no drift between create_all and migrations)."""
    with app.app_context():
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_engine_settings(app):
    with app.app_context():
        with db.engine.connect() as conn:
            if db.engine.dialect.name == "postgresql":
                # Names in any script must round-trip.
                assert conn.exec_driver_sql("SHOW server_encoding").scalar() == "UTF8"
                assert conn.exec_driver_sql("SHOW client_encoding").scalar() == "UTF8"
                return
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_sqlite_transactions_take_the_write_lock_at_begin(app):
    """BEGIN IMMEDIATE: while one transaction is open, another writer waits
    from its BEGIN, rather than failing half-way through its work."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql"):
        pytest.skip("SQLite locking; PostgreSQL uses row locks")
    path = uri.removeprefix("sqlite:///")
    with app.app_context():
        with db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")  # opens the transaction
            other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
            conn.rollback()


def test_foreign_keys_are_enforced(app):
    from sqlalchemy.exc import IntegrityError

    from intake.models import Coverage

    with app.app_context():
        db.session.add(Coverage(patient_id=424242, payer_id=1, member_id="X", rank=1))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_request_with_error_saves_nothing(make_app, create_user):
    """A failure half-way through a request rolls back what it had flushed."""
    app = make_app(INTAKE_RAISE_ERRORS=False)
    from intake.models import Patient
    from intake.services import patients

    @app.route("/boom")
    def boom():
        patients.register_patient({"family_name": "Half", "given_name": "Saved",
                                   "birth_date": __import__("datetime").date(1990, 1, 1),
                                   "sex": "female"}, confirm_new=True)
        raise RuntimeError("fails after the flush")

    boom.allowed_roles = frozenset({"public"})
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "Nothing was saved" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Patient.id))) == 0
