"""Bearer tokens for the back office's systems (read-only FHIR)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from flask import current_app

from intake.extensions import db
from intake.models import ApiToken
from intake.normalize import clean_text
from intake.services import FieldErrors, audit

TOKEN_PREFIX = "itk_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def scope_for(types: Iterable[str] | None, bulk: bool) -> str:
    """The scope string for these resource types (None: all) and bulk right."""
    from intake.services.fhir_api import SEARCH

    if types is None:
        parts = ["system/*.read"]
    else:
        wanted = sorted(set(types))
        unknown = [t for t in wanted if t not in SEARCH]
        if unknown or not wanted:
            raise FieldErrors({"types": [
                f"Unknown resource type(s): {', '.join(unknown)}. Choose from "
                f"{', '.join(sorted(SEARCH))}." if unknown else "Name at least one resource type."]})
        parts = [f"system/{t}.read" for t in wanted]
    return " ".join(parts + (["bulk"] if bulk else []))


def create_token(name: str, *, types: Iterable[str] | None = None, bulk: bool = True,
                 days: int | None = None) -> tuple[ApiToken, str]:
    """A new read-only token for the resource `types` (None: all), allowed
    bulk exports or not, expiring after `days` (default INTAKE_TOKEN_DAYS);
    the plain text is returned once and never stored."""
    name = clean_text(name) or ""
    if not name:
        raise FieldErrors({"name": ["Name the system that will use the token."]})
    days = int(current_app.config.get("INTAKE_TOKEN_DAYS", 365)) if days is None else days
    if days < 1:
        raise FieldErrors({"days": ["A token lives at least one day."]})
    scope = scope_for(types, bulk)
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=_digest(plain), prefix=plain[:12], scope=scope,
                     expires_at=datetime.now(timezone.utc) + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", object_type="api_token", object_id=token.id,
                 detail=f"scope={scope} days={days}")
    return token, plain


def is_expired(token: ApiToken) -> bool:
    return token.expires_at is not None and token.expires_at <= datetime.now(timezone.utc)


def authenticate(header: str | None) -> ApiToken | None:
    """The active token named by an `Authorization: Bearer ...` header."""
    if not header or not header.startswith("Bearer "):
        return None
    plain = header.removeprefix("Bearer ").strip()
    if not plain.startswith(TOKEN_PREFIX):
        return None
    token = db.session.execute(
        db.select(ApiToken).filter_by(token_hash=_digest(plain))).scalar_one_or_none()
    if token is None or not token.active:
        return None
    token.last_used_at = datetime.now(timezone.utc)
    return token


def revoke(token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise FieldErrors({"token": [f"No token {token_id}."]})
    if token.active:
        token.revoked_at = datetime.now(timezone.utc)
        audit.record("token.revoke", object_type="api_token", object_id=token.id)
    return token


def list_tokens() -> list[ApiToken]:
    return list(db.session.execute(db.select(ApiToken).order_by(ApiToken.id)).scalars())
