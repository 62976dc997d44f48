"""The practice's day, not the server's: at 23:30 in New York a UTC server
is already on the next date, and every "today" must still be the practice's."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from wtforms.validators import ValidationError

from intake.extensions import db

# 23:30 on 10 March 2026 in New York (EDT from the 8th) is 03:30 on the 11th in UTC.
LATE_EVENING = datetime(2026, 3, 11, 3, 30, tzinfo=ZoneInfo("UTC"))  # the server's zone: UTC
PRACTICE_DAY = date(2026, 3, 10)


@pytest.fixture
def late_evening(make_app):
    app = make_app(INTAKE_TIMEZONE="America/New_York")
    with time_machine.travel(LATE_EVENING, tick=False):
        assert date.today() == date(2026, 3, 11)  # the server's date has moved on
        yield app


def test_today_is_the_practices_date(late_evening):
    from intake.services import clock

    with late_evening.app_context():
        assert clock.today() == PRACTICE_DAY


def test_the_past_date_validator_uses_the_practices_date(late_evening):
    from intake.forms.validators import past_date

    with late_evening.test_request_context("/"):
        past_date(None, SimpleNamespace(data=PRACTICE_DAY))  # today is not the future
        with pytest.raises(ValidationError):
            past_date(None, SimpleNamespace(data=date(2026, 3, 11)))  # tomorrow, for the practice


def test_a_two_digit_year_of_tomorrow_in_a_search_is_last_century(late_evening):
    from intake.services import patients

    with late_evening.app_context():
        assert patients.classify_query("03/10/26")["birth_date"] == date(2026, 3, 10)
        assert patients.classify_query("03/11/26")["birth_date"] == date(1926, 3, 11)


def test_a_coverage_ended_without_a_date_ends_on_the_practices_day(late_evening, create_patient):
    from intake.models import Payer
    from intake.services import coverages, patients

    patient_id = create_patient()
    with late_evening.app_context():
        payer = db.session.execute(db.select(Payer).filter_by(kind="commercial")).scalars().first()
        patient = patients.get_patient(patient_id)
        coverage = coverages.add_coverage(patient, {
            "payer_id": payer.id, "member_id": "XJ1234567", "rank": 1,
            "relationship": "self", "effective_date": date(2025, 1, 1)})
        coverages.end_coverage(coverage)
        assert coverage.end_date == PRACTICE_DAY
        db.session.rollback()


def test_staff_pages_show_the_practices_time_with_its_zone(late_evening, client_as):
    """Audit log, kiosk queue and codes, export history: the practice's
    clock and its zone, as visits and receipts already were; never raw UTC."""
    from intake.templating import practice_time

    with late_evening.test_request_context("/"):
        assert practice_time(LATE_EVENING) == "03/10/2026 11:30 PM EDT"
        assert practice_time(LATE_EVENING.replace(tzinfo=None)) == "03/10/2026 11:30 PM EDT"
        assert practice_time(None) == ""
    from tests.kiosk.factories import submit_intake

    submit_intake(late_evening)
    desk = client_as("receptionist")
    queue = desk.get("/staff/kiosk").get_data(as_text=True)
    assert "03/10/2026 11:30 PM EDT" in queue and "UTC" not in queue
    admin = client_as("admin")
    audit_page = admin.get("/admin/audit").get_data(as_text=True)
    assert "11:30:00 PM EDT" in audit_page and "2026-03-11" not in audit_page
    kiosks = admin.get("/admin/kiosks").get_data(as_text=True)
    assert "UTC" not in kiosks and "EDT" in kiosks
