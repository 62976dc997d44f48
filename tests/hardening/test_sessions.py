"""Issue 19 items 5 and 6: a staff cookie copied to another browser or
network no longer works (the session ends, for its owner too, and the
sign-in page says why), and background refreshes and live checks do not
renew the idle timeout."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from intake.extensions import db
from intake.models import StaffSession
from tests.conftest import TEST_PASSWORD


def _client(app, ua: str, addr: str):
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": addr, "HTTP_USER_AGENT": ua})
    return client


def _signed_in(app, create_user, ua="Firefox/140 desk-3", addr="10.20.30.5"):
    _, username = create_user("receptionist")
    client = _client(app, ua, addr)
    assert client.post("/login", data={"username": username,
                                       "password": TEST_PASSWORD}).status_code == 302
    assert client.get("/staff/").status_code == 200
    return client


def _steal(app, owner, ua: str, addr: str):
    thief = _client(app, ua, addr)
    thief.set_cookie("intake_session", owner.get_cookie("intake_session").value)
    return thief


def test_a_copied_cookie_from_another_browser_or_network_ends_the_session(app, create_user):
    for ua, addr in (("curl/8.5", "10.20.30.5"), ("Firefox/140 desk-3", "198.51.100.23")):
        owner = _signed_in(app, create_user)
        thief = _steal(app, owner, ua, addr)
        refused = thief.get("/staff/")
        assert refused.status_code == 302 and "/login" in refused.headers["Location"]
        page = thief.get(refused.headers["Location"]).get_data(as_text=True)
        assert "used from another browser or network" in page
        # The session is over for its owner too: the cookie was out.
        assert owner.get("/staff/").status_code == 302
    with app.app_context():
        assert db.session.execute(db.select(db.func.count()).select_from(StaffSession)
                                  .where(StaffSession.ended_at.is_(None))).scalar() == 0


def test_the_same_browser_on_the_same_network_keeps_its_session(app, create_user):
    owner = _signed_in(app, create_user)
    same_network = _steal(app, owner, "Firefox/140 desk-3", "10.20.30.77")  # DHCP moved it
    assert same_network.get("/staff/").status_code == 200


def _last_active(app, when: datetime | None = None) -> datetime:
    with app.app_context():
        row = db.session.execute(db.select(StaffSession)).scalars().one()
        if when is not None:
            row.last_active_at = when
            db.session.commit()
        return row.last_active_at


def test_background_refreshes_do_not_renew_the_idle_timeout(app, create_user):
    owner = _signed_in(app, create_user)
    long_ago = datetime.now(timezone.utc) - timedelta(minutes=14)
    _last_active(app, long_ago)
    assert owner.get("/staff/board?auto=1").status_code == 200  # the board's timed refresh
    assert owner.get("/staff/", headers={"X-Requested-With": "fetch"}).status_code == 200
    assert _last_active(app) == long_ago
    _last_active(app, datetime.now(timezone.utc) - timedelta(minutes=16))
    ended = owner.get("/staff/board?auto=1")
    assert ended.status_code == 302
    assert "after a period of inactivity" in owner.get(ended.headers["Location"]).get_data(
        as_text=True)


def test_a_real_page_load_is_activity(app, create_user):
    owner = _signed_in(app, create_user)
    _last_active(app, datetime.now(timezone.utc) - timedelta(minutes=14))
    assert owner.get("/staff/board").status_code == 200
    assert datetime.now(timezone.utc) - _last_active(app) < timedelta(minutes=1)


def test_the_board_refreshes_itself_as_background(app, create_user):
    owner = _signed_in(app, create_user)
    page = owner.get("/staff/board").get_data(as_text=True)
    assert 'url=/staff/board?auto=1' in page
    from pathlib import Path

    import intake
    script = (Path(intake.__file__).parent / "static/js/board.js").read_text()
    assert 'searchParams.set("auto", "1")' in script
