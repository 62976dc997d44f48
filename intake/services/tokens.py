"""Bearer tokens for the back office's systems (read-only FHIR)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone

from intake.extensions import db
from intake.models import ApiToken
from intake.normalize import clean_text
from intake.services import FieldErrors, audit

TOKEN_PREFIX = "itk_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(name: str) -> tuple[ApiToken, str]:
    """A new read-only token; the plain text is returned once and never stored."""
    name = clean_text(name) or ""
    if not name:
        raise FieldErrors({"name": ["Name the system that will use the token."]})
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=_digest(plain), prefix=plain[:12])
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", object_type="api_token", object_id=token.id)
    return token, plain


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
