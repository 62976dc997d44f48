"""Issue 19 item 10: floods are limited per credential, wherever they come
from: bulk-export kick-offs per API token, kiosk submissions per device (a
copied device cookie shares the original's budget), and the admin sees the
flooding device and revokes it."""

from __future__ import annotations

from intake.extensions import db, limiter
from tests.kiosk.factories import enrolled_client, fill_intake


def _token(app) -> dict[str, str]:
    from intake.services import tokens

    with app.app_context():
        _, plain = tokens.create_token("Back office")
        db.session.commit()
    return {"Authorization": f"Bearer {plain}", "Prefer": "respond-async"}


def test_one_token_cannot_start_export_after_export(make_app):
    app = make_app(RATELIMIT_ENABLED=True, INTAKE_EXPORT_LIMIT="2 per minute")
    limiter.reset()
    flooding, other = _token(app), _token(app)
    codes = []
    for n in range(4):  # from four addresses: the token is what counts
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        codes.append(client.get("/fhir/$export", headers=flooding).status_code)
    assert codes == [202, 202, 429, 429]
    refused = app.test_client().get("/fhir/Patient/$export", headers=flooding)
    assert refused.status_code == 429 and refused.json["resourceType"] == "OperationOutcome"
    assert app.test_client().get("/fhir/$export", headers=other).status_code == 202


def test_a_copied_device_cookie_cannot_flood_and_the_admin_revokes_it(make_app, create_user):
    app = make_app(RATELIMIT_ENABLED=True, INTAKE_KIOSK_SUBMIT_LIMIT="2 per minute",
                   INTAKE_KIOSK_FLOOD_PER_HOUR=2, INTAKE_LOGIN_LIMIT="100 per minute")
    limiter.reset()
    tablet = enrolled_client(app, "Front tablet")
    fill_intake(tablet, app)
    copy = app.test_client()  # the device cookie, copied to another machine
    copy.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    copy.set_cookie("intake_kiosk_device", tablet.get_cookie("intake_kiosk_device",
                                                             path="/kiosk").value, path="/kiosk")
    fill_intake(copy, app)  # the second submission: within the device's budget
    fill_intake(copy, app, submit=False)
    assert copy.get("/kiosk/review").status_code == 200
    assert copy.post("/kiosk/submit").status_code == 429
    fill_intake(tablet, app, submit=False)
    assert tablet.get("/kiosk/review").status_code == 200
    assert tablet.post("/kiosk/submit").status_code == 429  # one budget for the device

    from tests.conftest import login
    _, admin_name = create_user("admin")
    admin = app.test_client()
    assert login(admin, admin_name).status_code == 302
    page = admin.get("/admin/kiosks").get_data(as_text=True)
    assert "Front tablet" in page and "flooding" in page
    from intake.models import KioskDevice
    with app.app_context():
        device_id = db.session.execute(db.select(KioskDevice.id)).scalar_one()
    assert admin.post(f"/admin/kiosks/{device_id}/revoke").status_code == 302
    assert copy.get("/kiosk/step/about").status_code in (302, 403)
    assert "enroll" in copy.get("/kiosk/").get_data(as_text=True).lower()
