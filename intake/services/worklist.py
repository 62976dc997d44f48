"""The practice-wide duplicates worklist: a worker job scans every chart
through the same blocking keys as the live warning (each pair scored once),
and lists pairs at or above the "possible" floor for staff to review.
A pair marked "not the same person" is remembered and never listed again."""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import aliased

from intake import database
from intake.extensions import db
from intake.matching import Record, compare, score
from intake.models import DuplicatePair, DuplicateScan, Patient, PatientMatchKey
from intake.models.base import utcnow
from intake.services import NotFound, audit, duplicates

BATCH = 500
RANGE = 2000  # charts per step of the scan (ids)
# What Record.from_chart reads: rows, not whole charts, for speed.
RECORD_COLUMNS = tuple(getattr(Patient, c) for c in (
    "id", "given_norm", "family_norm", "birth_date", "sex", "phone_mobile", "phone_home", "email",
    "address_key", "postal_code", "given_name", "family_name"))


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


def candidate_pairs(low: int, high: int) -> list[tuple[int, int]]:
    """Distinct pairs (a < b) sharing any blocking key, for a in [low, high):
    one self-join on the key index, so a pair sharing five blocks is
    scored once, not five times."""
    a, b = aliased(PatientMatchKey), aliased(PatientMatchKey)
    stmt = (select(a.patient_id, b.patient_id).distinct()
            .join(b, (b.key == a.key) & (b.patient_id > a.patient_id))
            .where(a.patient_id >= low, a.patient_id < high))
    return [(x, y) for x, y in db.session.execute(stmt)]


def load_records(ids: set[int], known: dict[int, Record]) -> None:
    """Records of the charts in `ids` not yet in `known`, added to it."""
    wanted = sorted(ids - known.keys())
    for start in range(0, len(wanted), BATCH):
        rows = db.session.execute(select(*RECORD_COLUMNS).where(Patient.id.in_(wanted[start:start + BATCH])))
        for row in rows:
            known[row.id] = Record.from_chart(row)


def run_scan(scan_id: int) -> None:
    """Compare every candidate pair once (in id ranges, with progress), fit
    the model by EM on those very comparisons, then list the pairs at or
    above the "possible" floor. Commits after each range and at the end."""
    scan = db.session.get(DuplicateScan, scan_id)
    if scan is None:
        raise NotFound("scan")
    scan.status = "running"
    scan.charts_total = db.session.scalar(select(db.func.count(Patient.id))
                                          .where(Patient.merged_into_id.is_(None))) or 0
    db.session.commit()
    top = db.session.scalar(select(db.func.max(Patient.id))) or 0
    compared: list[tuple[int, int, dict[str, str | None]]] = []
    records: dict[int, Record] = {}
    for low in range(0, top + 1, RANGE):
        pairs = candidate_pairs(low, low + RANGE)
        load_records({i for pair in pairs for i in pair}, records)
        compared += [(x, y, compare(records[x], records[y])[0]) for x, y in pairs]
        records = {i: r for i, r in records.items() if i >= low + RANGE}
        scan.charts_done = db.session.scalar(select(db.func.count(Patient.id)).where(
            Patient.id < low + RANGE, Patient.merged_into_id.is_(None))) or 0
        db.session.commit()

    params = duplicates.fit_model(blocked=[levels for _, _, levels in compared])
    prior = math.log2(params.prior / (1 - params.prior))
    floor = math.log2(duplicates.POSSIBLE_FLOOR / (100 - duplicates.POSSIBLE_FLOOR))
    likely = [(x, y) for x, y, levels in compared
              if prior + sum(params.weight(f, lv) for f, lv in levels.items()) >= floor]
    known = {(p.low_id, p.high_id): p for p in db.session.scalars(select(DuplicatePair))}
    load_records({i for pair in likely for i in pair}, records)
    for x, y in likely:
        match = score(records[x], records[y], params)
        if match.score < duplicates.POSSIBLE_FLOOR:
            continue
        pair = known.get((x, y))
        if pair is None:
            db.session.add(DuplicatePair(low_id=x, high_id=y, score=match.score,
                                         reasons=match.reasons, status="open"))
            scan.pairs_found += 1
        elif pair.status == "open":
            pair.score, pair.reasons = match.score, match.reasons
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
