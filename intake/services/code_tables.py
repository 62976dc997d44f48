"""Code-table imports from the admin pages, the tables' status, and held visits.

An upload is staged in ``<instance>/codes-staging/<token>/``, validated whole
and compared with the table in force (counts and examples of added, deleted,
re-titled codes and codes turned into headers); nothing changes until the
admin confirms. Applying re-reads the staged file (the same validation),
installs the tables, audits who imported what, and re-checks every visit
that billing holds on a provisional code of that system and period.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from intake.codes import CheckResult, CodeEngine, ImportFailed, Status, System, TableInfo
from intake.codes.engine import missing_release, release_name
from intake.codes.systems import display_code
from intake.codes.importers import install, prepare_cpt, prepare_hcpcs, prepare_icd10cm
from intake.codes.table import CodeTable
from intake.extensions import db
from intake.models import ExportedVisit, Visit
from intake.services import FieldErrors, NotFound, audit, charges, clock

KINDS = {"icd10cm": "ICD-10-CM (CDC order file, or the code-descriptions zip)",
         "hcpcs": "HCPCS Level II (CMS quarterly file, or its zip)",
         "cpt": "CPT (the office's licensed file)"}
WARN_DAYS = 60
EXAMPLES = 5
# Where the releases are published, for the banner (no command lines).
PUBLISHERS = {
    System.ICD10CM: "CDC publishes it at https://www.cdc.gov/nchs/icd/icd-10-cm/files.html (Code Descriptions zip)",
    System.HCPCS: "CMS publishes it at https://www.cms.gov/medicare/coding-billing/healthcare-common-procedure-system/quarterly-update",
    System.MODIFIER: "it comes in the CMS HCPCS file: https://www.cms.gov/medicare/coding-billing/healthcare-common-procedure-system/quarterly-update",
}
_TOKEN = re.compile(r"[0-9a-f]{16}")
_REFUSED = (Status.UNKNOWN, Status.HEADER, Status.TERMINATED, Status.NOT_YET_EFFECTIVE)


@dataclass
class TableChange:
    """One table of an import against the table in force, for the preview."""

    name: str
    release: str
    date_range: str
    count: int
    compared_with: str | None
    added: int = 0
    deleted: int = 0
    retitled: int = 0
    now_headers: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Staged:
    token: str
    kind: str
    filename: str
    year: int | None
    changes: list[TableChange]


def _staging(token: str | None = None) -> Path:
    root = Path(current_app.instance_path) / "codes-staging"
    return root if token is None else root / token


def _prepare(kind: str, path: Path, year: int | None) -> list[CodeTable]:
    if kind == "icd10cm":
        return prepare_icd10cm(path, year)
    if kind == "hcpcs":
        return prepare_hcpcs(path, year)
    return prepare_cpt(path, year)


def _compare(engine: CodeEngine, table: CodeTable) -> TableChange:
    info = table.info
    start = info.effective_from or clock.today()
    old = engine.table_for(info.system, start) or engine.nearest(info.system, start)
    change = TableChange(info.name, release_name(info), info.date_range, len(table),
                         release_name(old.info) if old else None)
    if old is None:
        change.added = len(table)
        change.examples["added"] = [f"{display_code(c, info.system)} {d}"
                                    for c, d in zip(table.codes[:EXAMPLES], table.descriptions[:EXAMPLES],
                                                    strict=False)]
        return change
    new_codes, old_codes = set(table.codes), set(old.codes)
    added, deleted = sorted(new_codes - old_codes), sorted(old_codes - new_codes)
    retitled, headers = [], []
    for code in sorted(new_codes & old_codes):
        n, o = table.row(code), old.row(code)
        assert n is not None and o is not None
        if table.kinds[n] == "H" and old.kinds[o] != "H":
            headers.append(code)
        elif table.descriptions[n] != old.descriptions[o] and table.kinds[n] != "C":
            retitled.append(code)
    change.added, change.deleted, change.retitled, change.now_headers = (
        len(added), len(deleted), len(retitled), len(headers))

    def show(codes: list[str], source: CodeTable) -> list[str]:
        system = source.info.system
        return [f"{display_code(code, system)} {source.descriptions[source.row(code) or 0]}".strip()
                for code in codes[:EXAMPLES]]

    change.examples = {"added": show(added, table), "deleted": show(deleted, old),
                       "retitled": show(retitled, table), "now headers": show(headers, table)}
    return change


def stage_upload(kind: str, upload: FileStorage, year: int | None) -> Staged:
    """Save and validate an uploaded release file; the preview of what it would change."""
    if kind not in KINDS:
        raise FieldErrors({"kind": ["Choose which code system the file holds."]})
    filename = secure_filename(upload.filename or "") or "upload.txt"
    token = secrets.token_hex(8)
    folder = _staging(token)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    upload.save(path)
    try:
        tables = _prepare(kind, path, year)
    except ImportFailed as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise FieldErrors({"file": [f"{error}. Nothing was changed."]}) from None
    engine = charges.engine()
    staged = Staged(token, kind, filename, year, [_compare(engine, t) for t in tables])
    (folder / "staged.json").write_text(json.dumps(asdict(staged)))
    return staged


def get_staged(token: str) -> Staged:
    meta = _staging(token) / "staged.json" if _TOKEN.fullmatch(token) else None
    if meta is None or not meta.is_file():
        raise NotFound("No such import is waiting: upload the file again.")
    data = json.loads(meta.read_text())
    data["changes"] = [TableChange(**c) for c in data["changes"]]
    return Staged(**data)


def discard(token: str) -> None:
    staged = get_staged(token)
    shutil.rmtree(_staging(staged.token), ignore_errors=True)


@dataclass
class Applied:
    infos: list[TableInfo]
    rechecked: int
    released: int
    refused: list[tuple[int, str, str]]  # visit id, code, reason


def apply_import(token: str) -> Applied:
    """Install a staged import (validated again), audit it, re-check the visits held on provisional codes."""
    staged = get_staged(token)
    folder = _staging(staged.token)
    tables = _prepare(staged.kind, folder / staged.filename, staged.year)
    systems = {t.info.system for t in tables}
    held = [v for v in held_visits() if any(r.system in systems for r in _provisional(charges.engine(), v))]
    try:
        infos = install(tables, Path(current_app.instance_path), force=True)
    except ImportFailed as error:
        raise FieldErrors({"file": [f"{error}. Nothing was changed."]}) from None
    shutil.rmtree(folder, ignore_errors=True)
    for info in infos:
        audit.record("codes.import", object_type="code_table",
                     detail=f"{info.name} {info.count} codes from {staged.filename}")
    engine = charges.engine()  # a new engine: the instance directory changed
    refused = [(v.id, r.code, r.reason) for v in held for r in _checks(engine, v) if r.status in _REFUSED]
    released = sum(1 for v in held if not any(r.provisional or r.status in _REFUSED for r in _checks(engine, v)))
    audit.record("codes.recheck", object_type="visit", detail=f"held={len(held)} released={released}")
    return Applied(infos, len(held), released, refused)


def _checks(engine: CodeEngine, visit: Visit) -> list[CheckResult]:
    day = visit.date_of_service
    results = [engine.check(d.code, System.ICD10CM, day) for d in visit.diagnoses]
    for line in visit.lines:
        results.append(engine.check(line.code, line.system, day))
        results += [engine.check(m, System.MODIFIER, day) for m in line.modifiers]
    return results


def _provisional(engine: CodeEngine, visit: Visit) -> list[CheckResult]:
    return [r for r in _checks(engine, visit) if r.provisional]


def held_visits() -> list[Visit]:
    """Visits with charges that have not been exported yet (the ones a new table can still change)."""
    exported = db.select(ExportedVisit.visit_id)
    return list(db.session.execute(
        db.select(Visit).where(Visit.id.not_in(exported), Visit.state.not_in(["cancelled", "no_show"]),
                               Visit.diagnoses.any())
        .options(selectinload(Visit.diagnoses), selectinload(Visit.lines))
        .order_by(Visit.date_of_service, Visit.id)).scalars())


@dataclass
class CodeProblem:
    visit: Visit
    code: str
    status: str
    reason: str


def code_problems() -> list[CodeProblem]:
    """Codes on not-yet-exported visits that the tables now refuse (deleted, turned into headers, ended)."""
    engine = charges.engine()
    problems = [CodeProblem(v, r.code, str(r.status), r.reason)
                for v in held_visits() for r in _checks(engine, v) if r.status in _REFUSED]
    audit.record("billing.code_problems", object_type="visit", detail=f"codes={len(problems)}")
    return problems


# -- the tables and the end of their year -----------------------------------------


@dataclass
class TableRow:
    info: TableInfo
    status: str


def table_rows() -> list[TableRow]:
    """Every table with its dates and status on the practice's today."""
    today = clock.today()
    rows = []
    for info in charges.engine().tables():
        if info.effective_from and today < info.effective_from:
            status = "upcoming"
        elif info.effective_to and today > info.effective_to:
            status = "ended"
        elif info.effective_to and (info.effective_to - today).days <= WARN_DAYS:
            status = f"in force, ends in {(info.effective_to - today).days} days"
        else:
            status = "in force"
        rows.append(TableRow(info, status))
    return rows


def end_warnings(today: date | None = None) -> list[str]:
    """Banner lines: a table in force ends within 60 days, or none covers today, and the next is not loaded."""
    today = today or clock.today()
    engine = charges.engine()
    warnings = []
    for system in (System.ICD10CM, System.HCPCS):
        current = engine.table_for(system, today)
        if current is not None:
            end = current.info.effective_to
            if end is None or (end - today).days > WARN_DAYS or engine.table_for(system, end + timedelta(days=1)):
                continue
            warnings.append(f"{release_name(current.info)} ends on {end:%m/%d/%Y}: import "
                            f"{missing_release(system, end + timedelta(days=1))} from Admin › Code tables; "
                            f"{PUBLISHERS[system]}.")
        elif engine.nearest(system, today) is not None:
            warnings.append(f"No {system.label} table covers today: codes are checked provisionally and billing "
                            f"holds those visits. Import {missing_release(system, today)} from Admin › Code tables; "
                            f"{PUBLISHERS[system]}.")
    return warnings


def describe(kind: str) -> Any:
    return KINDS.get(kind, kind)
