"""Registering, editing, finding and reading patients."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import date, datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Row, and_, literal, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from intake.extensions import db
from intake.models import Coverage, Patient
from intake.normalize import address_key, clean_text, luhn_check_digit, name_key, parse_phone
from intake.services import FieldErrors, NotFound, audit, clock, duplicates

# The demographic fields a form may set; everything else is derived.
PATIENT_FIELDS = (
    "family_name", "given_name", "middle_name", "suffix", "preferred_name",
    "birth_date", "sex", "gender_identity",
    "address_line1", "address_line2", "city", "state", "postal_code",
    "phone_mobile", "phone_home", "email", "preferred_language",
    "races", "ethnicity", "marital_status",
    "emergency_name", "emergency_relationship", "emergency_phone",
)
MRN_LENGTH = 10


class PossibleDuplicates(Exception):
    """Registration stopped to show likely matches; confirm to go on."""

    def __init__(self, candidates: list[duplicates.Candidate]):
        super().__init__(f"{len(candidates)} possible duplicates")
        self.candidates = candidates


class AlreadyRegistered(FieldErrors):
    """Another chart has this name, date of birth and mobile phone: usually a
    second desk (or the kiosk review) registering the same person at the same
    moment. Nothing was saved; `patient` is the chart to open instead."""

    def __init__(self, patient: Patient, *, moment: bool = True):
        when = "was registered a moment ago" if moment else "already exists"
        super().__init__({"family_name": [
            f"A chart with this name, date of birth and mobile phone {when} "
            f"(MRN {patient.mrn}). Nothing was saved: open that chart instead."]})
        self.patient = patient


def is_valid_mrn(value: str) -> bool:
    return (len(value) == MRN_LENGTH and value.isascii() and value.isdigit()
            and luhn_check_digit(value[:-1]) == value[-1])


def new_mrn() -> str:
    """Random (not sequential, so not guessable) with a Luhn check digit that
    catches a mistyped digit; the unique constraint backs the existence check."""
    while True:
        body = str(secrets.randbelow(9 * 10 ** (MRN_LENGTH - 2)) + 10 ** (MRN_LENGTH - 2))
        mrn = body + luhn_check_digit(body)
        if not db.session.execute(db.select(Patient.id).filter_by(mrn=mrn)).first():
            return mrn


def _apply(patient: Patient, data: Mapping[str, Any]) -> list[str]:
    """Set demographic fields; return the names of those that changed."""
    changed = []
    for field in PATIENT_FIELDS:
        if field not in data:
            continue
        value = data[field]
        if isinstance(value, str):
            value = clean_text(value)
        if field == "races":
            value = sorted(set(value or []))
        if field in ("preferred_language",) and not value:
            value = "en"
        if getattr(patient, field) != value:
            setattr(patient, field, value)
            changed.append(field)
    patient.family_norm = name_key(patient.family_name)
    patient.given_norm = name_key(patient.given_name)
    patient.address_key = address_key(patient.address_line1, patient.postal_code)
    return changed


def _identity(patient: Patient) -> tuple[Any, ...] | None:
    if not patient.phone_mobile:
        return None
    return (patient.family_norm, patient.given_norm, patient.birth_date, patient.phone_mobile)


def _same_identity(key: tuple[Any, ...] | None, exclude_id: int | None = None) -> Patient | None:
    """The chart holding this identity key (see register_patient), if any."""
    if key is None:
        return None
    family, given, birth_date, phone = key
    stmt = db.select(Patient).where(
        Patient.family_norm == family, Patient.given_norm == given,
        Patient.birth_date == birth_date, Patient.phone_mobile == phone)
    if exclude_id is not None:
        stmt = stmt.where(Patient.id != exclude_id)
    return db.session.execute(stmt).scalars().first()


def _flush_new_chart(patient: Patient) -> None:
    """Insert inside a SAVEPOINT so a unique-key clash undoes only the insert
    and the request can answer with a message instead of a server error."""
    key = _identity(patient)
    for _attempt in range(3):
        try:
            with db.session.begin_nested():
                db.session.add(patient)
                db.session.flush()
            return
        except IntegrityError:
            existing = _same_identity(key)
            if existing is not None:
                raise AlreadyRegistered(existing) from None
            # Otherwise a random MRN taken by a concurrent registration
            # between new_mrn()'s check and our insert: draw another.
            patient.mrn = new_mrn()
    raise RuntimeError("could not allocate an MRN")


def register_patient(data: Mapping[str, Any], *, confirm_new: bool = False) -> Patient:
    """Create a chart. Unless the receptionist confirmed a new patient, likely
    duplicates stop the registration (PossibleDuplicates).

    One chart per person, backed by the unique index `uq_patients_identity`
    on (family_norm, given_norm, birth_date, phone_mobile): two desks that
    register the same person at the same moment both pass the duplicate
    check (neither sees the other's uncommitted chart), so only the database
    can refuse the second. Name and date of birth alone are not enough (real
    different people share them, and the desk may confirm a new patient over
    that warning); adding the mobile phone, a personal number, makes a key
    that two different people practically never share. Charts without a
    mobile phone are not constrained (NULLs are distinct in both databases).
    The second desk gets AlreadyRegistered naming the chart to open."""
    if not confirm_new:
        candidates = duplicates.find(data)
        if candidates:
            duplicates.audit_shown(candidates)
            raise PossibleDuplicates(candidates)
    patient = Patient(mrn=new_mrn())
    _apply(patient, data)
    if (existing := _same_identity(_identity(patient))) is not None:
        raise AlreadyRegistered(existing, moment=False)
    _flush_new_chart(patient)
    audit.record("patient.create", patient_id=patient.id, object_type="patient",
                 object_id=patient.id, detail="confirmed new over duplicates" if confirm_new else None)
    return patient


def update_patient(patient: Patient, data: Mapping[str, Any],
                   version: int | None = None) -> list[str]:
    """Change a chart. `version` is the one the form was loaded at: if another
    desk saved since, nothing is changed and the desk is told."""
    if version is not None and version != patient.version:
        raise FieldErrors({"chart": [
            "Someone else changed this chart while you were editing it. Nothing was saved: "
            "open the chart again to see their changes, then make yours."]})
    db.session.flush()  # begin_nested() flushes: keep earlier work out of the savepoint
    key = None
    try:
        # A SAVEPOINT around the change: an identity clash with another
        # chart undoes only this edit and becomes a message, not an error.
        with db.session.begin_nested():
            changed = _apply(patient, data)
            key = _identity(patient)
            db.session.flush()
    except IntegrityError:
        existing = _same_identity(key, exclude_id=patient.id)
        if existing is None:
            raise
        raise AlreadyRegistered(existing, moment=False) from None
    if changed:
        audit.record("patient.update", patient_id=patient.id, object_type="patient",
                     object_id=patient.id, detail="fields=" + ",".join(changed))
    return changed


def get_patient(patient_id: int, *, purpose: str = "view") -> Patient:
    """Load a chart and audit the read."""
    patient = db.session.execute(
        db.select(Patient).where(Patient.id == patient_id).options(
            selectinload(Patient.coverages).selectinload(Coverage.payer),
            selectinload(Patient.coverages).selectinload(Coverage.cards),
        )
    ).scalar_one_or_none()
    if patient is None:
        raise NotFound("patient")
    audit.record(f"patient.{purpose}", patient_id=patient.id, object_type="patient",
                 object_id=patient.id)
    return patient


_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m-%d-%Y", "%m/%d/%y", "%m%d%Y")


def _parse_date(token: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(token, fmt).date()
        except ValueError:
            continue
        if fmt == "%m/%d/%y" and parsed > clock.today():
            parsed = parsed.replace(year=parsed.year - 100)
        return parsed
    return None


_PHONE_RUN = re.compile(r"\+?\(?\d[\d\s().-]{5,}\d")


def classify_query(query: str) -> dict[str, Any]:
    """Split a search box entry into MRN, date of birth, phone and name words:
    'wojcik 3/14/1980' finds by name and DOB together."""
    terms: dict[str, Any] = {"names": []}
    rest = []
    for raw in re.split(r"[\s,]+", query.strip()):
        when = _parse_date(raw) if raw and (re.search(r"[/-]", raw) or len(raw) == 8) else None
        if when:
            terms["birth_date"] = when
        elif raw.isdigit() and len(raw) == MRN_LENGTH and is_valid_mrn(raw):
            terms["mrn"] = raw
        elif raw:
            rest.append(raw)
    remainder = " ".join(rest)
    for run in _PHONE_RUN.findall(remainder):
        if len(re.sub(r"\D", "", run)) >= 7:
            try:
                terms["phone"] = parse_phone(run)
            except ValueError:
                continue
            remainder = remainder.replace(run, " ")
    terms["names"] = [key for word in remainder.split() if (key := name_key(word))]
    return terms


# Search reads the table's columns (Core), not the mapped class: the ORM's
# per-statement and per-row work was most of a name search's cost.
_charts = Patient.__table__.c


def name_prefix(column: Any, word: str, *, seek: bool = True) -> Any:
    """`column` starts with `word`, as a range the index can seek: LIKE 'smi%'
    cannot use an index on SQLite (its LIKE ignores case, the index does not),
    so the search walked most of the table. Name keys are [a-z0-9 ] and a
    word has no spaces, so every match sorts in [word, next); the LIKE keeps
    the answer exact under any collation. With `seek=False` only the LIKE,
    so that the database seeks another column's index instead."""
    if not seek:
        return column.startswith(word, autoescape=True)
    upper = word[:-1] + chr(ord(word[-1]) + 1)
    return (column >= word) & (column < upper) & column.startswith(word, autoescape=True)


def name_reading(family: str | None, given: str | None) -> Any:
    """Charts whose family name starts with `family` and given name with
    `given` (None: any). Only one index is sought, on the longer word, which
    matches fewer names; a tie goes to the family name, whose index is in
    name order. SQLite keeps no statistics on prefixes: offered both ranges
    of 'garcia m' read backwards, it walked the family names starting with
    'm' (a tenth of the charts, 1 to 2 ms at 100k) rather than the given
    names starting with 'garcia' (none)."""
    on_family = given is None or (family is not None and len(family) >= len(given))
    conditions = []
    if family is not None:
        conditions.append(name_prefix(_charts.family_norm, family, seek=on_family))
    if given is not None:
        conditions.append(name_prefix(_charts.given_norm, given, seek=not on_family))
    return and_(*conditions)


MAX_NAME_WORDS = 4  # "de la cruz maria"
# Not sought alone (each would walk a long stretch of the index); kept in runs and checks.
NAME_PARTICLES = frozenset({"de", "del", "della", "la", "las", "los", "da", "das", "do", "dos",
                            "van", "von", "der", "den", "ter", "di", "du", "le", "el", "y", "e",
                            "bin", "ibn", "al", "st", "mc", "mac", "o"})


def _word_in_names(word: str) -> Any:
    """Some word of the family or given name starts with `word` (names are
    keys: words joined by single spaces). A longer word may also sit inside
    a joined name: a hyphenated "García-López" is kept as "garcialopez"."""
    out = []
    for column in (_charts.family_norm, _charts.given_norm):
        out.append(column.startswith(word, autoescape=True))
        out.append(column.contains(" " + word, autoescape=True))
        if len(word) >= 4:
            out.append(column.contains(word, autoescape=True))
    return or_(*out)


def name_readings(words: list[str]) -> list[Any]:
    """Every way the typed words can be the patient's names, as conditions
    that each seek one index. The front desk types names in any order, with
    or without a comma, and people have compound given names ("Miguel
    Ángel"), compound or hyphenated family names and particles ("de la
    Cruz", "van der Berg"): reading only the first word as one name and the
    last as the other missed "Sanches Ángel" and "Sanches Miguel Ángel".

    A chart matches a reading when a run of the words, in the order typed,
    starts its family or its given name (that run is what the index seeks)
    and every other word starts a word of either name. One word alone reads
    as the start of the family or of the given name, as before. Particles
    and initials are not sought on their own next to other words: "de"
    would walk every De..., Dean...; they stay in the runs ("de la cruz")
    and in the checks. Not found: words that each start only an
    inner word of both names ("Jose Cruz" for "de la Cruz, María José");
    finding those means walking every chart, which a search that matches
    nobody (the usual one before registering) would then always do."""
    if len(words) == 1:
        return [name_reading(words[0], None), name_reading(None, words[0])]
    alone = [w for w in words if len(w) > 1 and w not in NAME_PARTICLES] or words
    runs = [(i, j) for i in range(len(words)) for j in range(i + 1, len(words) + 1)
            if j - i > 1 or words[i] in alone]
    branches = []
    for i, j in runs:
        phrase = " ".join(words[i:j])
        others = [_word_in_names(w) for w in words[:i] + words[j:]]
        for column in (_charts.family_norm, _charts.given_norm):
            branches.append(and_(name_prefix(column, phrase), *others))
    return branches


# What a search result list shows, and the name keys it is in order of.
SEARCH_COLUMNS = tuple(_charts[name] for name in (
    "id", "mrn", "family_name", "given_name", "preferred_name", "birth_date",
    "phone_mobile", "phone_home", "postal_code", "family_norm", "given_norm"))
_name_order = attrgetter("family_norm", "given_norm", "id")


def search_patients(query: str, limit: int = 50) -> tuple[list[Row[Any]], str]:
    """Find charts by name, date of birth, phone or MRN (combinable).
    Returns rows of SEARCH_COLUMNS (attributes named as on Patient) and a
    short non-PHI description of the search kind.

    Rows, not Patient objects: building 50 full charts, and expiring them
    at the commit, cost more than the search itself, and grew with every
    result shown; a template cannot lazy-load anything from a row either."""
    terms = classify_query(query)
    stmt = db.select(*SEARCH_COLUMNS)
    kinds = []
    if "mrn" in terms:
        # A merged chart's MRN finds the chart it was merged into (services/merge.py).
        alias = db.select(Patient.merged_into_id).where(Patient.mrn == terms["mrn"],
                                                        Patient.merged_into_id.is_not(None))
        stmt = stmt.where(or_(and_(_charts.mrn == terms["mrn"], _charts.merged_into_id.is_(None)),
                              _charts.id.in_(alias)))
        kinds.append("mrn")
    if "birth_date" in terms:
        stmt = stmt.where(_charts.birth_date == terms["birth_date"])
        kinds.append("dob")
    if "phone" in terms:
        stmt = stmt.where(or_(_charts.phone_mobile == terms["phone"],
                              _charts.phone_home == terms["phone"]))
        kinds.append("phone")
    names = terms["names"][:MAX_NAME_WORDS]
    if names:
        kinds.append("name")
    if not kinds:
        return [], "empty"
    by_name = (_charts.family_norm, _charts.given_norm, _charts.id)
    if not names:
        found = list(db.session.execute(stmt.order_by(*by_name).limit(limit)).all())
    else:
        # One query per reading of the words, each in name order and cut at
        # `limit`, then merged: the first `limit` of the union are among the
        # first `limit` of each. See name_readings: each reading seeks one
        # index (a family or given name starting with some of the words) and
        # checks the other words against both names.
        branches = name_readings(names)
        # The limit written into the SQL, not bound: told only "LIMIT ?",
        # SQLite walks the family index in name order skipping across every
        # family name to find a rare given name (3 ms at 100k charts, and
        # worse with more distinct names) instead of seeking the given-name
        # index and sorting what it finds (0.01 ms).
        cut = literal(limit, literal_execute=True)
        merged: dict[int, Row[Any]] = {}
        for condition in branches:
            reading = stmt.where(condition).order_by(*by_name).limit(cut)
            for row in db.session.execute(reading).all():
                merged[row.id] = row
        found = sorted(merged.values(), key=_name_order)[:limit]
    audit.record("patient.search", object_type="patient",
                 detail=f"by={'+'.join(kinds)} results={len(found)}")
    return found, "+".join(kinds)
