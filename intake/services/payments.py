"""Money at the desk: payments, voids, the day's totals and patient balances.
Amounts are integer cents throughout."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import selectinload

from intake import vocab
from intake.extensions import db
from intake.models import Patient, Payment, Visit
from intake.models.payment import PaymentKind, PaymentMethod
from intake.normalize import clean_text
from intake.services import FieldErrors, NotFound, audit
from intake.services.clock import day_bounds, practice_zone

MAX_PAYMENT_CENTS = 10_000_00


def record_payment(patient: Patient, data: Mapping[str, Any], visit: Visit | None = None,
                   received_by_id: int | None = None) -> Payment:
    """Record money taken; `received_by_id` defaults to the signed-in user."""
    received_by_id = received_by_id or audit.current_user_id()
    if received_by_id is None:
        raise ValueError("a payment needs the staff member who took it")
    errors: dict[str, list[str]] = {}
    amount = data.get("amount_cents")
    if not isinstance(amount, int) or amount <= 0:
        errors["amount"] = ["Enter an amount greater than zero."]
    elif amount > MAX_PAYMENT_CENTS:
        errors["amount"] = ["That is more than the desk takes in one payment; check the amount."]
    if data.get("kind") not in set(PaymentKind):
        errors["kind"] = ["Choose what the payment is for."]
    method = data.get("method")
    if method not in set(PaymentMethod):
        errors["method"] = ["Choose how it was paid."]
    check_number = clean_text(data.get("check_number"))
    if method == PaymentMethod.CHECK and not check_number:
        errors["check_number"] = ["Enter the check number."]
    if method == PaymentMethod.OTHER and not clean_text(data.get("note")):
        errors["note"] = ["Say how it was paid."]
    if visit is not None and visit.patient_id != patient.id:
        errors["visit_id"] = ["That visit belongs to another patient."]
    if errors:
        raise FieldErrors(errors)
    payment = Payment(patient_id=patient.id, visit_id=visit.id if visit else None,
                      kind=data["kind"], method=method,
                      check_number=check_number if method == PaymentMethod.CHECK else None,
                      note=clean_text(data.get("note")), amount_cents=amount,
                      received_by_id=received_by_id)
    db.session.add(payment)
    db.session.flush()
    audit.record("payment.create", patient_id=patient.id, object_type="payment",
                 object_id=payment.id, detail=f"method={method}")
    return payment


def copay_due(patient: Patient, visit: Visit | None) -> int | None:
    """The primary coverage's copay, unless this visit's copay is already paid."""
    primary = next((c for c in patient.coverages if c.is_active and c.rank == 1), None)
    if primary is None or not primary.copay_cents:
        return None
    if visit is not None and any(p.kind == PaymentKind.COPAY and not p.voided
                                 for p in payments_for_visit(visit)):
        return None
    return primary.copay_cents


def get_payment(payment_id: int, patient_id: int | None = None) -> Payment:
    payment = db.session.execute(
        db.select(Payment).where(Payment.id == payment_id)
        .options(selectinload(Payment.patient), selectinload(Payment.received_by),
                 selectinload(Payment.visit))).scalar_one_or_none()
    if payment is None or (patient_id is not None and payment.patient_id != patient_id):
        raise NotFound("payment")
    audit.record("payment.view", patient_id=payment.patient_id, object_type="payment",
                 object_id=payment.id)
    return payment


def void_payment(payment: Payment, reason: str) -> None:
    reason = clean_text(reason) or ""
    if payment.voided:
        raise FieldErrors({"reason": ["This payment was already voided."]})
    if len(reason) < 3:
        raise FieldErrors({"reason": ["Give the reason for the void."]})
    payment.voided_at = datetime.now(timezone.utc)
    payment.voided_by_id = audit.current_user_id()
    payment.void_reason = reason
    db.session.flush()
    audit.record("payment.void", patient_id=payment.patient_id, object_type="payment",
                 object_id=payment.id)


@dataclass
class DayTotals:
    day: date
    total_cents: int = 0
    count: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    by_staff: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    by_hour: dict[int, int] = field(default_factory=dict)
    voids: list[Payment] = field(default_factory=list)
    voided_cents: int = 0
    without_visit: list[Payment] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    visits_by_state: dict[str, int] = field(default_factory=dict)


def daily_totals(day: date) -> DayTotals:
    """Close of day: payments received on the practice's calendar day.
    Voided payments are listed apart and counted in no total."""
    start, end = day_bounds(day)
    payments = list(db.session.execute(
        db.select(Payment).where(Payment.received_at >= start, Payment.received_at < end)
        .options(selectinload(Payment.received_by), selectinload(Payment.patient))
        .order_by(Payment.received_at, Payment.id)).scalars())
    totals = DayTotals(day=day, payments=payments)
    by_method: dict[str, int] = defaultdict(int)
    by_staff: dict[str, int] = defaultdict(int)
    by_kind: dict[str, int] = defaultdict(int)
    by_hour: dict[int, int] = defaultdict(int)
    zone = practice_zone()
    for p in payments:
        if p.voided:
            totals.voids.append(p)
            totals.voided_cents += p.amount_cents
            continue
        totals.total_cents += p.amount_cents
        totals.count += 1
        by_method[p.method] += p.amount_cents
        by_staff[p.received_by.username] += p.amount_cents
        by_kind[p.kind] += p.amount_cents
        by_hour[p.received_at.astimezone(zone).hour] += p.amount_cents
        if p.visit_id is None:
            totals.without_visit.append(p)
    totals.by_method = {m: by_method.get(m, 0) for m in PaymentMethod}
    totals.by_staff = dict(sorted(by_staff.items()))
    totals.by_kind = dict(by_kind)
    totals.by_hour = dict(sorted(by_hour.items()))
    states = db.session.execute(
        db.select(Visit.state, db.func.count()).where(Visit.date_of_service == day)
        .group_by(Visit.state)).all()
    totals.visits_by_state = {state: n for state, n in states}
    audit.record("report.day_close", object_type="report", detail=f"day={day.isoformat()}")
    return totals


@dataclass
class VisitBalance:
    visit: Visit
    charged_cents: int
    paid_cents: int
    voided_cents: int


@dataclass
class Balance:
    visits: list[VisitBalance]
    unapplied: list[Payment]
    charged_cents: int
    paid_cents: int

    @property
    def balance_cents(self) -> int:
        return self.charged_cents - self.paid_cents


def patient_balance(patient: Patient) -> Balance:
    """Charged, paid and voided per visit, plus payments not tied to a visit.
    Insurance payments arrive in the billing system, not here: this is what
    the desk charged and collected."""
    visits = list(db.session.execute(
        db.select(Visit).where(Visit.patient_id == patient.id)
        .options(selectinload(Visit.lines), selectinload(Visit.provider))
        .order_by(Visit.date_of_service.desc(), Visit.id.desc())).scalars())
    payments = list(db.session.execute(
        db.select(Payment).where(Payment.patient_id == patient.id)
        .order_by(Payment.received_at)).scalars())
    rows = []
    for v in visits:
        mine = [p for p in payments if p.visit_id == v.id]
        rows.append(VisitBalance(
            visit=v, charged_cents=v.total_cents,
            paid_cents=sum(p.amount_cents for p in mine if not p.voided),
            voided_cents=sum(p.amount_cents for p in mine if p.voided)))
    unapplied = [p for p in payments if p.visit_id is None]
    paid = sum(p.amount_cents for p in payments if not p.voided)
    audit.record("patient.balance_view", patient_id=patient.id, object_type="patient",
                 object_id=patient.id)
    return Balance(visits=rows, unapplied=unapplied,
                   charged_cents=sum(r.charged_cents for r in rows), paid_cents=paid)


def balance_after(payment: Payment) -> int:
    """What the patient owed the practice right after `payment`: the desk's
    charges on visits up to that day, less what was paid (not voided) up to
    and including it. For the receipt the patient keeps."""
    patient_id = payment.patient_id
    day = payment.received_at.astimezone(practice_zone()).date()
    visits = db.session.execute(
        db.select(Visit).where(Visit.patient_id == patient_id, Visit.date_of_service <= day)
        .options(selectinload(Visit.lines))).scalars()
    charged = sum(v.total_cents for v in visits)
    paid = db.session.execute(
        db.select(func.coalesce(func.sum(Payment.amount_cents), 0))
        .where(Payment.patient_id == patient_id, Payment.voided_at.is_(None),
               or_(Payment.received_at < payment.received_at,
                   and_(Payment.received_at == payment.received_at, Payment.id <= payment.id)))
    ).scalar_one()
    audit.record("patient.balance_view", patient_id=patient_id, object_type="payment",
                 object_id=payment.id)
    return charged - int(paid)


def payments_for_visit(visit: Visit) -> list[Payment]:
    return list(db.session.execute(
        db.select(Payment).where(Payment.visit_id == visit.id)
        .options(selectinload(Payment.received_by)).order_by(Payment.id)).scalars())



def takings_chart(totals: DayTotals) -> list[dict[str, Any]]:
    """Bars for the close-of-day chart (drawn as SVG by the template):
    the day's takings by method, widths as a share of the largest."""
    largest = max(totals.by_method.values(), default=0) or 1
    return [{"label": vocab.PAYMENT_METHODS[m], "cents": c,
             "width": round(100 * c / largest, 1)} for m, c in totals.by_method.items()]
