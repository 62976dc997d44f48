"""Shared fixtures: an app on a fresh real database per test (a SQLite file,
or PostgreSQL when INTAKE_TEST_DATABASE_URL is set), clients per role, the
CLI runner and factories."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import date
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from intake import create_app
from intake.config import normalise_database_url
from intake.extensions import db

TEST_PASSWORD = "test-password-123"
PG_URL = os.environ.get("INTAKE_TEST_DATABASE_URL")


def _app(instance: Path, database_url: str, **extra: Any) -> Flask:
    os.environ["INTAKE_INSTANCE_PATH"] = str(instance)
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "INTAKE_UPLOAD_DIR": str(instance / "uploads"),
        # Cheap hashes in tests; production keeps argon2-cffi's defaults.
        "INTAKE_ARGON2_TIME_COST": 1,
        "INTAKE_ARGON2_MEMORY_KIB": 1024,
        # Tests sign in hundreds of times from 127.0.0.1; test_security
        # turns the limiter on where it is under test.
        "RATELIMIT_ENABLED": False,
        **extra,
    }
    return create_app(config)


def _migrate(app: Flask) -> None:
    from flask_migrate import upgrade

    from intake.services.payers import seed_payers

    with app.app_context():
        upgrade()
        seed_payers()
        db.session.commit()
        db.engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def tasks_run_at_once() -> Iterator[None]:
    """The worker's tasks run in-process as they are queued (after the commit
    that queues them), in a fresh app context of the test's app."""
    from intake import tasks

    tasks.huey.immediate = True
    yield
    tasks.huey.immediate = False


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Run the migrations once per session; each test then gets a copy (SQLite)
    or a truncated schema (PostgreSQL). Migrations are the only schema path."""
    base = tmp_path_factory.mktemp("template")
    if PG_URL:
        url = normalise_database_url(PG_URL)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        _migrate(_app(base, url))
        return url
    path = base / "template.db"
    _migrate(_app(base, f"sqlite:///{path}"))
    return str(path)


def fresh_database(template: str, instance: Path) -> str:
    if PG_URL:
        engine = create_engine(template)
        with engine.begin() as conn:
            tables = [r[0] for r in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename NOT IN ('alembic_version', 'payers')"))]
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return template
    path = instance / "intake.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def make_app(migrated_template: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build the app on a fresh database; extra config as keyword arguments."""
    made: list[Flask] = []
    url = fresh_database(migrated_template, tmp_path)

    def factory(**extra: Any) -> Flask:
        from intake import tasks

        app = _app(tmp_path, url, **extra)
        made.append(app)
        tasks.bind_app(app)  # background tasks run against this test's app
        return app

    yield factory
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


# ---- factories -----------------------------------------------------------

@pytest.fixture
def create_user(app: Flask) -> Callable[..., Any]:
    from intake.services import users

    def factory(role: str = "receptionist", username: str | None = None,
                password: str = TEST_PASSWORD) -> Any:
        with app.app_context():
            user = users.create_user(username or f"{role}{_counter()}", password, role)
            db.session.commit()
            return user.id, user.username
    return factory


_n = [0]


def _counter() -> int:
    _n[0] += 1
    return _n[0]


def patient_fields(**overrides: Any) -> dict[str, Any]:
    data = {
        "family_name": "Wójcik", "given_name": "Łukasz", "birth_date": date(1980, 3, 14),
        "sex": "male", "address_line1": "12 Elm Street", "city": "Springfield",
        "state": "IL", "postal_code": "62704", "phone_mobile": "+12175550143",
        "email": "lukasz@example.com", "preferred_language": "pl", "races": ["2106-3"],
    }
    data.update(overrides)
    return data


@pytest.fixture
def create_patient(app: Flask) -> Callable[..., int]:
    from intake.services import patients

    def factory(**overrides: Any) -> int:
        with app.app_context():
            patient = patients.register_patient(patient_fields(**overrides), confirm_new=True)
            db.session.commit()
            return patient.id
    return factory


def payer_id(app: Flask, kind: str = "commercial") -> int:
    from intake.models import Payer

    with app.app_context():
        return db.session.execute(db.select(Payer.id).filter_by(kind=kind)
                                  .order_by(Payer.id)).scalars().first()


@pytest.fixture
def create_coverage(app: Flask) -> Callable[..., int]:
    from intake.models import Patient
    from intake.services import coverages

    def factory(patient_id: int, kind: str = "commercial", rank: int | None = None,
                **overrides: Any) -> int:
        data = {"payer_id": payer_id(app, kind), "member_id": "XYZ123456789",
                "group_number": "G-100", "copay_cents": 2500, "relationship_code": "self",
                "effective_date": date(2025, 1, 1)}  # in force on FY2026_DAY
        data.update(overrides)
        with app.app_context():
            coverage = coverages.add_coverage(db.session.get(Patient, patient_id), data, rank=rank)
            db.session.commit()
            return coverage.id
    return factory


VALID_NPI = "1234567893"  # the CMS documentation example
# Inside every bundled table: ICD-10-CM FY2026 and HCPCS/modifiers 2025.
FY2026_DAY = date(2025, 11, 14)


@pytest.fixture
def create_provider(app: Flask) -> Callable[..., int]:
    from intake.services import practice

    def factory(npi: str = VALID_NPI, **overrides: Any) -> int:
        data = {"family_name": "Hartley", "given_name": "Jane", "credentials": "MD", "npi": npi,
                "taxonomy": "207Q00000X", "active": True, **overrides}
        with app.app_context():
            provider = practice.save_provider(None, data)
            db.session.commit()
            return provider.id
    return factory


@pytest.fixture
def create_visit(app: Flask, create_provider: Callable[..., int]) -> Callable[..., int]:
    from intake.models import Patient
    from intake.services import visits

    def factory(patient_id: int, day: date | None = None, provider_id: int | None = None,
                **overrides: Any) -> int:
        with app.app_context():
            from intake.services.clock import today
            pid = provider_id or _provider_id(app) or create_provider()
            data = {"provider_id": pid, "date_of_service": day or today(),
                    "place_of_service": "11", "reason": "Follow-up", **overrides}
            visit = visits.create_visit(db.session.get(Patient, patient_id), data)
            db.session.commit()
            return visit.id
    return factory


def check_out_past_visit(visit: Any) -> None:
    """Fill in a past scheduled visit's day up to check-out (inside an app
    context): only a visit that happened can have its charges billed."""
    from datetime import datetime, time, timedelta, timezone

    from intake.services import visits

    start = datetime.combine(visit.date_of_service, time(14), timezone.utc)
    steps = ("arrived", "checked_in", "with_provider", "checked_out")
    visits.record_past_day(visit, {s: start + timedelta(minutes=10 * n) for n, s in enumerate(steps)},
                           note="test")


def _provider_id(app: Flask) -> int | None:
    from intake.models import Provider

    with app.app_context():
        return db.session.execute(db.select(Provider.id).order_by(Provider.id)).scalars().first()


# ---- a real server on loopback -----------------------------------------------

@dataclass
class LiveServer:
    app: Flask
    url: str

    def __call__(self, path: str = "/") -> str:
        return self.url + path


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---- clients per role ------------------------------------------------------

def login(client: FlaskClient, username: str, password: str = TEST_PASSWORD) -> Any:
    return client.post("/login", data={"username": username, "password": password})


@pytest.fixture
def client_as(app: Flask, create_user: Callable[..., Any]) -> Callable[[str], FlaskClient]:
    """A signed-in test client for a role: client_as("receptionist")."""

    def factory(role: str) -> FlaskClient:
        _, username = create_user(role)
        c = app.test_client()
        response = login(c, username)
        assert response.status_code == 302, response.status_code
        return c
    return factory


@pytest.fixture
def desk(client_as: Callable[[str], FlaskClient]) -> FlaskClient:
    return client_as("receptionist")


@pytest.fixture
def admin_client(client_as: Callable[[str], FlaskClient]) -> FlaskClient:
    return client_as("admin")
