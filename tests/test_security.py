"""Headers, cookies and login throttling (OWASP ASVS L2 items of issue 7)."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import TEST_PASSWORD, login


def test_content_security_policy_without_inline(client):
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "object-src 'none'" in csp


def test_security_headers(client):
    headers = client.get("/login").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain http: no HSTS


def test_hsts_over_tls(client):
    headers = client.get("/login", base_url="https://localhost").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_phi_pages_are_not_cached(desk, create_patient):
    pid = create_patient()
    assert desk.get(f"/staff/patients/{pid}").headers["Cache-Control"] == "no-store"
    assert desk.get("/staff/").headers["Cache-Control"] == "no-store"


def test_no_page_has_inline_script_or_style(desk, create_patient, admin_client):
    """What the CSP would block must not be needed: no inline code in pages."""
    import re

    pid = create_patient()
    pages = [desk.get(p).get_data(as_text=True) for p in
             ("/staff/", "/staff/patients/new", f"/staff/patients/{pid}", "/staff/board",
              "/staff/day")]
    pages += [admin_client.get(p).get_data(as_text=True) for p in ("/admin/", "/admin/audit")]
    for page in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
        assert " style=" not in page and "<style" not in page
        assert not re.search(r"\son[a-z]+=", page)


def test_secure_cookies_behind_tls(make_app, create_user):
    app = make_app(SESSION_COOKIE_SECURE=True)
    _, username = create_user("receptionist")
    client = app.test_client()
    login(client, username)
    cookie = client.get_cookie("intake_session")
    assert cookie is not None and cookie.secure


def test_force_https_redirects(make_app):
    app = make_app(INTAKE_FORCE_HTTPS=True)
    response = app.test_client().get("/login")
    assert response.status_code == 302 and response.headers["Location"].startswith("https://")


def _throttle(app, username):
    from intake.extensions import limiter

    limiter.reset()
    client = app.test_client()
    codes = [client.post("/login", data={"username": username, "password": "wrong-password-x"}).status_code
             for _ in range(4)]
    # Even the right password is refused while throttled.
    codes.append(login(client, username, TEST_PASSWORD).status_code)
    return codes


def test_login_is_throttled(make_app, create_user):
    app = make_app(RATELIMIT_ENABLED=True, INTAKE_LOGIN_LIMIT="3 per minute")
    _, username = create_user("receptionist")
    codes = _throttle(app, username)
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]


def test_login_throttle_counts_in_redis(make_app, create_user):
    """Several app servers share counts through Redis (the in-memory store
    counts per worker). Uses the local Redis on 127.0.0.1:6379."""
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379").ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379")
    prefix = f"intake-test-{uuid.uuid4().hex}"
    first = make_app(RATELIMIT_ENABLED=True, INTAKE_LOGIN_LIMIT="3 per minute",
                     RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379", RATELIMIT_KEY_PREFIX=prefix)
    _, username = create_user("receptionist")
    client = first.test_client()
    for _ in range(3):
        client.post("/login", data={"username": username, "password": "wrong-password-x"})
    # A second app (another server process in production) sees the same count.
    second = make_app(RATELIMIT_ENABLED=True, INTAKE_LOGIN_LIMIT="3 per minute",
                      RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379", RATELIMIT_KEY_PREFIX=prefix)
    response = second.test_client().post("/login", data={"username": username,
                                                         "password": TEST_PASSWORD})
    assert response.status_code == 429
