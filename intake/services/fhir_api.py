"""The FHIR REST API's reads and searches: which rows answer a request, and
the saved terms of POST searches that their paging links name. Mapping rows
to FHIR JSON is intake.fhir's job; this module queries."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from flask import current_app
from sqlalchemy import Select, false, or_
from sqlalchemy.orm import selectinload

from intake.extensions import db
from intake.models import (ApiToken, Appointment, BilledClaim, Coverage, Patient, Payer, Practice,
                           Provider, SavedSearch, ScheduleTemplate, SignedConsent, Visit,
                           VisitDiagnosis)
from intake.models.base import utcnow
from intake.normalize import name_key
from intake.services import audit

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
MAX_COUNT = 100
DEFAULT_COUNT = 20
# The parameter a POST search's paging links carry: the opaque id of its saved terms.
CONTINUATION = "_getpages"
PAGING = ("_count", "_offset")


class SearchError(ValueError):
    """A request we will not guess at: answered 400 with an OperationOutcome."""


class SavedSearchUnknown(SearchError):
    """A paging link this token did not get (or for another type): 404."""


class SavedSearchExpired(SearchError):
    """A paging link whose saved terms have expired: 410."""


def _day_range(value: str) -> tuple[str, datetime, datetime]:
    """FHIR date search: optional prefix (eq, ge, gt, le, lt) and a date or
    a date-time; returns the prefix and the UTC interval the value denotes."""
    match = re.fullmatch(r"(eq|ne|ge|gt|le|lt|sa|eb|ap)?(\d{4}-\d{2}-\d{2})(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?",
                         value)
    if not match:
        raise SearchError(f"'{value}' is not a FHIR date (YYYY-MM-DD, optionally with a prefix).")
    prefix = match.group(1) or "eq"
    if prefix not in ("eq", "ge", "gt", "le", "lt"):
        raise SearchError(f"Date prefix '{prefix}' is not supported; use eq, ge, gt, le or lt.")
    day = date.fromisoformat(match.group(2))
    if match.group(3):
        moment = datetime.fromisoformat(match.group(2) + match.group(3).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return prefix, moment, moment
    start = datetime.combine(day, time.min, timezone.utc)
    return prefix, start, start + timedelta(days=1)


def _date_filter(column: Any, value: str, *, is_date: bool) -> Any:
    prefix, start, end = _day_range(value)
    if is_date:
        start_v, end_v = start.date(), end.date()
        if start_v == end_v:
            end_v = start_v + timedelta(days=1)
    else:
        start_v, end_v = start, end if end > start else start + timedelta(microseconds=1)
    return {"eq": (column >= start_v) & (column < end_v), "ge": column >= start_v,
            "gt": column >= end_v, "le": column < end_v, "lt": column < start_v}[prefix]


def _id_filter(resource_type: str, id_column: Any, ids: list[str]) -> Any:
    if resource_type == "Claim":
        keys = [k for k in (claim_key(i) for i in ids) if k is not None]
        return or_(false(), *[(BilledClaim.visit_id == v) & (BilledClaim.version == n) for v, n in keys])
    return id_column.in_([int(v) for v in ids if is_id(v)])


def claim_key(fhir_id: str) -> tuple[int, int] | None:
    """Claim/12 -> (visit 12, version 1); Claim/12-3 -> (12, 3)."""
    visit, _, version = fhir_id.partition("-")
    if not is_id(visit) or (version and not is_id(version)):
        return None
    return int(visit), int(version) if version else 1


def is_id(value: str) -> bool:
    """An id we can have issued: ASCII digits within INTEGER. (str.isdigit
    accepts '²', which int() refuses, and any length, which the database refuses.)"""
    return re.fullmatch(r"[0-9]{1,10}", value) is not None and int(value) < 2**31


def _ref_id(value: str, resource_type: str) -> int:
    """'Patient/12' or '12' -> 12."""
    raw = value.removeprefix(f"{resource_type}/")
    if not is_id(raw):
        raise SearchError(f"'{value}' is not a {resource_type} reference like {resource_type}/12.")
    return int(raw)


def _name(stmt: Select, value: str) -> Select:
    key = name_key(value)
    if not key:  # '%', '*', '_': nothing left to match, so match nothing (not everyone)
        return stmt.where(false())
    return stmt.where(or_(Patient.family_norm.startswith(key, autoescape=True),
                          Patient.given_norm.startswith(key, autoescape=True)))


def _name_part(column: Any) -> Filter:
    def where(stmt: Select, value: str) -> Select:
        key = name_key(value)
        return stmt.where(column.startswith(key, autoescape=True) if key else false())
    return where


def _token(value: str, system: str) -> list[str]:
    """The values a token search matches in an identifier of `system`, per
    FHIR: ``system|value`` only that system, ``|value`` no system (ours all
    have one: nothing), ``value`` any system; a comma means OR."""
    wanted = []
    for part in _split(value):
        if "|" in part:
            part_system, part_value = part.split("|", 1)
            if part_system != system or not part_value:
                continue
            wanted.append(part_value)
        else:
            wanted.append(part)
    return wanted


def _split(value: str) -> list[str]:
    """A parameter's comma-separated alternatives (a '\\,' is a literal comma)."""
    parts = re.split(r"(?<!\\),", value)
    return [p.replace("\\,", ",") for p in parts if p]


def _identifier(stmt: Select, value: str) -> Select:
    """The chart with this MRN (in our MRN system, or any when no system is
    given), and the chart it was merged into (which carries it as an old
    identifier)."""
    mrns = _token(value, _mrn_system())
    merged_into = db.select(Patient.merged_into_id).where(Patient.mrn.in_(mrns),
                                                          Patient.merged_into_id.is_not(None))
    return stmt.where(or_(Patient.mrn.in_(mrns), Patient.id.in_(merged_into)))


def _mrn_system() -> str:
    from intake.fhir import FhirSettings

    return FhirSettings.from_config(current_app.config).mrn_system


Filter = Callable[[Select, str], Select]

SEARCH: dict[str, dict[str, Filter]] = {
    "Patient": {
        "name": _name,
        "family": _name_part(Patient.family_norm),
        "given": _name_part(Patient.given_norm),
        "birthdate": lambda s, v: s.where(_date_filter(Patient.birth_date, v, is_date=True)),
        "identifier": _identifier,
        "_lastUpdated": lambda s, v: s.where(_date_filter(Patient.updated_at, v, is_date=False)),
    },
    "Coverage": {
        "patient": lambda s, v: s.where(Coverage.patient_id == _ref_id(v, "Patient")),
        "beneficiary": lambda s, v: s.where(Coverage.patient_id == _ref_id(v, "Patient")),
        "_lastUpdated": lambda s, v: s.where(_date_filter(Coverage.updated_at, v, is_date=False)),
    },
    "RelatedPerson": {
        "patient": lambda s, v: s.where(Coverage.patient_id == _ref_id(v, "Patient")),
    },
    "Encounter": {
        "patient": lambda s, v: s.where(Visit.patient_id == _ref_id(v, "Patient")),
        "date": lambda s, v: s.where(_date_filter(Visit.date_of_service, v, is_date=True)),
        "_lastUpdated": lambda s, v: s.where(_date_filter(Visit.updated_at, v, is_date=False)),
    },
    "Claim": {
        "patient": lambda s, v: s.where(BilledClaim.patient_id == _ref_id(v, "Patient")),
        "created": lambda s, v: s.where(_date_filter(BilledClaim.billed_at, v, is_date=False)),
        "_lastUpdated": lambda s, v: s.where(_date_filter(BilledClaim.updated_at, v, is_date=False)),
    },
    "Condition": {
        "patient": lambda s, v: s.join(Visit, Visit.id == VisitDiagnosis.visit_id)
        .where(Visit.patient_id == _ref_id(v, "Patient")),
        "encounter": lambda s, v: s.where(VisitDiagnosis.visit_id == _ref_id(v, "Encounter")),
    },
    "Consent": {
        "patient": lambda s, v: s.where(SignedConsent.patient_id == _ref_id(v, "Patient")),
    },
    "Organization": {},
    "Practitioner": {
        "identifier": lambda s, v: s.where(Provider.npi.in_(_token(v, NPI_SYSTEM))),
    },
    "Schedule": {
        "actor": lambda s, v: s.where(Provider.id == _ref_id(v, "Practitioner")),
    },
    "Slot": {
        "schedule": lambda s, v: s.where(Appointment.provider_id == _ref_id(v, "Schedule")),
        "start": lambda s, v: s.where(_date_filter(Appointment.start_at, v, is_date=False)),
    },
    "Appointment": {
        "patient": lambda s, v: s.where(Appointment.patient_id == _ref_id(v, "Patient")),
        "practitioner": lambda s, v: s.where(
            Appointment.provider_id == _ref_id(v, "Practitioner")),
        "date": lambda s, v: s.where(_date_filter(Appointment.start_at, v, is_date=False)),
        "status": lambda s, v: s.where(Appointment.status.in_(_appointment_statuses(v))),
        "_lastUpdated": lambda s, v: s.where(_date_filter(Appointment.updated_at, v,
                                                          is_date=False)),
    },
}


def _appointment_statuses(value: str) -> list[str]:
    """R4 statuses (comma-separated) -> the booking statuses behind them."""
    wanted = {"booked": ["booked"], "cancelled": ["cancelled"], "noshow": ["no_show"],
              "arrived": ["arrived"], "checked-in": ["arrived"], "fulfilled": ["arrived"]}
    out = []
    for code in value.split(","):
        if code not in wanted:
            raise SearchError(f"Appointment status '{code}' is not one this server uses; "
                              f"use {', '.join(wanted)}.")
        out += wanted[code]
    return out

SORT: dict[str, dict[str, Any]] = {
    "Patient": {"family": Patient.family_norm, "given": Patient.given_norm,
                "birthdate": Patient.birth_date, "_lastUpdated": Patient.updated_at,
                "_id": Patient.id},
    "Encounter": {"date": Visit.date_of_service, "_lastUpdated": Visit.updated_at, "_id": Visit.id},
    "Claim": {"created": BilledClaim.billed_at, "_id": BilledClaim.id},
    "Coverage": {"_id": Coverage.id},
    "Appointment": {"date": Appointment.start_at, "_lastUpdated": Appointment.updated_at,
                    "_id": Appointment.id},
    "Slot": {"start": Appointment.start_at, "_id": Appointment.id},
}


def base_query(resource_type: str) -> tuple[Select, Any]:
    """The query behind a type, and its id column (the search's, the read's
    and the bulk export's starting point)."""
    if resource_type == "Patient":
        return db.select(Patient).options(selectinload(Patient.merged_charts)), Patient.id
    if resource_type == "Coverage":
        # Ended coverages stay readable (with their period); old claims point to them.
        return (db.select(Coverage)
                .options(selectinload(Coverage.payer), selectinload(Coverage.patient)), Coverage.id)
    if resource_type == "RelatedPerson":
        return (db.select(Coverage).where(Coverage.relationship_code != "self")
                .options(selectinload(Coverage.patient)), Coverage.id)
    if resource_type == "Encounter":
        return db.select(Visit).options(selectinload(Visit.provider)), Visit.id
    if resource_type == "Claim":
        # Billed claims only, as frozen; self-pay ones have no Claim.
        return db.select(BilledClaim).where(BilledClaim.self_pay.is_(False)), BilledClaim.id
    if resource_type == "Condition":
        return (db.select(VisitDiagnosis).options(selectinload(VisitDiagnosis.visit)),
                VisitDiagnosis.id)
    if resource_type == "Practitioner":
        return db.select(Provider), Provider.id
    if resource_type == "Consent":
        return db.select(SignedConsent), SignedConsent.id
    if resource_type == "Schedule":
        return (db.select(Provider).where(Provider.id.in_(db.select(ScheduleTemplate.provider_id))),
                Provider.id)
    if resource_type == "Slot":  # the time each active booking takes
        return (db.select(Appointment).where(Appointment.status.in_(("booked", "arrived")))
                .options(selectinload(Appointment.type)), Appointment.id)
    if resource_type == "Appointment":
        return (db.select(Appointment).options(selectinload(Appointment.type),
                                               selectinload(Appointment.visit)), Appointment.id)
    raise SearchError(f"{resource_type} is not served here.")


@dataclass
class Page:
    rows: list[Any]
    total: int
    offset: int
    count: int
    saved_id: str | None = None  # a POST search's: its links name this, not the terms


def search(resource_type: str, params: Mapping[str, list[str]]) -> Page:
    """Rows of a type matching FHIR search parameters. Unknown parameters are
    refused rather than ignored, so a client never mistakes a partial answer
    for a filtered one."""
    allowed = SEARCH.get(resource_type)
    if allowed is None and resource_type != "Organization":
        raise SearchError(f"{resource_type} is not served here.")
    count = _int_param(params, "_count", DEFAULT_COUNT, 0, MAX_COUNT)
    offset = _int_param(params, "_offset", 0, 0, 10**9)
    if resource_type == "Organization":
        return _organization_page(params, count, offset)
    stmt, id_column = base_query(resource_type)
    for name, values in params.items():
        if name in ("_count", "_offset", "_sort", "_format"):
            continue
        if name == "_id":
            for value in values:  # repeated: AND; comma: OR
                stmt = stmt.where(_id_filter(resource_type, id_column, _split(value)))
            continue
        if name not in allowed:
            raise SearchError(f"Search parameter '{name}' is not supported for {resource_type}; "
                              f"supported: {', '.join(sorted(allowed) + ['_id', '_count', '_sort'])}.")
        for value in values:
            stmt = allowed[name](stmt, value)
    total = db.session.scalar(db.select(db.func.count()).select_from(stmt.subquery()))
    stmt = stmt.order_by(*_order(resource_type, params.get("_sort", []), id_column))
    rows = list(db.session.execute(stmt.offset(offset).limit(count)).scalars()) if count else []
    audit.record("fhir.search", object_type=resource_type.lower(),
                 detail=f"params={','.join(sorted(params))} results={len(rows)}")
    return Page(rows=rows, total=total or 0, offset=offset, count=count)


def post_search(resource_type: str, params: Mapping[str, list[str]], token: ApiToken) -> Page:
    """A search whose terms came in a POST body (to keep them out of URLs and
    access logs). The terms are saved under an opaque id that the result's
    paging links carry instead, for INTAKE_FHIR_SEARCH_TTL_MINUTES."""
    if CONTINUATION in params:
        raise SearchError(f"{CONTINUATION} belongs in a paging link (GET); a POST search "
                          f"takes the search parameters themselves.")
    page = search(resource_type, params)
    terms = {k: list(v) for k, v in params.items() if k not in ("_offset", "_format")}
    minutes = current_app.config["INTAKE_FHIR_SEARCH_TTL_MINUTES"]
    saved = SavedSearch(id=secrets.token_urlsafe(32), token_id=token.id,
                        resource_type=resource_type, params=terms,
                        expires_at=utcnow() + timedelta(minutes=minutes))
    db.session.add(saved)
    db.session.flush()
    page.saved_id = saved.id
    return page


def continue_search(resource_type: str, params: Mapping[str, list[str]], token: ApiToken) -> Page:
    """A page of a POST search through one of its links: the saved terms
    with the link's _offset and _count. Only the token that searched may."""
    extra = sorted(set(params) - {CONTINUATION, "_format", *PAGING})
    if extra:
        raise SearchError(f"A paging link takes only _offset and _count besides {CONTINUATION} "
                          f"(not {', '.join(extra)}); POST a new search to change its terms.")
    ids = params[CONTINUATION]
    saved = db.session.get(SavedSearch, ids[0]) if len(ids) == 1 and ids[0] else None
    if saved is None or saved.token_id != token.id or saved.resource_type != resource_type:
        raise SavedSearchUnknown("This search is not known here; POST it again.")
    if saved.expires_at <= utcnow():
        raise SavedSearchExpired("This search has expired; POST it again.")
    page = search(resource_type, {**saved.params, **{k: v for k, v in params.items() if k in PAGING}})
    page.saved_id = saved.id
    return page


def purge_expired_searches() -> int:
    """Delete saved POST searches past their time (they hold search terms)."""
    result = db.session.execute(db.delete(SavedSearch).where(SavedSearch.expires_at <= utcnow()))
    return result.rowcount or 0


def _int_param(params: Mapping[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    values = params.get(name)
    if not values:
        return default
    if not re.fullmatch(r"[0-9]{1,12}", values[0]):
        raise SearchError(f"{name} must be a whole number.")
    return max(low, min(int(values[0]), high))


def _order(resource_type: str, sort: list[str], id_column: Any) -> list[Any]:
    """Only allow-listed sort keys reach SQL: a name, never an expression."""
    allowed = SORT.get(resource_type, {"_id": id_column})
    order = []
    for key in (k for value in sort for k in value.split(",") if k):
        column = allowed.get(key.lstrip("-"))
        if column is None:
            raise SearchError(f"Sorting {resource_type} by '{key}' is not supported; "
                              f"use {', '.join(sorted(allowed))}.")
        order.append(column.desc() if key.startswith("-") else column.asc())
    return order + [id_column.asc()]


def organization_rows(session: Any = None) -> list[Practice | Payer]:
    """The rows Organization resources come from: the practice, then the payers
    (not the self-pay "payer": it is no organization)."""
    session = session or db.session
    practice = session.get(Practice, 1)
    payers = session.execute(db.select(Payer).where(Payer.kind != "self_pay")
                             .order_by(Payer.id)).scalars()
    return ([practice] if practice is not None else []) + list(payers)


def _organization_page(params: Mapping[str, list[str]], count: int, offset: int) -> Page:
    for name in params:
        if name not in ("_count", "_offset", "_id"):
            raise SearchError(f"Search parameter '{name}' is not supported for Organization.")
    rows = organization_rows()
    for value in params.get("_id", []):
        wanted = _split(value)
        rows = [r for r in rows if organization_id(r) in wanted]
    return Page(rows=rows[offset:offset + count], total=len(rows), offset=offset, count=count)


def organization_id(row: Practice | Payer) -> str:
    return "practice" if isinstance(row, Practice) else f"payer-{row.id}"


def read(resource_type: str, resource_id: str) -> Any | None:
    """One row by its FHIR id, audited as a chart read when it is one."""
    if resource_type == "Organization":
        if resource_id == "practice":
            return db.session.get(Practice, 1)
        if resource_id.startswith("payer-") and is_id(resource_id[6:]):
            return db.session.get(Payer, int(resource_id[6:]))
        return None
    stmt, id_column = base_query(resource_type)
    if resource_type == "Claim":
        key = claim_key(resource_id)
        if key is None:
            return None
        stmt = stmt.where(BilledClaim.visit_id == key[0], BilledClaim.version == key[1])
    elif is_id(resource_id):
        stmt = stmt.where(id_column == int(resource_id))
    else:
        return None
    row = db.session.execute(stmt).scalar_one_or_none()
    if row is not None:
        audit.record("fhir.read", patient_id=patient_of(row), object_type=resource_type.lower(),
                     object_id=row.id)
    return row


def patient_of(row: Any) -> int | None:
    if isinstance(row, Patient):
        return row.id
    if isinstance(row, (Coverage, Visit, SignedConsent, Appointment, BilledClaim)):
        return row.patient_id
    if isinstance(row, VisitDiagnosis):
        return row.visit.patient_id
    return None
