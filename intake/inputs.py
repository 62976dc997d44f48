"""Request input the database cannot take is refused at the edge, before any
view: NUL characters in the path or query string (PostgreSQL text cannot hold
them) and ids in URLs beyond the 32-bit integer columns they name. Posted
forms lose NULs in BaseForm (intake.forms.base), so what was typed stays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # ids are INTEGER columns on PostgreSQL and SQLite alike
F = TypeVar("F", bound=Callable[..., Any])


def body_limit(limit: int | Callable[[], int]) -> Callable[[F], F]:
    """This view takes bodies up to `limit` bytes (a number, or a function of
    the app's config read per request) instead of MAX_CONTENT_LENGTH. Set
    before any hook reads the form (CSRF does), so a route meant for four
    phone photos is not cut off by the global cap first."""

    def decorator(view: F) -> F:
        view.max_body_bytes = limit  # type: ignore[attr-defined]
        return view

    return decorator


def cards(count: int) -> Callable[[], int]:
    """The body limit of a post carrying `count` card photos and a form."""
    return lambda: count * int(current_app.config["INTAKE_CARD_MAX_BYTES"]) + 2**20


def init_body_limits(app: Flask) -> None:
    """Register before every hook that may read the body (create_app calls it
    right after logs.init_app, ahead of CSRF)."""

    @app.before_request
    def per_route_body_limit() -> None:
        view = app.view_functions.get(request.endpoint or "")
        limit = getattr(view, "max_body_bytes", None)
        if limit is not None:
            request.max_content_length = limit() if callable(limit) else int(limit)


class IdConverter(IntegerConverter):
    """`<int:...>` as before, but a number no row can have is a 404, not a
    database overflow."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _has_nul(values: Any) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values.getlist(key))
               for key in values)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter

    @app.before_request
    def refuse_nul() -> None:
        # Only tampering puts NUL in a URL: never a database error. No path
        # with NUL names anything (404); a query with one is malformed (400).
        # (The body is left unread here: the kiosk raises its size cap first.)
        if "\x00" in request.path:
            abort(404)
        if _has_nul(request.args):
            abort(400)
