"""Likely-duplicate detection for registration and kiosk acceptance.

Candidates come from blocking keys (intake.matching.keys) stored per chart in
`patient_match_keys`, written on every chart insert and update: several
blocks OR'ed in one indexed look-up, so the cost does not grow with the
number of charts. Each candidate is then scored by Fellegi-Sunter
(intake.matching.scoring) with the practice's fitted model, or the defaults.

Scores are probabilities in percent. At or above the threshold a chart is a
likely duplicate (the live warning); between the "possible" floor and the
threshold it is listed for review in the worklist only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import delete, event, func, insert, select

from intake.config import Defaults
from intake.extensions import db
from intake.matching import Parameters, Record, chart_keys, probe_keys, score
from intake.models import MatchModel, Patient, PatientMatchKey
from intake.services import audit

POSSIBLE_FLOOR = 25  # percent: worth a look in the worklist ("possible")
# The most candidates one probe scores. Blocks are narrow (a name's sound
# with a date of birth, a phone...), so this is reached only by a probe
# with a very common name and nothing else; the candidates sharing the most
# blocks with the probe come first, then the newest charts.
MAX_CANDIDATES = 300


@dataclass
class Candidate:
    patient: Patient
    score: int
    reasons: list[str] = field(default_factory=list)

    @property
    def band(self) -> str:
        return "likely" if self.score >= threshold() else "possible"


def threshold() -> int:
    """Percent from which a candidate is a likely duplicate (stops registration)."""
    config = current_app.config if has_app_context() else vars(Defaults)
    return int(config["INTAKE_DUPLICATE_THRESHOLD"])


# ---- keys, kept with the chart -------------------------------------------------

def key_rows(patient_id: int, record: Record) -> list[dict[str, Any]]:
    return [{"patient_id": patient_id, "key": k} for k in sorted(chart_keys(record))]


@event.listens_for(Patient, "after_insert")
@event.listens_for(Patient, "after_update")
def _write_keys(_mapper: Any, connection: Any, patient: Patient) -> None:
    """Every chart write rewrites the chart's keys in the same transaction.
    A retired (merged) chart has none: it is no longer a candidate."""
    connection.execute(delete(PatientMatchKey).where(PatientMatchKey.patient_id == patient.id))
    if patient.merged_into_id is None:
        rows = key_rows(patient.id, Record.from_chart(patient))
        if rows:
            connection.execute(insert(PatientMatchKey), rows)


# ---- the model in force ---------------------------------------------------------

def parameters() -> Parameters:
    """The newest fitted model, or the defaults for a new practice."""
    row = db.session.execute(select(MatchModel.parameters).order_by(MatchModel.id.desc()).limit(1)).first()
    return Parameters.from_json(row[0]) if row else Parameters.default()


# ---- candidates -------------------------------------------------------------------

def candidate_ids(keys: set[str], *, limit: int = MAX_CANDIDATES) -> list[int]:
    """Charts sharing any key, the ones sharing the most keys first."""
    if not keys:
        return []
    shared = func.count(PatientMatchKey.id)
    stmt = (select(PatientMatchKey.patient_id)
            .where(PatientMatchKey.key.in_(sorted(keys)))
            .group_by(PatientMatchKey.patient_id)
            .order_by(shared.desc(), PatientMatchKey.patient_id.desc())
            .limit(limit))
    return list(db.session.scalars(stmt))


def find(probe: Mapping[str, Any], *, exclude_id: int | None = None,
         threshold: int | None = None, limit: int = 5,
         params: Parameters | None = None) -> list[Candidate]:
    """Charts that are probably the same person as `probe` (a mapping of
    demographic fields), best first."""
    floor = globals()["threshold"]() if threshold is None else threshold
    record = Record.from_fields(probe)
    ids = [i for i in candidate_ids(probe_keys(record)) if i != exclude_id]
    if not ids:
        return []
    params = params or parameters()
    hits = []
    for patient in db.session.scalars(select(Patient).where(Patient.id.in_(ids))):
        match = score(record, Record.from_chart(patient), params)
        if match.score >= floor:
            hits.append(Candidate(patient=patient, score=match.score, reasons=match.reasons))
    hits.sort(key=lambda c: (-c.score, c.patient.id))
    return hits[:limit]


def audit_shown(candidates: list[Candidate]) -> None:
    """Showing a candidate shows part of that chart: audit each."""
    for c in candidates:
        audit.record("patient.duplicate_shown", patient_id=c.patient.id,
                     object_type="patient", object_id=c.patient.id, detail=f"score={c.score}")


# ---- fitting the practice's model -------------------------------------------------

def fit_model(*, sample: int = 20000, seed: int = 18,
              blocked: list[dict[str, str | None]] | None = None) -> Parameters:
    """Refit m, u and the prior by EM on the practice's charts and store it
    as the model in force. `blocked`: comparison levels of candidate pairs
    already computed (the worklist scan passes all of its own); otherwise up
    to `sample` pairs sharing a blocking key are compared here. u comes from
    as many random pairs. Flushes; the caller commits."""
    import random

    from intake.matching import compare, estimate
    from intake.services import worklist

    ids = list(db.session.scalars(select(Patient.id).where(Patient.merged_into_id.is_(None))))
    if len(ids) < 2:
        return parameters()
    records: dict[int, Record] = {}
    n = len(ids)
    covered = n  # charts whose pairs with later charts were compared
    if blocked is None:
        blocked = []
        for low in range(0, max(ids) + 1, worklist.RANGE):
            pairs = worklist.candidate_pairs(low, low + worklist.RANGE)
            worklist.load_records({i for pair in pairs for i in pair}, records)
            blocked += [compare(records[x], records[y])[0] for x, y in pairs]
            if len(blocked) >= sample:
                covered = sum(1 for i in ids if i < low + worklist.RANGE)
                break
    rng = random.Random(seed)
    pairs = [(rng.choice(ids), rng.choice(ids)) for _ in range(min(sample, 5000))]
    worklist.load_records({i for pair in pairs for i in pair}, records)
    randoms = [compare(records[a], records[b])[0] for a, b in pairs if a != b]
    # All pairs (a < b) whose first chart was covered: the prior's denominator.
    fitted = estimate(blocked, randoms, total_pairs=covered * n - covered * (covered + 1) // 2)
    db.session.add(MatchModel(parameters=fitted.to_json()))
    db.session.flush()
    return fitted
