"""pyx12, the independent HIPAA X12 validator: its findings and its 999.

pyx12 walks the file against its map of the 005010X222A1 implementation
guide (loops, segment order and counts, element lengths, code values, control
numbers and trailers) and writes the 999 acknowledgement a receiver would.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Validation:
    valid: bool
    findings: tuple[str, ...]  # "line 12 SV1: ..." in pyx12's words
    ack_999: str  # the 999 acknowledgement pyx12 would send back

    @property
    def accepted(self) -> bool:
        """The 999 accepts every transaction set (IK5*A / AK9*A)."""
        return self.valid and "AK9*A" in self.ack_999


def validate_837p(content: str) -> Validation:
    import pyx12.error_handler  # noqa: F401  (pyx12 imports its pieces lazily)
    import pyx12.params
    import pyx12.x12n_document

    params = pyx12.params.ParamsBase()
    ack, report = io.StringIO(), io.StringIO()
    logger = logging.getLogger("pyx12")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # pyx12 logs every finding; we return them instead
    try:
        valid = pyx12.x12n_document.x12n_document(params, io.StringIO(content), ack, None,
                                                  fd_json=report)
    except Exception as exc:  # noqa: BLE001  pyx12 raises on files it cannot walk at all
        return Validation(False, (f"pyx12 could not read the file: {exc}",), "")
    finally:
        logger.setLevel(level)
    findings = tuple(_findings(report.getvalue()))
    if not valid and not findings:
        findings = ("pyx12 could not read the file as an X12 interchange.",)
    return Validation(bool(valid) and not findings, findings, ack.getvalue())


def _findings(report: str) -> list[str]:
    if not report:
        return []
    found: list[str] = []

    def add(where: str, errors: list[dict]) -> None:
        found.extend(f"{where}: {e.get('err_str')} (code {e.get('err_cde')})" for e in errors)

    for isa in json.loads(report).get("interchanges", []):
        add("ISA", isa.get("errors", []))
        for gs in isa.get("groups", []):
            add(f"GS {gs.get('gs_control_num')}", gs.get("errors", []))
            for st in gs.get("transactions", []):
                add(f"ST {st.get('trn_set_control_num')}", st.get("errors", []))
                for seg in st.get("segments", []):
                    where = f"line {seg.get('cur_line')} {seg.get('seg_id')}"
                    add(where, seg.get("errors", []))
                    for ele in seg.get("elements", []):
                        add(f"{where} element {ele.get('ele_pos', '')}".rstrip(),
                            ele.get("errors", []))
    return found
