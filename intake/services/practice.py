"""Practice settings, providers and the fee schedule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from intake.extensions import db
from intake.models import Fee, Practice, Provider
from intake.normalize import clean_text, is_valid_ein, is_valid_npi
from intake.services import FieldErrors, audit

PRACTICE_FIELDS = ("name", "address_line1", "city", "state", "postal_code", "phone", "npi",
                   "tax_id", "default_pos")
# The 837P submitter settings (see intake.services.x12_export).
X12_FIELDS = ("taxonomy", "accepts_assignment", "submitter_name", "submitter_etin",
              "billing_contact_name", "billing_contact_phone", "billing_contact_email",
              "receiver_name", "receiver_etin", "x12_sender_qualifier", "x12_sender_id",
              "x12_receiver_qualifier", "x12_receiver_id", "x12_test_mode")
PROVIDER_FIELDS = ("family_name", "given_name", "credentials", "npi", "taxonomy", "active")


def get_practice() -> Practice:
    """The practice row; an unnamed one until an admin fills it in."""
    practice = db.session.get(Practice, 1)
    if practice is None:
        practice = Practice(id=1, name="", default_pos="11", x12_sender_qualifier="ZZ",
                            x12_receiver_qualifier="ZZ", x12_test_mode=False,
                            accepts_assignment=True)
    return practice


def save_practice(data: Mapping[str, Any]) -> Practice:
    errors: dict[str, list[str]] = {}
    if data.get("npi") and not is_valid_npi(data["npi"]):
        errors["npi"] = ["That NPI fails its check digit; check the 10 digits."]
    if data.get("tax_id") and not is_valid_ein(data["tax_id"]):
        errors["tax_id"] = ["A tax id (EIN) is 9 digits, like 12-3456789."]
    for field in ("x12_sender_qualifier", "x12_receiver_qualifier"):
        if field in data and not data[field]:
            errors[field] = ["Choose the qualifier your clearinghouse gave you (usually ZZ)."]
    if errors:
        raise FieldErrors(errors)
    practice = get_practice()
    for field in PRACTICE_FIELDS + X12_FIELDS:
        if field in data:
            value = data[field]
            setattr(practice, field, clean_text(value) if isinstance(value, str) else value)
    if practice.tax_id:
        practice.tax_id = practice.tax_id.replace("-", "")
    db.session.add(practice)
    db.session.flush()
    audit.record("practice.save", object_type="practice", object_id=1)
    return practice


def list_providers(active_only: bool = False) -> list[Provider]:
    query = db.select(Provider).order_by(Provider.family_name, Provider.given_name)
    if active_only:
        query = query.where(Provider.active)
    return list(db.session.execute(query).scalars())


def get_provider(provider_id: int) -> Provider | None:
    return db.session.get(Provider, provider_id)


def save_provider(provider: Provider | None, data: Mapping[str, Any]) -> Provider:
    npi = (data.get("npi") or "").strip()
    errors: dict[str, list[str]] = {}
    if not is_valid_npi(npi):
        errors["npi"] = ["That NPI fails its check digit; check the 10 digits."]
    else:
        clash = db.session.execute(db.select(Provider.id).filter_by(npi=npi)).scalar_one_or_none()
        if clash is not None and (provider is None or clash != provider.id):
            errors["npi"] = ["Another provider has this NPI."]
    if errors:
        raise FieldErrors(errors)
    if provider is None:
        provider = Provider()
        db.session.add(provider)
    for field in PROVIDER_FIELDS:
        if field in data:
            value = data[field]
            setattr(provider, field, clean_text(value) if isinstance(value, str) else value)
    provider.npi = npi
    db.session.flush()
    audit.record("provider.save", object_type="provider", object_id=provider.id)
    return provider


def list_fees() -> list[Fee]:
    return list(db.session.execute(db.select(Fee).order_by(Fee.code)).scalars())


def fee_for(code: str) -> Fee | None:
    return db.session.execute(db.select(Fee).filter_by(code=code)).scalar_one_or_none()


def save_fee(code: str, price_cents: int, label: str | None) -> Fee:
    """Set the price of a code; the code is checked by the caller's form."""
    fee = fee_for(code)
    if fee is None:
        fee = Fee(code=code)
        db.session.add(fee)
    fee.price_cents = price_cents
    fee.label = clean_text(label)
    db.session.flush()
    audit.record("fee.save", object_type="fee", object_id=fee.id)
    return fee


def delete_fee(fee_id: int) -> None:
    fee = db.session.get(Fee, fee_id)
    if fee is not None:
        db.session.delete(fee)
        audit.record("fee.delete", object_type="fee", object_id=fee_id)
