from __future__ import annotations

import re
from datetime import timedelta

from intake.cli import cli
from intake.extensions import db
from intake.models import Coverage, Patient, User


def test_init_creates_admin_once_and_prints_password_once(app, runner, monkeypatch):
    monkeypatch.delenv("INTAKE_ADMIN_PASSWORD", raising=False)
    result = runner.invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    assert "with password:" in result.output
    password = result.output.split("with password:")[1].split()[0]
    again = runner.invoke(cli, ["init"])
    assert again.exit_code == 0 and "password" not in again.output
    from intake.services import users
    with app.app_context():
        assert users.authenticate("admin", password) is not None
        db.session.rollback()


def test_init_takes_admin_password_from_environment(app, runner, monkeypatch):
    monkeypatch.setenv("INTAKE_ADMIN_PASSWORD", "a-chosen-password-99")
    result = runner.invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    assert "a-chosen-password-99" not in result.output
    from intake.services import users
    with app.app_context():
        assert users.authenticate("admin", "a-chosen-password-99") is not None
        db.session.rollback()


def test_users_create_from_stdin(app, runner):
    result = runner.invoke(cli, ["users", "create", "Frontdesk1", "--role", "receptionist",
                                 "--password-stdin"], input="long-enough-pass\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(username="frontdesk1")).scalar_one()
        assert user.role == "receptionist"
        assert "long-enough-pass" not in user.password_hash


def test_users_create_refuses_short_password(app, runner):
    result = runner.invoke(cli, ["users", "create", "x", "--role", "billing", "--password-stdin"],
                           input="short\n")
    assert result.exit_code == 1
    assert "at least 12" in result.output


def test_users_create_prompts(app, runner):
    result = runner.invoke(cli, ["users", "create", "biller", "--role", "billing"],
                           input="prompted-password\nprompted-password\n")
    assert result.exit_code == 0, result.output


def test_demo_creates_synthetic_patients(app, runner):
    result = runner.invoke(cli, ["demo", "--patients", "12", "--seed", "7"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Patient.id))) == 12
        assert db.session.scalar(db.select(db.func.count(Coverage.id))) >= 8
        ranks = db.session.execute(db.select(Coverage.patient_id, Coverage.rank)).all()
        assert len(ranks) == len(set(ranks))
        from intake.models import KioskSubmission, Visit
        assert db.session.scalar(db.select(db.func.count(KioskSubmission.id))) == 3
        assert db.session.scalar(db.select(db.func.count(Visit.id))) >= 1
        # Past visits went through the board's moves, each with its time.
        from intake.models import VisitEvent

        for visit in db.session.execute(db.select(Visit).filter_by(state="checked_out")).scalars():
            events = sorted(visit.events, key=lambda e: e.id)  # "scheduled" is stamped when entered
            assert [e.to_state for e in events] == ["scheduled", "arrived", "checked_in",
                                                     "with_provider", "checked_out"]
            assert visit.arrived_at <= visit.checked_in_at <= visit.roomed_at <= visit.checked_out_at
            assert visit.checked_out_at.date() == visit.date_of_service
            assert isinstance(events[-1], VisitEvent) and events[-1].note == "demo history"


def test_demo_is_believable_and_says_what_it_made(app, runner, create_user):
    """Ages fit coverages, history spread over weeks and staff, copays dated
    when they were taken; it prints what it made and how to enroll the kiosk."""
    from intake.models import KioskDevice, Payment, Visit
    from intake.services import kiosk
    from intake.services.demo import age

    create_user("receptionist")
    create_user("receptionist")
    result = runner.invoke(cli, ["demo", "--patients", "60", "--seed", "11", "--kiosk", "2"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Added 60 synthetic patients with coverages, \d+ visits .*"
                     r"\d+ copays taken by \d+ staff accounts, \d+ appointments and "
                     r"2 kiosk submissions to review\.", result.output), result.output
    code = result.output.split("/kiosk/enroll on a tablet (or another browser) and type:")[1].split()[0]
    with app.app_context():
        for cov in db.session.execute(db.select(Coverage)).scalars():
            if cov.payer.kind == "medicare":
                assert age(cov.patient.birth_date) >= 65, cov.patient.birth_date
        days = {v.date_of_service for v in db.session.execute(
            db.select(Visit).filter_by(state="checked_out")).scalars()}
        assert len(days) >= 5 and max(days) - min(days) >= timedelta(days=21)
        paid = db.session.execute(db.select(Payment)).scalars().all()
        assert len({p.received_by_id for p in paid}) >= 2
        assert len({p.received_at.date() for p in paid}) >= 5
        for p in paid:
            assert p.amount_cents == next(c.copay_cents for c in p.patient.coverages
                                          if c.is_active and c.copay_cents)
        device, _token = kiosk.enroll(code)
        assert db.session.get(KioskDevice, device.id).name == "Demo tablet"


def test_demo_builds_a_believable_schedule(app, runner):
    from intake.models import Appointment
    from intake.services.clock import today
    from intake.services.schedule import board, finding

    result = runner.invoke(cli, ["demo", "--patients", "12", "--seed", "3", "--kiosk", "0"])
    assert result.exit_code == 0, result.output
    assert "appointments" in result.output
    with app.app_context():
        rows = db.session.execute(db.select(Appointment)).scalars().all()
        zone_today = today()
        past = [a for a in rows if booking_day(a) < zone_today]
        future = [a for a in rows if booking_day(a) > zone_today]
        assert len(rows) > 100
        assert {a.status for a in past} <= {"arrived", "no_show", "cancelled"}
        assert any(a.status == "no_show" for a in past)
        assert all(a.visit.state == "checked_out" for a in past if a.status == "arrived")
        assert {a.status for a in future} <= {"booked", "cancelled"}
        assert any(a.status == "booked" for a in future)
        if zone_today.weekday() < 6:  # Saturday mornings too
            assert board.day_board(zone_today)
        kind = rows[0].type_id
        assert finding.next_open_slots(kind, limit=5)


def booking_day(appt):
    from intake.services.schedule.booking import day_of

    return day_of(appt)


def test_make_run_prints_the_address_on_a_plain_line(capsys, monkeypatch):
    """gunicorn's own lines are JSON; the address someone looks for is not."""
    import runpy
    from pathlib import Path

    monkeypatch.setenv("HOST", "127.0.0.1")
    monkeypatch.setenv("PORT", "5000")
    settings = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))
    settings["when_ready"](object())
    lines = capsys.readouterr().out.splitlines()
    assert "intake is running: open http://localhost:5000/ (stop with Ctrl+C)" in lines
    assert not any("\x1b[" in line or line.startswith("{") for line in lines)
