"""Visits and the day's board: the check-in/out state machine lives here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy.orm import selectinload

from intake.extensions import db
from intake.models import Patient, Provider, Visit, VisitEvent
from intake.models.visit import VisitState as S
from intake.services import FieldErrors, NotFound, audit, claims
from intake.services.clock import today

# Where a visit may go from each state, and the button that does it.
TRANSITIONS: dict[str, dict[str, str]] = {
    S.SCHEDULED: {S.ARRIVED: "Arrived", S.CANCELLED: "Cancel", S.NO_SHOW: "No-show"},
    S.ARRIVED: {S.CHECKED_IN: "Check in", S.CANCELLED: "Cancel"},
    S.CHECKED_IN: {S.WITH_PROVIDER: "With provider", S.CANCELLED: "Left before seen"},
    S.WITH_PROVIDER: {S.CHECKED_OUT: "Check out"},
    S.CHECKED_OUT: {},
    S.CANCELLED: {},
    # A late patient marked as a no-show can still be seen.
    S.NO_SHOW: {S.ARRIVED: "Arrived late"},
}
STATE_LABELS = {
    S.SCHEDULED: "Scheduled", S.ARRIVED: "Arrived", S.CHECKED_IN: "Checked in",
    S.WITH_PROVIDER: "With provider", S.CHECKED_OUT: "Checked out",
    S.CANCELLED: "Cancelled", S.NO_SHOW: "No-show",
}
BOARD_ORDER = [S.ARRIVED, S.CHECKED_IN, S.WITH_PROVIDER, S.SCHEDULED, S.CHECKED_OUT,
               S.NO_SHOW, S.CANCELLED]
_STAMP = {S.ARRIVED: "arrived_at", S.CHECKED_IN: "checked_in_at",
          S.WITH_PROVIDER: "roomed_at", S.CHECKED_OUT: "checked_out_at"}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def create_visit(patient: Patient, data: Mapping[str, Any]) -> Visit:
    provider = db.session.get(Provider, data.get("provider_id") or 0)
    if provider is None or not provider.active:
        raise FieldErrors({"provider_id": ["Choose a provider."]})
    visit = Visit(patient=patient, provider=provider, date_of_service=data["date_of_service"],
                  place_of_service=data["place_of_service"], reason=data.get("reason") or None,
                  state=S.SCHEDULED)
    db.session.add(visit)
    db.session.flush()
    db.session.add(VisitEvent(visit=visit, from_state=None, to_state=S.SCHEDULED,
                              user_id=audit.current_user_id()))
    audit.record("visit.create", patient_id=patient.id, object_type="visit", object_id=visit.id)
    return visit


def get_visit(visit_id: int, *, purpose: str = "view") -> Visit:
    visit = db.session.execute(
        db.select(Visit).where(Visit.id == visit_id)
        .options(selectinload(Visit.lines), selectinload(Visit.diagnoses),
                 selectinload(Visit.events).selectinload(VisitEvent.user))
    ).scalar_one_or_none()
    if visit is None:
        raise NotFound("visit")
    audit.record(f"visit.{purpose}", patient_id=visit.patient_id, object_type="visit",
                 object_id=visit.id)
    return visit


def allowed_moves(visit: Visit) -> dict[str, str]:
    return TRANSITIONS.get(visit.state, {})


def move(visit: Visit, to_state: str, *, version: int | None = None,
         demographics_reviewed: bool = False, insurance_reviewed: bool = False,
         note: str | None = None) -> Visit:
    """Move a visit on the board. Moves that make no sense are refused in
    words; check-in needs demographics and insurance confirmed as reviewed."""
    if version is not None and version != visit.version:
        raise FieldErrors({"state": ["Someone else changed this visit a moment ago; "
                                     "the board shows it as it is now."]})
    if to_state not in TRANSITIONS.get(visit.state, {}):
        raise FieldErrors({"state": [
            f"A visit that is {STATE_LABELS[visit.state].lower()} cannot be moved to "
            f"{STATE_LABELS.get(to_state, to_state).lower()}."]})
    if to_state == S.CHECKED_IN:
        errors = {}
        if not demographics_reviewed:
            errors["demographics_reviewed"] = ["Confirm the patient's details were reviewed today."]
        if not insurance_reviewed:
            errors["insurance_reviewed"] = ["Confirm the insurance was reviewed today."]
        if errors:
            raise FieldErrors(errors)
        visit.demographics_reviewed_at = visit.insurance_reviewed_at = _now()
    if to_state == S.ARRIVED and visit.date_of_service != today() and visit.state != S.NO_SHOW:
        raise FieldErrors({"state": ["Only today's visits can be marked as arrived."]})
    previous = visit.state
    visit.state = to_state
    if stamp := _STAMP.get(to_state):
        setattr(visit, stamp, _now())
    db.session.add(VisitEvent(visit=visit, from_state=previous, to_state=to_state,
                              user_id=audit.current_user_id(), note=note))
    db.session.flush()
    audit.record("visit.move", patient_id=visit.patient_id, object_type="visit",
                 object_id=visit.id, detail=f"{previous}->{to_state}")
    claims.bill(visit)  # frozen now if the charges were locked before check-out
    return visit


def record_past_day(visit: Visit, times: Mapping[str, datetime], *, note: str) -> Visit:
    """Back-fill a past scheduled visit's day (the demo's history, a paper day
    entered later): arrived, checked in, with provider, checked out, each at
    its given time and in that order, through the same transitions as the
    board. `note` says where the times came from; the desk's review boxes
    are not claimed."""
    path = [S.ARRIVED, S.CHECKED_IN, S.WITH_PROVIDER, S.CHECKED_OUT]
    if visit.state != S.SCHEDULED or visit.date_of_service >= today():
        raise FieldErrors({"state": ["Only a past visit still marked as scheduled can be filled in."]})
    stamps = [times[state] for state in path]
    if stamps != sorted(stamps) or any(t.tzinfo is None for t in stamps):
        raise FieldErrors({"state": ["The times must be in order, with a time zone."]})
    for to_state, at in zip(path, stamps, strict=False):
        if to_state not in TRANSITIONS[visit.state]:  # the board's own rule, checked the same way
            raise FieldErrors({"state": [f"{visit.state} cannot move to {to_state}."]})
        db.session.add(VisitEvent(visit=visit, from_state=visit.state, to_state=to_state, at=at,
                                  user_id=audit.current_user_id(), note=note))
        visit.state = to_state
        setattr(visit, _STAMP[to_state], at)
    db.session.flush()
    audit.record("visit.backfill", patient_id=visit.patient_id, object_type="visit",
                 object_id=visit.id, detail="scheduled->checked_out")
    claims.bill(visit)
    return visit


@dataclass
class BoardRow:
    visit: Visit
    waiting_minutes: int | None
    moves: dict[str, str]


def board(day: date) -> dict[str, list[BoardRow]]:
    """Every visit of the day grouped by state, with how long each patient has
    waited since arriving (while still waiting to be seen)."""
    visits = db.session.execute(
        db.select(Visit).where(Visit.date_of_service == day)
        .options(selectinload(Visit.patient), selectinload(Visit.provider))
        .order_by(Visit.arrived_at.is_(None), Visit.arrived_at, Visit.id)
    ).scalars()
    now = _now()
    grouped: dict[str, list[BoardRow]] = {state: [] for state in BOARD_ORDER}
    for visit in visits:
        waiting = None
        if visit.state in (S.ARRIVED, S.CHECKED_IN) and visit.arrived_at:
            waiting = int((now - visit.arrived_at).total_seconds() // 60)
        grouped[visit.state].append(BoardRow(visit, waiting, allowed_moves(visit)))
    audit.record("board.view", object_type="board",
                 detail=f"visits={sum(len(v) for v in grouped.values())}")
    return grouped


def visits_for_patient(patient_id: int) -> list[Visit]:
    return list(db.session.execute(
        db.select(Visit).where(Visit.patient_id == patient_id)
        .options(selectinload(Visit.lines), selectinload(Visit.provider))
        .order_by(Visit.date_of_service.desc(), Visit.id.desc())).scalars())
