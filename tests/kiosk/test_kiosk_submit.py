"""Send: the draft, validated again, is submitted once."""

from __future__ import annotations

from intake.extensions import db
from intake.models import AuditEvent, KioskDraft, KioskSubmission
from tests.kiosk.factories import enrolled_client, fill_intake


def _submissions(app) -> list[KioskSubmission]:
    with app.app_context():
        subs = list(db.session.execute(db.select(KioskSubmission).order_by(KioskSubmission.id)).scalars())
        db.session.expunge_all()
        return subs


def _drafts(app) -> int:
    with app.app_context():
        return len(db.session.execute(db.select(KioskDraft.id)).all())


def test_send_submits_the_draft_once(app, tablet):
    fill_intake(tablet, app, cards=False, submit=False)
    assert tablet.get("/kiosk/review").status_code == 200
    session_cookie = tablet.get_cookie("intake_kiosk_session", path="/kiosk").value

    first = tablet.post("/kiosk/submit")
    assert first.headers["Location"].endswith("/kiosk/done")
    # The same Send again (a double tap replaying the old cookie): no second submission.
    tablet.set_cookie("intake_kiosk_session", session_cookie, path="/kiosk")
    again = tablet.post("/kiosk/submit")
    assert again.status_code == 302 and again.headers["Location"].endswith("/kiosk/")

    subs = _submissions(app)
    assert len(subs) == 1 and _drafts(app) == 0
    assert subs[0].data["patient"]["given_name"] == "Zoë"
    assert [c["kind"] for c in subs[0].data["consents"]] == ["treatment", "privacy", "financial",
                                                             "communication"]
    assert subs[0].data["patient"]["birth_date"] == "1985-07-09"
    assert subs[0].data["patient"]["phone_mobile"] == "+18475550111"
    with app.app_context():
        sends = db.session.execute(db.select(AuditEvent).filter_by(action="kiosk.submit")).scalars().all()
        assert [e.object_id for e in sends] == [subs[0].id]
        assert sends[0].actor.startswith("kiosk-")


def test_a_change_after_review_is_validated_and_sent(app, tablet):
    fill_intake(tablet, app, cards=False, submit=False)
    assert tablet.get("/kiosk/review").status_code == 200
    # Back to the contact step in the same session, a new mobile number.
    from tests.kiosk.factories import CONTACT

    response = tablet.post("/kiosk/step/contact", data={**CONTACT, "phone_mobile": "(847) 555-0177"})
    assert response.status_code == 302
    assert tablet.post("/kiosk/submit").headers["Location"].endswith("/kiosk/done")
    assert _submissions(app)[0].data["patient"]["phone_mobile"] == "+18475550177"


def test_a_change_that_breaks_a_step_goes_back_to_it(app, tablet):
    fill_intake(tablet, app, cards=False, submit=False)
    assert tablet.get("/kiosk/review").status_code == 200
    from tests.kiosk.factories import CONTACT

    tablet.post("/kiosk/step/contact", data={**CONTACT, "postal_code": "6020"})  # kept, not valid
    response = tablet.post("/kiosk/submit")
    assert response.status_code == 303 and response.headers["Location"].endswith("/kiosk/step/contact")
    assert _submissions(app) == [] and _drafts(app) == 1


def test_send_without_a_review_page_validates_everything(app, tablet):
    fill_intake(tablet, app, cards=False, submit=False)  # the review page never shown
    assert tablet.post("/kiosk/submit").headers["Location"].endswith("/kiosk/done")
    assert len(_submissions(app)) == 1 and _drafts(app) == 0


def test_another_tablet_cannot_send_this_draft(app, tablet):
    fill_intake(tablet, app, cards=False, submit=False)
    assert tablet.get("/kiosk/review").status_code == 200
    other = enrolled_client(app, "Second tablet")
    other.set_cookie("intake_kiosk_session",
                     tablet.get_cookie("intake_kiosk_session", path="/kiosk").value, path="/kiosk")
    response = other.post("/kiosk/submit")
    assert response.status_code == 302 and response.headers["Location"].endswith("/kiosk/")
    assert _submissions(app) == [] and _drafts(app) == 1


def test_an_old_device_token_cannot_send(app, tablet, admin_client):
    """The tablet was enrolled again elsewhere (a new token) after its review
    page, and its draft is still there: nothing is sent, and the tablet is
    told it is not enrolled."""
    from intake.models import KioskDevice

    fill_intake(tablet, app, cards=False, submit=False)
    assert tablet.get("/kiosk/review").status_code == 200
    with app.app_context():
        device = db.session.execute(db.select(KioskDevice)).scalar_one()
        device.token_hash = "0" * 64
        db.session.commit()
    response = tablet.post("/kiosk/submit")
    assert response.status_code == 403
    assert _submissions(app) == [] and _drafts(app) == 1
    with app.app_context():
        assert not db.session.execute(db.select(AuditEvent).filter_by(action="kiosk.submit")).first()


def test_a_revoked_tablet_cannot_send(app, tablet, admin_client):
    fill_intake(tablet, app, cards=False, submit=False)
    assert tablet.get("/kiosk/review").status_code == 200
    from intake.models import KioskDevice

    with app.app_context():
        device_id = db.session.execute(db.select(KioskDevice.id)).scalar_one()
    assert admin_client.post(f"/admin/kiosks/{device_id}/revoke").status_code == 302
    assert tablet.post("/kiosk/submit").status_code == 403
    assert _submissions(app) == [] and _drafts(app) == 0


def test_an_expired_draft_is_not_sent(make_app):
    app = make_app(INTAKE_KIOSK_IDLE_TIMEOUT_SECONDS=3600)
    tablet = enrolled_client(app)
    fill_intake(tablet, app, cards=False, submit=False)
    assert tablet.get("/kiosk/review").status_code == 200
    with app.app_context():
        from datetime import timedelta

        from intake.models.base import utcnow

        draft = db.session.execute(db.select(KioskDraft)).scalar_one()
        draft.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = tablet.post("/kiosk/submit")
    assert response.status_code == 302 and response.headers["Location"].endswith("/kiosk/")
    assert _submissions(app) == []


def test_two_sends_of_one_draft_at_once_make_one_submission(app):
    """The draft is read locked (FOR UPDATE on PostgreSQL, the write lock on
    SQLite): the second Send waits for the first and then finds it gone."""
    import threading

    rounds = 6
    for _ in range(rounds):
        tablet = enrolled_client(app)
        fill_intake(tablet, app, cards=False, submit=False)
        assert tablet.get("/kiosk/review").status_code == 200
        cookies = {"intake_kiosk_session": tablet.get_cookie("intake_kiosk_session", path="/kiosk").value,
                   "intake_kiosk_device": tablet.get_cookie("intake_kiosk_device", path="/kiosk").value}
        barrier = threading.Barrier(2)
        results: list[str] = []

        def send(cookies: dict[str, str], barrier: threading.Barrier, results: list[str]) -> None:
            client = app.test_client()
            for name, value in cookies.items():
                client.set_cookie(name, value, path="/kiosk")
            barrier.wait()
            results.append(client.post("/kiosk/submit").headers.get("Location", "?"))

        threads = [threading.Thread(target=send, args=(cookies, barrier, results)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(r.rsplit("/kiosk", 1)[1] for r in results) == ["/", "/done"], results
    assert len(_submissions(app)) == rounds and _drafts(app) == 0
