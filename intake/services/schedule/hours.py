"""Providers' working hours: weekly templates, breaks and exceptions, turned
into the open intervals of a day. Wall-clock times become UTC instants per
day through zoneinfo, so 9:00 stays 9:00 across a daylight-saving change."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

from intake.extensions import db
from intake.models import AppointmentType, Provider, ScheduleBlock, ScheduleException, ScheduleTemplate
from intake.models.schedule import block_types
from intake.models.schedule import BlockKind, ExceptionKind
from intake.services import FieldErrors, audit

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Opening:
    """Part of a day a provider takes bookings: UTC bounds and the types the
    block takes (None: any type)."""

    start: datetime
    end: datetime
    type_ids: frozenset[int] | None

    def takes(self, type_id: int) -> bool:
        return self.type_ids is None or type_id in self.type_ids


@dataclass(frozen=True)
class Closed:
    start: datetime
    end: datetime
    why: str  # in the desk's words: "a break", "a day off", "a practice holiday"


def save_template(provider: Provider, effective_from: date,
                  blocks: Sequence[Mapping[str, Any]]) -> ScheduleTemplate:
    """A provider's week from `effective_from` on: each block is
    {weekday, starts, ends, kind ('hours'|'break'), type_ids}."""
    errors = []
    for n, block in enumerate(blocks, 1):
        if block["ends"] <= block["starts"]:
            errors.append(f"Block {n} ({WEEKDAYS[block['weekday']]}) ends before it starts.")
    if errors:
        raise FieldErrors({"blocks": errors})
    template = db.session.execute(db.select(ScheduleTemplate).filter_by(
        provider_id=provider.id, effective_from=effective_from)).scalar_one_or_none()
    if template is None:
        template = ScheduleTemplate(provider=provider, effective_from=effective_from)
        db.session.add(template)
    template.blocks.clear()
    for block in blocks:
        types = [db.session.get(AppointmentType, t) for t in block.get("type_ids") or ()]
        template.blocks.append(ScheduleBlock(
            weekday=block["weekday"], starts=block["starts"], ends=block["ends"],
            kind=block.get("kind", BlockKind.HOURS), types=[t for t in types if t]))
    db.session.flush()
    audit.record("schedule.template", object_type="provider", object_id=provider.id,
                 detail=f"from={effective_from.isoformat()} blocks={len(blocks)}")
    return template


def add_exception(provider: Provider | None, day: date, kind: str, *, starts: time | None = None,
                  ends: time | None = None, note: str | None = None) -> ScheduleException:
    if kind not in set(ExceptionKind):
        raise FieldErrors({"kind": ["Choose a day off, a half day or a practice holiday."]})
    if kind == ExceptionKind.HALF_DAY and (starts is None or ends is None or ends <= starts):
        raise FieldErrors({"starts": ["A half day needs the hours off, from and to."]})
    if kind == ExceptionKind.HOLIDAY:
        provider = None
    elif provider is None:
        raise FieldErrors({"provider_id": ["Choose a provider."]})
    exception = ScheduleException(provider_id=provider.id if provider else None, day=day,
                                  kind=kind, starts=starts, ends=ends, note=note)
    db.session.add(exception)
    db.session.flush()
    audit.record("schedule.exception", object_type="schedule_exception", object_id=exception.id,
                 detail=kind)
    return exception


# ---- a day's openings ------------------------------------------------------------

class Week:
    """The templates and exceptions of some providers over a date range,
    read as plain rows in three queries, answering per provider and day."""

    def __init__(self, provider_ids: Iterable[int], first: date, last: date, zone: ZoneInfo):
        ids = list(provider_ids)
        self.zone = zone
        self.templates: dict[int, list[tuple[date, int]]] = {pid: [] for pid in ids}
        for tid, pid, since in db.session.execute(
                db.select(ScheduleTemplate.id, ScheduleTemplate.provider_id,
                          ScheduleTemplate.effective_from)
                .where(ScheduleTemplate.provider_id.in_(ids))
                .order_by(ScheduleTemplate.effective_from.desc())):
            self.templates[pid].append((since, tid))
        types: dict[int, set[int]] = {}
        blocks = list(db.session.execute(
            db.select(ScheduleBlock.id, ScheduleBlock.template_id, ScheduleBlock.weekday,
                      ScheduleBlock.starts, ScheduleBlock.ends, ScheduleBlock.kind,
                      block_types.c.type_id)
            .outerjoin(block_types, block_types.c.block_id == ScheduleBlock.id)
            .join(ScheduleTemplate, ScheduleTemplate.id == ScheduleBlock.template_id)
            .where(ScheduleTemplate.provider_id.in_(ids))))
        for bid, *_, type_id in blocks:
            if type_id is not None:
                types.setdefault(bid, set()).add(type_id)
        # (template, weekday) -> (hours [(starts, ends, types or None)], breaks [(starts, ends)])
        self._by_weekday: dict[tuple[int, int], tuple[list, list]] = {}
        seen: set[int] = set()
        for bid, tid, weekday, starts, ends, kind, _ in sorted(blocks, key=lambda r: r[3]):
            if bid in seen:
                continue
            seen.add(bid)
            hours, breaks = self._by_weekday.setdefault((tid, weekday), ([], []))
            if kind == BlockKind.HOURS:
                hours.append((starts, ends, frozenset(types[bid]) if bid in types else None))
            else:
                breaks.append((starts, ends))
        self.exceptions: dict[tuple[int | None, date], list[ScheduleException]] = {}
        for exc in db.session.execute(db.select(ScheduleException).where(
                ScheduleException.day.between(first, last))).scalars():
            self.exceptions.setdefault((exc.provider_id, exc.day), []).append(exc)

    def template_on(self, provider_id: int, day: date) -> int | None:
        for since, template_id in self.templates.get(provider_id, ()):  # newest first
            if since <= day:
                return template_id
        return None

    def _blocks(self, template_id: int, weekday: int) -> tuple[list, list]:
        return self._by_weekday.get((template_id, weekday), ([], []))

    def _at(self, day: date, t: time) -> datetime:
        return datetime.combine(day, t, self.zone).astimezone(timezone.utc)

    def closed(self, provider_id: int, day: date) -> list[Closed]:
        """Breaks and exceptions of the day, as UTC intervals with a reason."""
        template = self.template_on(provider_id, day)
        out = []
        if template is not None:
            out += [Closed(self._at(day, s), self._at(day, e), "a break")
                    for s, e in self._blocks(template, day.weekday())[1]]
        for exc in self.exceptions.get((provider_id, day), []) + self.exceptions.get((None, day), []):
            why = {"day_off": "a day off", "half_day": "time off",
                   "holiday": "a practice holiday"}[exc.kind]
            start, end = exc.starts or time.min, exc.ends
            end_at = self._at(day, end) if end else self._at(day, time.max)
            out.append(Closed(self._at(day, start), end_at, why))
        return out

    def openings(self, provider_id: int, day: date) -> list[Opening]:
        """The hours of the day minus breaks and exceptions, in time order."""
        template = self.template_on(provider_id, day)
        if template is None:
            return []
        hours, _ = self._blocks(template, day.weekday())
        if not hours:
            return []
        closed = [(c.start, c.end) for c in self.closed(provider_id, day)]
        out = []
        for s, e, types in hours:
            pieces = [(self._at(day, s), self._at(day, e))]
            for cs, ce in closed:
                pieces = [p for a, b in pieces for p in ((a, min(b, cs)), (max(a, ce), b))
                          if p[1] > p[0]]
            out += [Opening(a, b, types) for a, b in pieces]
        return sorted(out, key=lambda o: o.start)


def parse_ranges(text: str | None) -> list[tuple[time, time]]:
    """"08:00-12:00, 13:00-17:00" -> [(08:00, 12:00), (13:00, 17:00)]."""
    out = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip().replace("–", "-")
        if not part:
            continue
        try:
            start, end = (time.fromisoformat(p.strip().zfill(5)) for p in part.split("-"))
        except ValueError:
            raise FieldErrors({"ranges": [f"'{part}' is not a time range like 08:00-12:00."]}) \
                from None
        if end <= start:
            raise FieldErrors({"ranges": [f"'{part}' ends before it starts."]})
        out.append((start, end))
    return out


def template_blocks(week: Mapping[int, tuple[str | None, str | None]]) -> list[dict[str, Any]]:
    """Blocks from typed hours and breaks per weekday; errors keyed by field."""
    blocks: list[dict[str, Any]] = []
    errors: dict[str, list[str]] = {}
    for weekday, (typed_hours, typed_breaks) in week.items():
        for name, text, kind in ((f"hours_{weekday}", typed_hours, BlockKind.HOURS),
                                 (f"breaks_{weekday}", typed_breaks, BlockKind.BREAK)):
            try:
                blocks += [{"weekday": weekday, "starts": s, "ends": e, "kind": kind}
                           for s, e in parse_ranges(text)]
            except FieldErrors as exc:
                errors[name] = exc.errors["ranges"]
    if errors:
        raise FieldErrors(errors)
    return blocks


def list_templates() -> list[ScheduleTemplate]:
    return list(db.session.execute(
        db.select(ScheduleTemplate).order_by(ScheduleTemplate.provider_id,
                                             ScheduleTemplate.effective_from.desc())).scalars())


def upcoming_exceptions(since: date) -> list[ScheduleException]:
    return list(db.session.execute(db.select(ScheduleException).where(
        ScheduleException.day >= since).order_by(ScheduleException.day)).scalars())


def save_type(data: Mapping[str, Any]) -> AppointmentType:
    name = (data.get("name") or "").strip()
    if db.session.execute(db.select(AppointmentType).filter_by(name=name)).scalar_one_or_none():
        raise FieldErrors({"name": ["There is already a type with this name."]})
    minutes = int(data.get("minutes") or 0)
    if minutes <= 0 or minutes % 5:
        raise FieldErrors({"minutes": ["Lengths go in steps of 5 minutes."]})
    kind = AppointmentType(name=name, minutes=minutes, colour=data.get("colour") or "#0d6efd",
                           new_patients=bool(data.get("new_patients")))
    db.session.add(kind)
    db.session.flush()
    audit.record("schedule.type", object_type="appointment_type", object_id=kind.id)
    return kind
