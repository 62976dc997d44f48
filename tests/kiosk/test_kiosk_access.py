"""Enrollment, revocation, and the wall between kiosk and staff sessions."""

from __future__ import annotations

from datetime import timedelta

from intake.extensions import db
from intake.models import AuditEvent, KioskDevice
from tests.kiosk.factories import enroll_code, fill_intake


def test_enrollment_code_works_once_and_sets_a_strict_device_cookie(app):
    device_id, code = enroll_code(app)
    with app.app_context():
        device = db.session.get(KioskDevice, device_id)
        assert device.enroll_code_hash and code.replace("-", "") not in device.enroll_code_hash
    client = app.test_client()
    assert client.get("/kiosk/").status_code == 403
    response = client.post("/kiosk/enroll", data={"code": code.lower()})
    assert response.status_code == 302
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("intake_kiosk_device="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/kiosk" in cookie
    assert "Max-Age=" in cookie
    assert client.get("/kiosk/").status_code == 200

    again = app.test_client().post("/kiosk/enroll", data={"code": code})
    assert again.status_code == 200 and b"not valid or has expired" in again.data


def test_expired_code_is_refused(app):
    device_id, code = enroll_code(app)
    with app.app_context():
        device = db.session.get(KioskDevice, device_id)
        device.enroll_code_expires_at -= timedelta(hours=1)
        db.session.commit()
    client = app.test_client()
    client.post("/kiosk/enroll", data={"code": code})
    assert client.get("/kiosk/").status_code == 403


def test_forged_or_foreign_cookie_is_refused(app, tablet):
    client = app.test_client()
    client.set_cookie("intake_kiosk_device", '{"d": 1, "t": "x"}', path="/kiosk")
    assert client.get("/kiosk/").status_code == 403
    # Signed with another key: refused.
    from intake import create_app
    from intake.blueprints.kiosk.access import device_cookie_value

    other = create_app({"SECRET_KEY": "another", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    client.set_cookie("intake_kiosk_device", device_cookie_value(other, 1, "token"), path="/kiosk")
    assert client.get("/kiosk/").status_code == 403


def test_revoking_takes_effect_at_the_next_request_and_wipes_the_draft(app, tablet, admin_client):
    from intake.models import KioskDraft

    assert tablet.post("/kiosk/start", data={"language": "en"}).status_code == 302
    tablet.post("/kiosk/step/about", data={"given_name": "Zoë", "_nav": "next"})
    with app.app_context():
        device_id = db.session.execute(db.select(KioskDevice.id)).scalar()
        assert db.session.execute(db.select(KioskDraft)).scalars().all()
    assert admin_client.post(f"/admin/kiosks/{device_id}/revoke").status_code == 302
    assert tablet.get("/kiosk/step/about").status_code == 403
    assert tablet.get("/kiosk/").status_code == 403
    with app.app_context():
        assert db.session.execute(db.select(KioskDraft)).scalars().all() == []
        assert db.session.get(KioskDevice, device_id).revoked_at is not None


def test_a_staff_session_is_never_valid_on_kiosk_pages(app, desk, admin_client):
    for client in (desk, admin_client):
        assert client.get("/kiosk/").status_code == 403
        assert client.post("/kiosk/start", data={"language": "en"}).status_code == 403
        assert client.get("/kiosk/step/about").status_code == 403


def test_a_signed_in_browser_that_is_also_a_kiosk_acts_as_the_kiosk_only(app, desk):
    """Both cookies in one browser: kiosk pages ignore the staff sign-in (the
    audit names the kiosk, not the receptionist)."""
    _, code = enroll_code(app)
    assert desk.post("/kiosk/enroll", data={"code": code}).status_code == 302
    fill_intake(desk, app)
    with app.app_context():
        submit = db.session.execute(db.select(AuditEvent).filter_by(action="kiosk.submit")).scalar_one()
        assert submit.user_id is None and submit.actor.startswith("kiosk-")
    assert desk.get("/staff/").status_code == 200  # the staff sign-in still works on staff pages


def test_the_kiosk_cookies_grant_nothing_on_staff_pages(app, tablet):
    tablet.post("/kiosk/start", data={"language": "en"})
    device = tablet.get_cookie("intake_kiosk_device", path="/kiosk")
    kiosk_session = tablet.get_cookie("intake_kiosk_session", path="/kiosk")
    assert device is not None and kiosk_session is not None
    thief = app.test_client()
    thief.set_cookie("intake_kiosk_device", device.value, path="/")
    thief.set_cookie("intake_kiosk_session", kiosk_session.value, path="/")
    thief.set_cookie("intake_session", kiosk_session.value, path="/")  # replayed as a staff session
    for url in ("/staff/", "/admin/", "/staff/kiosk", "/admin/kiosks"):
        response = thief.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_session_cookies_sign_as_flask_does_and_the_kiosk_one_stays_on_kiosk_pages(app, tablet):
    """Both cookies are Flask's signed sessions (SHA-1 HMAC, Flask's salt for
    staff, our own for the kiosk): a cookie signed by Flask's stock interface
    opens, and ours open in Flask's."""
    from flask import request
    from flask.sessions import SecureCookieSessionInterface

    from intake.sessions import KioskSession

    class StockKiosk(SecureCookieSessionInterface):
        salt = "intake-kiosk-session"

    response = tablet.post("/kiosk/start", data={"language": "es"})
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("intake_kiosk_session="))
    assert "Path=/kiosk" in cookie and "SameSite=Strict" in cookie and "HttpOnly" in cookie
    assert "Expires=" not in cookie and "Max-Age=" not in cookie  # gone when the browser closes
    value = tablet.get_cookie("intake_kiosk_session", path="/kiosk").value
    stock = StockKiosk().get_signing_serializer(app)
    assert stock.loads(value)["lang"] == "es"  # what we wrote, Flask reads
    signed = stock.dumps({"lang": "pl"})
    with app.test_request_context("/kiosk/", headers={"Cookie": f"intake_kiosk_session={signed}"}):
        opened = app.session_interface.open_session(app, request)
        assert isinstance(opened, KioskSession) and opened["lang"] == "pl"  # what Flask wrote, we read
    staff = SecureCookieSessionInterface().get_signing_serializer(app).dumps({"x": 1})
    with app.test_request_context("/staff/", headers={"Cookie": f"intake_session={staff}"}):
        opened = app.session_interface.open_session(app, request)
        assert not isinstance(opened, KioskSession) and opened["x"] == 1


def test_admin_creates_a_code_shown_once_and_lists_devices(app, admin_client):
    response = admin_client.post("/admin/kiosks", data={"name": "Lobby tablet"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    code = response.get_data(as_text=True).split('id="enrollment-code">')[1].split("<")[0]
    listing = admin_client.get("/admin/kiosks").get_data(as_text=True)
    assert "Lobby tablet" in listing and code not in listing
    assert app.test_client().post("/kiosk/enroll", data={"code": code}).status_code == 302


def test_enrollment_attempts_are_throttled(make_app):
    """Codes cannot be guessed at speed: the eleventh try in a minute from one
    address is refused (429) before any code is looked at."""
    app = make_app(RATELIMIT_ENABLED=True, INTAKE_KIOSK_ENROLL_LIMIT="10 per minute")
    _device_id, code = enroll_code(app)
    client = app.test_client()
    codes = [client.post("/kiosk/enroll", data={"code": f"WRONG{n:05d}"}).status_code
             for n in range(10)]
    assert codes == [200] * 10  # shown again with "not valid" (and audited)
    response = client.post("/kiosk/enroll", data={"code": code})
    assert response.status_code == 429
    assert client.get("/kiosk/").status_code == 403  # the right code came too late
    assert client.get("/kiosk/enroll").status_code == 200  # the page itself still loads
