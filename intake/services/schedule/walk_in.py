"""The walk-in in one go: register the patient, add the insurance, book a
now-appointment and mark it arrived, all in the request's one transaction.
A rule broken in any part comes back keyed by part ("patient-", "primary-",
"secondary-", "visit-") so each message lands beside its field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any

from intake.models import Patient, Visit
from intake.models.schedule import CELL_MINUTES
from intake.services import FieldErrors, coverages, patients
from intake.services.schedule import booking

SUBSCRIBER = ("relationship_code", "subscriber_family", "subscriber_given", "subscriber_birth_date")
_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def prefill_from_search(text: str) -> dict[str, Any]:
    """What a search with no match said about the person: names, date of
    birth, phone. "Garcia, Maria Luisa": the family name before the comma,
    the given names after it; without a comma the first word is the family
    name (the search page asks for "family given") and the rest the given
    names ("garcia maria 04/12/1980")."""
    out: dict[str, Any] = {}
    parts: list[list[str]] = [[]]
    for token in re.split(r"\s+|(,)", text.strip()):
        if token == ",":
            parts.append([])
        elif not token:
            continue
        elif m := _DATE.match(token):
            try:
                out["birth_date"] = date(int(m[3]), int(m[1]), int(m[2]))
            except ValueError:
                pass
        elif sum(ch.isdigit() for ch in token) >= 10:
            out["phone_mobile"] = token
        elif not any(ch.isdigit() for ch in token):
            parts[-1].append(token[:1].upper() + token[1:])
    parts = [words for words in parts if words]
    if len(parts) >= 2:
        family, given = parts[0], [w for words in parts[1:] for w in words]
    elif parts:
        family, given = parts[0][:1], parts[0][1:]
    else:
        family, given = [], []
    if family:
        out["family_name"] = " ".join(family)[:100]
    if given:
        out["given_name"] = " ".join(given)[:100]
    return out


def _now_cell() -> datetime:
    now = datetime.now(timezone.utc)
    step = CELL_MINUTES * 60
    return datetime.fromtimestamp(int(now.timestamp()) // step * step, timezone.utc)


def _part(prefix: str, exc: FieldErrors) -> FieldErrors:
    return FieldErrors({f"{prefix}-{k}": v for k, v in exc.errors.items()})


def register_and_arrive(patient_data: Mapping[str, Any], primary: Mapping[str, Any] | None,
                        secondary: Mapping[str, Any] | None, visit: Mapping[str, Any], *,
                        confirm_new: bool, same_subscriber: bool) -> tuple[Patient, Visit]:
    """Raises patients.PossibleDuplicates (confirm to go on) or FieldErrors
    keyed by part. The appointment is booked now, at the provider's next
    5-minute mark; if the provider is booked then, it is overbooked as a
    walk-in, which is what fitting a walk-in in means."""
    try:
        patient = patients.register_patient(patient_data, confirm_new=confirm_new)
    except FieldErrors as exc:
        raise _part("patient", exc) from None
    errors: dict[str, list[str]] = {}
    if primary:
        try:
            coverages.add_coverage(patient, primary, rank=1)
        except FieldErrors as exc:
            errors.update(_part("primary", exc).errors)
    if secondary:
        if not primary:
            errors["secondary-payer_id"] = ["Add the primary insurance first."]
        else:
            data = dict(secondary)
            if same_subscriber:
                data.update({k: primary.get(k) for k in SUBSCRIBER})
            try:
                coverages.add_coverage(patient, data, rank=2)
            except FieldErrors as exc:
                errors.update(_part("secondary", exc).errors)
    if errors:
        raise FieldErrors(errors)
    data = {"patient_id": patient.id, "provider_id": visit.get("provider_id"),
            "type_id": visit.get("type_id"), "start": _now_cell(),
            "reason": visit.get("reason") or "Walk-in"}
    try:
        try:
            appt = booking.book(data)
        except FieldErrors as exc:
            if set(exc.errors) != {"start"}:
                raise
            appt = booking.book({**data, "overbook_reason": "Walk-in"})
        arrived = booking.arrive(appt)
    except FieldErrors as exc:
        raise _part("visit", exc) from None
    return patient, arrived


__all__ = ["prefill_from_search", "register_and_arrive"]
