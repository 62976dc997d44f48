"""Request input the database cannot take is refused at the edge, before any
view: NUL characters in the path or query string (PostgreSQL text cannot hold
them) and ids in URLs beyond the 32-bit integer columns they name. Posted
forms lose NULs in BaseForm (intake.forms.base), so what was typed stays."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # ids are INTEGER columns on PostgreSQL and SQLite alike


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
