from __future__ import annotations

import time
from datetime import timedelta

from tests.conftest import TEST_PASSWORD, login


def test_login_and_logout(app, create_user):
    _, username = create_user("receptionist")
    client = app.test_client()
    assert client.get("/staff/").status_code == 302
    response = login(client, username)
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 200
    cookie = client.get_cookie("intake_session")
    assert cookie.http_only and cookie.same_site == "Lax"
    client.post("/logout")
    assert client.get("/staff/").status_code == 302


def test_wrong_password_says_so_without_saying_which(app, create_user):
    _, username = create_user("receptionist")
    client = app.test_client()
    for name, password in ((username, "wrong-password-1"), ("nobody", TEST_PASSWORD)):
        page = login(client, name, password).get_data(as_text=True)
        assert "Wrong username or password." in page


def test_logout_kills_a_copied_cookie(app, create_user):
    """Server-side logout: a cookie saved before logout stops working."""
    _, username = create_user("receptionist")
    client = app.test_client()
    login(client, username)
    stolen = client.get_cookie("intake_session").value
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("intake_session", stolen)
    assert thief.get("/staff/").status_code == 302


def test_login_rotates_the_session(app, create_user):
    _, username = create_user("receptionist")
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as s:
        s["planted"] = "x"
    login(client, username)
    with client.session_transaction() as s:
        assert "planted" not in s


def test_idle_timeout(make_app, create_user):
    app = make_app(PERMANENT_SESSION_LIFETIME=timedelta(seconds=1))
    from intake.services import users
    from intake.extensions import db
    with app.app_context():
        users.create_user("idle-user", TEST_PASSWORD, "receptionist")
        db.session.commit()
    client = app.test_client()
    login(client, "idle-user")
    assert client.get("/staff/").status_code == 200
    time.sleep(2.1)
    assert client.get("/staff/").status_code == 302


def test_absolute_timeout(app, create_user):
    _, username = create_user("receptionist")
    client = app.test_client()
    login(client, username)
    from datetime import timedelta

    from intake.extensions import db
    from intake.models import StaffSession
    with app.app_context():
        row = db.session.execute(db.select(StaffSession)).scalar_one()
        row.created_at -= timedelta(hours=13)
        db.session.commit()
    response = client.get("/staff/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_next_is_same_site_only(app, create_user):
    _, username = create_user("receptionist")
    client = app.test_client()
    response = client.post("/login?next=https://evil.example/x",
                           data={"username": username, "password": TEST_PASSWORD})
    assert "evil.example" not in response.headers["Location"]
    client = app.test_client()
    response = client.post("/login?next=/staff/patients/new",
                           data={"username": username, "password": TEST_PASSWORD})
    assert response.headers["Location"].endswith("/staff/patients/new")


def test_inactive_user_cannot_sign_in(app, create_user, admin_client):
    uid, username = create_user("receptionist")
    admin_client.post(f"/admin/users/{uid}/toggle")
    assert login(app.test_client(), username).status_code == 200


def test_csrf_is_enforced(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    from intake.services import users
    from intake.extensions import db
    with app.app_context():
        users.create_user("csrf-user", TEST_PASSWORD, "receptionist")
        db.session.commit()
    client = app.test_client()
    response = client.post("/login", data={"username": "csrf-user", "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_change_password(app, create_user):
    _, username = create_user("billing")
    client = app.test_client()
    login(client, username)
    other = app.test_client()
    login(other, username)
    wrong = client.post("/account/password", data={
        "current": "not-it-at-all", "new": "brand-new-password", "confirm": "brand-new-password"})
    assert wrong.status_code == 422
    assert "not your current password" in wrong.get_data(as_text=True)
    ok = client.post("/account/password", data={
        "current": TEST_PASSWORD, "new": "brand-new-password", "confirm": "brand-new-password"})
    assert ok.status_code == 302
    assert client.get("/staff/").status_code == 200  # this session goes on
    assert other.get("/staff/").status_code == 302  # the other one ended
    assert login(app.test_client(), username, "brand-new-password").status_code == 302


def test_background_fetches_do_not_write_the_session_back(app, create_user):
    """A search-as-you-type fetch racing a page load must not restore a flash
    message the page just showed: it leaves the cookie alone; pages refresh it."""
    _, username = create_user("receptionist")
    client = app.test_client()
    login(client, username)
    fetch = client.get("/staff/codes/search?system=icd10cm&q=diab",
                       headers={"X-Requested-With": "fetch"})
    assert fetch.status_code == 200 and "Set-Cookie" not in fetch.headers
    page = client.get("/staff/")
    assert "intake_session=" in page.headers.get("Set-Cookie", "")
    static = client.get("/static/css/intake.css")
    assert "Set-Cookie" not in static.headers
    static.close()
