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
        app = _app(tmp_path, url, **extra)  # background tasks run against it (create_app)
        made.append(app)
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
# Inside every bundled table: ICD-10-CM FY2026 (to 2026-09-30) and HCPCS/modifiers 2026.
FY2026_DAY = date(2026, 3, 16)


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


@pytest.fixture
def billable_visit(app: Flask, create_visit: Callable[..., int]) -> Callable[..., int]:
    """A visit of `patient_id` on FY2026_DAY coded as the billing tests need it:
    E11.9 and one 99213 line at $90 pointing at it; `locked=True` also locks
    the charges for billing. Returns the visit's id."""
    from intake.models import Visit
    from intake.services import charges

    def factory(patient_id: int, *, locked: bool = False) -> int:
        visit_id = create_visit(patient_id, day=FY2026_DAY)
        with app.app_context():
            visit = db.session.get(Visit, visit_id)
            check_out_past_visit(visit)  # only a visit that happened is billed
            charges.add_diagnosis(visit, "E11.9")
            charges.save_line(visit, {"code": "99213", "pointers": [1], "unit_price_cents": 9000})
            if locked:
                charges.lock(visit)
            db.session.commit()
        return visit_id
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


# ---- Fixtures shared by several test modules. They live here so pytest finds
# them without imports (an imported fixture used as a parameter is F811).


def setup_week(provider_id: int, *, type_ids: list[int] | None = None) -> None:
    """Mon-Fri 9-17 with lunch 12-13; Saturday mornings."""
    from datetime import time

    from intake.models import Provider
    from intake.services.schedule import hours

    blocks = []
    for wd in range(5):
        blocks += [{"weekday": wd, "starts": time(9), "ends": time(17), "type_ids": type_ids},
                   {"weekday": wd, "starts": time(12), "ends": time(13), "kind": "break"}]
    blocks.append({"weekday": 5, "starts": time(9), "ends": time(12), "type_ids": type_ids})
    hours.save_template(db.session.get(Provider, provider_id), date(2020, 1, 6), blocks)


@pytest.fixture
def schedule_office(app: Flask, create_patient: Callable[..., int],
                    create_provider: Callable[..., int]) -> dict[str, int]:
    """A patient, a provider with a week of hours and two appointment types."""
    from intake.models import AppointmentType

    pid = create_patient()
    dr = create_provider()
    with app.app_context():
        follow = AppointmentType(name="Follow-up", minutes=20, colour="#198754")
        physical = AppointmentType(name="Physical", minutes=40, new_patients=False)
        db.session.add_all([follow, physical])
        db.session.flush()
        setup_week(dr)
        db.session.commit()
        return {"patient": pid, "provider": dr, "follow": follow.id, "physical": physical.id}


@pytest.fixture
def backup_office(app: Flask, create_user: Callable[..., Any], create_patient: Callable[..., int],
                  create_coverage: Callable[..., int], billable_visit: Callable[..., int]) -> dict[str, int]:
    """Patients, coverages, a visit with charges, payments, and their audit rows."""
    from intake.models import Patient
    from intake.services import payments

    staff_id, _ = create_user("receptionist")
    a = create_patient()
    b = create_patient(family_name="Okafor", given_name="Ada", birth_date=date(1990, 5, 6),
                       phone_mobile="+13125550177", email="ada@example.org")
    create_coverage(a)
    create_coverage(b, kind="medicare", member_id="1EG4TE5MK73")
    billable_visit(a)
    with app.app_context():
        for patient_id, cents in ((a, 2500), (b, 4000)):
            payments.record_payment(db.session.get(Patient, patient_id),
                                    {"amount_cents": cents, "kind": "copay", "method": "cash"},
                                    received_by_id=staff_id)
        db.session.commit()
    return {"a": a, "b": b, "staff": staff_id}


@pytest.fixture
def token(app: Flask) -> str:
    """A FHIR API bearer token (the plain value)."""
    from intake.services import tokens

    with app.app_context():
        record, plain = tokens.create_token("Billing back office")
        db.session.commit()
    return plain


@pytest.fixture
def api(client: FlaskClient, token: str) -> Any:
    """GET/POST/DELETE with the bearer token."""

    class Api:
        def get(self, path, **kw):
            headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
            return client.get(path, headers=headers, **kw)

        def post(self, path, **kw):
            headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
            return client.post(path, headers=headers, **kw)

        def delete(self, path):
            return client.delete(path, headers={"Authorization": f"Bearer {token}"})

    return Api()


AUDIT_CHAIN_MIGRATION = Path(__file__).resolve().parent.parent / "intake/migrations/versions/0006_audit_chain.py"


def _audit_chain_migration() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("audit_chain_migration", AUDIT_CHAIN_MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def without_triggers(app: Flask) -> Iterator[None]:
    """Drop the append-only triggers (as an attacker with DDL rights would),
    and put them back afterwards (PostgreSQL keeps one schema per session)."""
    module = _audit_chain_migration()
    with app.app_context():
        dialect = db.engine.dialect.name
        if dialect == "sqlite":
            drops = ["DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"]
            creates = module.SQLITE_TRIGGERS
        else:
            drops = ["DROP TRIGGER audit_events_append_only ON audit_events"]
            creates = module.POSTGRES_TRIGGER[1:]
        for statement in drops:
            db.session.execute(text(statement))
        db.session.commit()
    yield
    with app.app_context():
        db.session.rollback()
        for statement in creates:
            db.session.execute(text(statement))
        db.session.commit()


X12_PRACTICE = {
    "name": "Lakeside Family Medicine", "npi": "1245319599", "tax_id": "12-3456789",
    "default_pos": "11", "address_line1": "100 Main Street", "city": "Springfield",
    "state": "IL", "postal_code": "62704-1234", "phone": "+12175550100",
    "taxonomy": "207Q00000X", "accepts_assignment": True, "submitter_etin": "ETIN12345",
    "billing_contact_name": "Billing Office", "receiver_name": "Example Clearinghouse",
    "receiver_etin": "CLRH0001", "x12_sender_id": "LAKESIDE01", "x12_receiver_id": "CLEARHOUSE",
    "x12_sender_qualifier": "ZZ", "x12_receiver_qualifier": "ZZ",
}
X12_IN_FORCE = date(2025, 1, 1)


@pytest.fixture
def x12_office(app: Flask) -> None:
    """The practice with everything an 837P needs."""
    from intake.services import practice

    with app.app_context():
        practice.save_practice(X12_PRACTICE)
        db.session.commit()


@pytest.fixture
def billed_visit(app: Flask, x12_office: None, create_patient: Callable[..., int],
                 create_coverage: Callable[..., int], create_visit: Callable[..., int]) -> Callable[..., int]:
    """A locked visit with two diagnoses and two lines; returns a factory."""
    from intake.models import Visit
    from intake.services import charges

    def factory(patient_id=None, **coverage):
        pid = patient_id or create_patient()
        if coverage is not None:
            create_coverage(pid, effective_date=coverage.pop("effective_date", X12_IN_FORCE), **coverage)
        vid = create_visit(pid, day=FY2026_DAY)
        with app.app_context():
            visit = db.session.get(Visit, vid)
            check_out_past_visit(visit)  # only a visit that happened is billed
            charges.add_diagnosis(visit, "E11.9")
            charges.add_diagnosis(visit, "I10")
            charges.save_line(visit, {"code": "99213", "pointers": [1, 2], "unit_price_cents": 9000})
            charges.save_line(visit, {"code": "81002", "pointers": [2], "unit_price_cents": 1500,
                                      "modifiers": ["QW"]})
            charges.lock(visit)
            db.session.commit()
        return vid
    return factory


@pytest.fixture
def fhir_world(app: Flask, create_patient: Any, create_coverage: Any, billable_visit: Any) -> dict[str, int]:
    """FHIR API tests: two patients; one with coverage and a coded, locked visit."""
    a = create_patient()
    b = create_patient(family_name="Okafor", given_name="Ada", phone_mobile="+13125550177",
                       email=None, address_line1=None, city=None, state=None, postal_code=None)
    cov = create_coverage(a)
    with app.app_context():
        from intake.services import practice

        practice.save_practice({"name": "Lakeside Family Medicine", "npi": "1245319599",
                                "default_pos": "11"})
        db.session.commit()
    vid = billable_visit(a, locked=True)
    return {"a": a, "b": b, "coverage": cov, "visit": vid}
