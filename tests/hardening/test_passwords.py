"""Issue 19 item 8: weak passwords are refused everywhere one is chosen
(zxcvbn and the bundled list of common passwords), wrong current passwords
on the password page are throttled per user, and failed sign-ins per
account beside per address."""

from __future__ import annotations

import pytest

from intake.cli import cli
from intake.extensions import db, limiter
from intake.services import FieldErrors, passwords, users
from tests.conftest import TEST_PASSWORD, login

WEAK = ["password1234", "111111111111", "Password1234!", "p@ssw0rd2026", "qwertyuiop12",
        "abcabcabcabc", "iloveyou2026", "letmein12345", "short1!"]
STRONG = ["vivid-harbor-lantern-93", "Quartz tulip mosaic 7", TEST_PASSWORD]


@pytest.mark.parametrize("weak", WEAK)
def test_weak_passwords_are_refused(app, weak):
    with app.app_context():
        assert passwords.problems(weak)
        with pytest.raises(FieldErrors) as refused:
            users.create_user("newperson", weak, "receptionist")
        assert "password" in refused.value.errors


def test_the_username_counts_against_the_password(app):
    with app.app_context():
        assert passwords.problems("margaretsmith", user_inputs=["margaretsmith"])


@pytest.mark.parametrize("strong", STRONG)
def test_strong_passwords_pass(app, strong):
    with app.app_context():
        assert passwords.problems(strong, user_inputs=["someone"]) == []


def test_the_list_is_bundled_in_the_package():
    common = passwords.common_passwords()
    assert len(common) >= 30000 and {"password", "123456", "qwertyuiop", "letmein"} <= common


def test_weak_new_password_on_the_password_page_and_cli(app, client_as, runner):
    desk = client_as("receptionist")
    response = desk.post("/account/password", data={
        "current": TEST_PASSWORD, "new": "password1234", "confirm": "password1234"})
    assert response.status_code == 422 and "most common passwords" in response.get_data(as_text=True)
    result = runner.invoke(cli, ["users", "create", "weakling", "--role", "billing",
                                 "--password-stdin"], input="111111111111\n")
    assert result.exit_code == 1 and "repeated" in result.output


def test_wrong_current_passwords_are_throttled_per_user(make_app, create_user):
    app = make_app(RATELIMIT_ENABLED=True, INTAKE_PASSWORD_CHANGE_LIMIT="3 per 15 minutes")
    limiter.reset()
    _, username = create_user("receptionist")
    client = app.test_client()
    assert login(client, username).status_code == 302
    weak = {"current": TEST_PASSWORD, "new": "password1234", "confirm": "password1234"}
    assert [client.post("/account/password", data=weak).status_code for _ in range(4)] == [422] * 4
    wrong = {"current": "not-my-password-1", "new": "vivid-harbor-lantern-93",
             "confirm": "vivid-harbor-lantern-93"}
    codes = [client.post("/account/password", data=wrong).status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    right = {**wrong, "current": TEST_PASSWORD}
    assert client.post("/account/password", data=right).status_code == 429  # still throttled
    with app.app_context():
        assert users.authenticate(username, TEST_PASSWORD) is not None  # unchanged
        db.session.rollback()


def test_failed_sign_ins_are_throttled_per_account_across_addresses(make_app, create_user):
    app = make_app(RATELIMIT_ENABLED=True, INTAKE_LOGIN_LIMIT="100 per minute",
                   INTAKE_LOGIN_ACCOUNT_LIMIT="3 per minute")
    limiter.reset()
    _, username = create_user("receptionist")
    _, other = create_user("receptionist")
    codes = []
    for n in range(5):  # a botnet: every guess from another address
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        codes.append(client.post("/login", data={"username": username.upper(),
                                                 "password": f"guess-{n}-xyz"}).status_code)
    assert codes == [200, 200, 200, 429, 429]
    fresh = app.test_client()
    fresh.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert login(fresh, username).status_code == 429  # the account, not the address
    assert login(fresh, other).status_code == 302  # other accounts are not locked out
