"""The practice-wide duplicates worklist: a worker job scans every chart
through the same blocking keys as the live warning (each pair scored once),
and lists pairs at or above the "possible" floor for staff to review.
A pair marked "not the same person" is remembered and never listed again."""

from __future__ import annotations

from sqlalchemy import select

from intake import database
from intake.extensions import db
from intake.matching import Record, chart_keys, score
from intake.models import DuplicatePair, DuplicateScan, Patient
from intake.models.base import utcnow
from intake.services import NotFound, audit, duplicates

BATCH = 500


def request_scan(user_id: int | None) -> DuplicateScan:
    scan = DuplicateScan(status="queued", requested_by_id=user_id)
    db.session.add(scan)
    db.session.flush()
    audit.record("duplicates.scan_requested", object_type="duplicate_scan", object_id=scan.id)
    scan_id = scan.id

    def enqueue() -> None:
        from intake.tasks import scan_duplicates

        scan_duplicates(scan_id)

    database.on_commit(enqueue)
    return scan


def run_scan(scan_id: int) -> None:
    """Fit the model, then walk every chart in id order; commits after each
    batch so the page shows progress."""
    scan = db.session.get(DuplicateScan, scan_id)
    if scan is None:
        raise NotFound("scan")
    scan.status = "running"
    scan.charts_total = db.session.scalar(select(db.func.count(Patient.id))
                                          .where(Patient.merged_into_id.is_(None))) or 0
    params = duplicates.fit_model()
    db.session.commit()
    known = {(p.low_id, p.high_id): p for p in db.session.scalars(select(DuplicatePair))}
    last = 0
    while True:
        charts = list(db.session.scalars(select(Patient).where(Patient.id > last,
                                                               Patient.merged_into_id.is_(None))
                                         .order_by(Patient.id).limit(BATCH)))
        if not charts:
            break
        for chart in charts:
            record = Record.from_chart(chart)
            later = [i for i in duplicates.candidate_ids(chart_keys(record), limit=50) if i > chart.id]
            for other in db.session.scalars(select(Patient).where(Patient.id.in_(later))):
                match = score(record, Record.from_chart(other), params)
                if match.score < duplicates.POSSIBLE_FLOOR:
                    continue
                pair = known.get((chart.id, other.id))
                if pair is None:
                    pair = DuplicatePair(low_id=chart.id, high_id=other.id, score=match.score,
                                         reasons=match.reasons, status="open")
                    db.session.add(pair)
                    known[(chart.id, other.id)] = pair
                    scan.pairs_found += 1
                elif pair.status == "open":
                    pair.score, pair.reasons = match.score, match.reasons
        last = charts[-1].id
        scan.charts_done += len(charts)
        db.session.commit()
    scan.status, scan.finished_at = "done", utcnow()
    db.session.commit()


def latest_scan() -> DuplicateScan | None:
    return db.session.scalars(select(DuplicateScan).order_by(DuplicateScan.id.desc()).limit(1)).first()


def open_pairs(limit: int = 200) -> list[tuple[DuplicatePair, Patient, Patient]]:
    """Open pairs, best first, with both charts (audited: the list shows them)."""
    pairs = list(db.session.scalars(select(DuplicatePair).where(DuplicatePair.status == "open")
                                    .order_by(DuplicatePair.score.desc(), DuplicatePair.id).limit(limit)))
    ids = {i for p in pairs for i in (p.low_id, p.high_id)}
    charts = {p.id: p for p in db.session.scalars(select(Patient).where(Patient.id.in_(ids)))}
    rows = [(p, charts[p.low_id], charts[p.high_id]) for p in pairs
            if not (charts[p.low_id].merged_into_id or charts[p.high_id].merged_into_id)]
    for p, a, b in rows:
        for chart in (a, b):
            audit.record("patient.duplicate_shown", patient_id=chart.id, object_type="duplicate_pair",
                         object_id=p.id, detail=f"score={p.score}")
    return rows


def chart(patient_id: int) -> Patient:
    """A chart shown on the merge pages (audited as a read)."""
    from intake.services import patients

    return patients.get_patient(patient_id, purpose="merge")


def get_pair(pair_id: int) -> DuplicatePair:
    pair = db.session.get(DuplicatePair, pair_id)
    if pair is None:
        raise NotFound("pair")
    return pair


def mark_not_same(pair_id: int, user_id: int | None) -> DuplicatePair:
    pair = get_pair(pair_id)
    pair.status, pair.reviewed_by_id, pair.reviewed_at = "not_same", user_id, utcnow()
    db.session.flush()
    audit.record("duplicates.not_same", object_type="duplicate_pair", object_id=pair.id)
    return pair
