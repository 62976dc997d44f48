"""The schedule in real Chromium: book from the open times as the desk
chooses a type, reschedule (a break refused in words, then a good time),
the board built from today's appointments (arrive, cancel after a confirm),
and the walk-in screen from a search with no match. axe-core checks each
new page. Synthetic people only."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from intake.extensions import db
from tests.browser.test_desk_day import sign_in, status
from tests.conftest import payer_id

pytestmark = pytest.mark.browser


@pytest.fixture
def office(app, create_patient, create_provider, create_user):
    from intake.models import AppointmentType, Provider
    from intake.services.schedule import hours

    pid = create_patient(family_name="Okafor", given_name="Adaeze", phone_mobile="+12175550121")
    dr = create_provider()
    _, username = create_user("receptionist")
    with app.app_context():
        kind = AppointmentType(name="Follow-up", minutes=20)
        db.session.add(kind)
        db.session.flush()
        blocks = []
        for wd in range(7):  # every day, so "now" has hours whenever the test runs
            blocks += [{"weekday": wd, "starts": time(0), "ends": time(23, 55)}]
        blocks += [{"weekday": wd, "starts": time(12), "ends": time(13), "kind": "break"}
                   for wd in range(7)]
        hours.save_template(db.session.get(Provider, dr), date(2020, 1, 6), blocks)
        db.session.commit()
        return {"patient": pid, "provider": dr, "type": kind.id, "user": username}


def test_book_from_open_times_then_reschedule(page, office, assert_accessible):
    sign_in(page, office["user"])
    page.goto(f"/staff/patients/{office['patient']}")
    page.get_by_role("link", name="Book appointment", exact=True).click()
    page.get_by_label("Appointment type", exact=True).select_option(label="Follow-up (20 min)")
    first = page.locator("#open-slots button.slot").first
    expect(first).to_contain_text("Jane Hartley, MD", timeout=20_000)  # fetched as chosen
    first.click()
    expect(page.get_by_label("Time", exact=True)).not_to_have_value("")
    page.get_by_label("Reason", exact=True).fill("Blood pressure check")
    assert_accessible(page, "booking form")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(status(page)).to_have_text("Appointment booked.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Follow-up")

    # Into the lunch break: refused in words beside the date, the time kept.
    tomorrow = (datetime.now() + timedelta(days=2)).date().isoformat()
    page.get_by_label("New date", exact=True).fill(tomorrow)
    page.get_by_label("New time", exact=True).fill("12:20")
    page.get_by_role("button", name="Move appointment", exact=True).click()
    expect(page.locator("#day-error")).to_contain_text("has a break from 12:00 to 13:00")
    expect(page.get_by_label("New time", exact=True)).to_have_value("12:20")
    assert_accessible(page, "appointment page, move refused")
    page.get_by_label("New time", exact=True).fill("14:40")
    page.get_by_role("button", name="Move appointment", exact=True).click()
    expect(status(page)).to_have_text("Appointment moved.")
    history = page.locator("table").last
    expect(history).to_contain_text("moved: from")
    expect(history).to_contain_text("14:40")
    expect(history).to_contain_text(office["user"])


def test_the_board_from_todays_appointments(app, page, office, create_patient,
                                            assert_accessible):
    from intake.services.clock import practice_zone
    from intake.services.schedule import booking

    second = create_patient(family_name="Brennan", given_name="Siobhan",
                            phone_mobile="+12175550122")
    with app.app_context():
        now = datetime.now(practice_zone())
        base = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
        for pid, offset in ((office["patient"], -30), (second, 0)):
            booking.book({"patient_id": pid, "provider_id": office["provider"],
                          "type_id": office["type"], "overbook_reason": "browser test",
                          "start": max(base + timedelta(minutes=offset),
                                       base.replace(hour=0, minute=0))})
        db.session.commit()
    sign_in(page, office["user"])
    page.get_by_role("link", name="Today's board", exact=True).click()
    board = page.locator("table.board")
    rows = board.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Okafor, Adaeze")  # time order
    if base.hour or base.minute >= 30:
        expect(rows.nth(0)).to_contain_text("late")
    assert_accessible(page, "board from appointments")

    # Cancel asks first, with the reason.
    rows.nth(1).get_by_role("link", name=re.compile("^Cancel Brennan")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel this appointment?")
    assert_accessible(page, "cancel confirmation")
    page.get_by_label("Reason for cancelling", exact=True).fill("Called: feeling better")
    page.get_by_role("button", name="Yes, cancel it", exact=True).click()
    expect(status(page)).to_have_text("Appointment cancelled.")
    expect(rows.nth(1)).to_contain_text("Cancelled")

    rows.nth(0).get_by_role("button", name=re.compile("^Arrived Okafor")).click()
    expect(status(page)).to_have_text("Arrived.")
    expect(rows.nth(0)).to_contain_text("Arrived")
    expect(rows.nth(0).get_by_role("link", name=re.compile("^Check in Okafor"))).to_be_visible()


def test_walk_in_on_one_screen(app, page, office, assert_accessible):
    sign_in(page, office["user"])
    page.get_by_label("Name, date of birth, phone or MRN", exact=True).fill(
        "Nakamura Keiko 09/21/1990")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("button", name="Walk-in: register and arrive now", exact=True).click()
    expect(page.get_by_label("Family (last) name", exact=True)).to_have_value("Nakamura")
    expect(page.get_by_label("Given (first) name", exact=True)).to_have_value("Keiko")
    expect(page.get_by_label("Date of birth", exact=True)).to_have_value("1990-09-21")
    assert_accessible(page, "walk-in screen")
    page.get_by_label("Sex (administrative)", exact=True).select_option("female")
    page.get_by_label("Mobile phone", exact=True).fill("(217) 555-0133")
    primary = page.locator("fieldset", has_text="Insurance (primary)")
    primary.get_by_label("Payer", exact=True).select_option(str(payer_id(app)))
    # Member id left out: refused beside the field, everything else kept.
    page.get_by_label("Provider", exact=True).select_option(str(office["provider"]))
    page.get_by_label("Reason for visit", exact=True).fill("Sprained wrist")
    page.get_by_role("button", name="Register and mark arrived", exact=True).click()
    expect(page.locator("#primary-member_id-error")).to_have_text("Enter the member id from the card.")
    expect(page.get_by_label("Reason for visit", exact=True)).to_have_value("Sprained wrist")
    expect(page.get_by_label("Mobile phone", exact=True)).not_to_have_value("")
    assert_accessible(page, "walk-in screen with an error")
    primary.get_by_label("Member id", exact=True).fill("W123456789")
    page.get_by_role("button", name="Register and mark arrived", exact=True).click()
    expect(status(page)).to_contain_text("and arrived.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Arrived")
