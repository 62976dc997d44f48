"""Session cookies, and the language a page is shown in.

Staff pages keep Flask's signed session cookie. Kiosk pages (/kiosk/...)
use their own (name, path /kiosk, SameSite=Strict, browser-session
lifetime, its own signing salt): the staff cookie is never even read there,
and the kiosk one never reaches staff pages. Only the kiosk is translated:
its session's language, English everywhere else."""

from __future__ import annotations

from typing import Any

from flask import Flask, has_request_context, request, session
from flask.sessions import (SecureCookieSession, SecureCookieSessionInterface, SessionInterface,
                            SessionMixin)

from intake.vocab import KIOSK_LANGUAGES

KIOSK_PATH = "/kiosk"
SESSION_COOKIE = "intake_kiosk_session"


def is_kiosk_path(path: str) -> bool:
    return path == KIOSK_PATH or path.startswith(KIOSK_PATH + "/")


def is_kiosk_request() -> bool:
    return has_request_context() and is_kiosk_path(request.path)


class _Cookie(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, written back only when they should be."""

    def should_set_cookie(self, app: Flask, session: Any) -> bool:
        # A background fetch (codes as you type, the live duplicate check) or a
        # static file must not write the cookie back unless it changed it:
        # racing a page load, it would restore a flash message that page had
        # just shown. Page loads keep the idle timer fresh.
        if not session.modified and (request.endpoint or "").endswith("static"):
            return False
        if not session.modified and request.headers.get("X-Requested-With") == "fetch":
            return False
        return super().should_set_cookie(app, session)


class KioskSession(SecureCookieSession):
    """A session read from (and written to) the kiosk's own cookie."""


class _KioskCookie(_Cookie):
    """The kiosk pages' cookie: its own name, path /kiosk, SameSite=Strict,
    its own signing salt, gone when the browser closes (idle expiry is
    enforced on the server)."""

    salt = "intake-kiosk-session"
    session_class = KioskSession

    def get_cookie_name(self, app: Flask) -> str:
        return SESSION_COOKIE

    def get_cookie_path(self, app: Flask) -> str:
        return KIOSK_PATH

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "Strict"

    def get_expiration_time(self, app: Flask, session: Any) -> Any:
        return None


class KioskSessionInterface(SessionInterface):
    """Staff pages keep Flask's session cookie; kiosk pages (/kiosk/...) get
    their own, so the staff cookie is never even read there and the kiosk
    one never reaches staff pages. Which cookie is decided once, when the
    session is opened, and the session remembers it (`KioskSession`)."""

    def __init__(self) -> None:
        self.kiosk, self.staff = _KioskCookie(), _Cookie()

    def open_session(self, app: Flask, request: Any) -> SessionMixin | None:
        return (self.kiosk if is_kiosk_path(request.path) else self.staff).open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Any) -> None:
        cookie = self.kiosk if isinstance(session, KioskSession) else self.staff
        cookie.save_session(app, session, response)


def select_locale() -> str:
    """The kiosk session's language on kiosk pages; staff pages stay English."""
    if is_kiosk_request():
        lang = session.get("lang")
        if lang in KIOSK_LANGUAGES:
            return lang
    return "en"
