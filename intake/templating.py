"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, render_template
from flask_babel import format_date

from intake import vocab
from intake.normalize import format_phone


def money(cents: int | None) -> str:
    if cents is None:
        return ""
    return f"${cents / 100:,.2f}" if cents >= 0 else f"-${-cents / 100:,.2f}"


def us_date(value: date | datetime | None) -> str:
    return value.strftime("%m/%d/%Y") if value else ""


def local_date(value: date | None) -> str:
    """A date in words, in the page's language (14 marca 1980 on a Polish kiosk)."""
    return format_date(value, format="long") if value else ""


def practice_time(value: datetime | None, fmt: str = "%m/%d/%Y %I:%M %p", zone: bool = True) -> str:
    """A stored (UTC) moment in the practice's own time, the zone named
    (03/14/2026 09:05 AM CDT): staff pages never show raw UTC."""
    if value is None:
        return ""
    from intake.services.clock import practice_zone

    if value.tzinfo is None:  # SQLite hands back naive UTC
        from datetime import timezone
        value = value.replace(tzinfo=timezone.utc)
    local = value.astimezone(practice_zone())
    return local.strftime(fmt + (" %Z" if zone else ""))


def render_form(template: str, form: Any, **context: Any) -> tuple[str, int]:
    """A page with `form` on it (as `form`): 422 when the form has errors, so
    the typed values come back with a message next to each field; else 200."""
    return render_template(template, form=form, **context), 422 if form.errors else 200


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(phone=format_phone, money=money, us_date=us_date,
                                 local_date=local_date, practice_time=practice_time,
                                 payment_kind=lambda k: vocab.PAYMENT_KINDS.get(k, k),
                                 payment_method=lambda m: vocab.PAYMENT_METHODS.get(m, m))

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {"vocab": vocab, "label": vocab.label, "code_table_warnings": _code_table_warnings}


def _code_table_warnings() -> list[str]:
    """The 60-day banner, for admins and billing staff only (receptionists never see a command or a chore)."""
    from flask_login import current_user

    from intake.services.code_tables import end_warnings

    if not current_user.is_authenticated or current_user.role not in ("admin", "billing"):
        return []
    return end_warnings()
